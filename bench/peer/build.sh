#!/usr/bin/env bash
# bench/peer/build.sh OUT_DIR — builds the Linux guests the bench compares the kernel with:
# Debian's own kernel image plus busybox's httpd in an initramfs, booted by GRUB from an ISO,
# serving the same two pages on the same emulated NIC at the same address (10.0.2.15/24).
#
#   OUT_DIR/linux-8139too.iso   httpd, RTL8139 in classic mode (ring buffer + 4 TX slots)
#   OUT_DIR/linux-8139cp.iso    httpd, RTL8139 in C+ mode (descriptor rings, offloads)
#   OUT_DIR/linux-e1000.iso     httpd, Intel 82540EM (QEMU's -device e1000)
#   OUT_DIR/pktgen-8139too.iso  no TCP at all: the kernel's packet generator floods 1514-byte
#   OUT_DIR/pktgen-e1000.iso    frames through the NIC, the most the emulated card carries
#
# Nothing is installed on the host: `apt-get download` fetches the .deb files into
# OUT_DIR/debs and dpkg-deb unpacks them here. A rerun with the same inputs (these scripts,
# the kernel package) rebuilds nothing. KPKG=linux-image-X-amd64 picks another kernel.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
debs=$out/debs
mkdir -p "$debs"

# What linux-image-amd64 points at today (apt-get update first if the lists are empty).
KPKG=${KPKG:-$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')}
if [[ -z $KPKG ]]; then
    apt-get update -qq >&2 || true
    KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ { print $2; exit }')
fi
[[ -n $KPKG ]] || { echo "peer: cannot resolve linux-image-amd64 (run apt-get update)" >&2; exit 1; }

# The cache key: the kernel package and every file of this directory.
stamp=$(cat "$here"/build.sh "$here"/init | sha256sum | cut -c1-16)-$KPKG
isos=(linux-8139too linux-8139cp linux-e1000 pktgen-8139too pktgen-e1000)
if [[ -f $out/stamp && $(cat "$out/stamp") == "$stamp" ]]; then
    missing=0
    for iso in "${isos[@]}"; do [[ -f $out/$iso.iso ]] || missing=1; done
    [[ $missing == 1 ]] || { echo "peer: up to date ($KPKG)" >&2; exit 0; }
fi

if ! ls "$debs/${KPKG}"_*.deb >/dev/null 2>&1 || ! ls "$debs"/busybox-static_*.deb >/dev/null 2>&1; then
    echo "peer: apt-get download $KPKG busybox-static" >&2
    # As root apt drops to the _apt user for downloads, which cannot write here.
    (cd "$debs" && apt-get download -q -o APT::Sandbox::User=root "$KPKG" busybox-static >&2)
fi

x=$out/x
rm -rf "$x" "$out/initrd" "$out/iso"
mkdir -p "$x" "$out/initrd" "$out/iso/boot/grub"

# The kernel image and the modules the guests load, straight out of the .deb.
modules=(drivers/net/mii drivers/net/ethernet/realtek/8139too drivers/net/ethernet/realtek/8139cp
    drivers/net/ethernet/intel/e1000/e1000 net/core/pktgen)
patterns=('./boot/vmlinuz-*')
for m in "${modules[@]}"; do patterns+=("*/kernel/$m.ko*"); done
dpkg-deb --fsys-tarfile "$debs/${KPKG}"_*.deb | tar -C "$x" -x --wildcards "${patterns[@]}"
dpkg-deb -x "$debs"/busybox-static_*.deb "$x"
for m in "${modules[@]}"; do
    f=$(ls "$x"/lib/modules/*/kernel/"$m".ko* | head -1)
    case $f in *.xz) xz -dc "$f" ;; *.zst) zstd -qdc "$f" ;; *) cat "$f" ;; esac >"$x/$(basename "$m").ko"
done

# QEMU's RTL8139 says PCI revision 0x20 (an RTL8139C+), and stock 8139too refuses it ("use
# 8139cp"). Its check is `cmp $0x1f,%r8b; ja reject` in rtl8139_init_one: making the constant
# 0xff lets it drive the chip in classic mode, the mode this kernel's driver uses. A module with
# a bad signature is always refused, an unsigned one only taints the kernel, so the signature
# (its bytes, a 12-byte info block ending in its length, the 28-byte magic) is cut off.
f=$x/8139too.ko
offsets=$(LC_ALL=C grep -obUaP '\x41\x80\xf8\x1f\x0f\x87' "$f" | cut -d: -f1 || true)
[[ $(wc -w <<<"$offsets") == 1 ]] ||
    { echo "peer: the revision check of $KPKG's 8139too.ko was not found exactly once" >&2; exit 1; }
printf '\xff' | dd of="$f" bs=1 seek=$((offsets + 3)) conv=notrunc status=none
if [[ $(tail -c 28 "$f") == "~Module signature appended~" ]]; then
    siglen=$(tail -c 32 "$f" | head -c 4 | od -An -tu4 --endian=big | tr -d ' ')
    truncate -s $(($(stat -c %s "$f") - 28 - 12 - siglen)) "$f"
fi

# One initramfs for every guest: static busybox, the modules, /init, the pages. What a guest
# does is chosen on the kernel command line (peer_role=, peer_nic=), so only grub.cfg differs.
r=$out/initrd
mkdir -p "$r"/{bin,proc,sys,dev,lib/modules,www}
cp "$x/bin/busybox" "$r/bin/busybox"
for applet in $("$r/bin/busybox" --list); do [[ $applet == busybox ]] || ln -s busybox "$r/bin/$applet"; done
for m in "${modules[@]}"; do cp "$x/$(basename "$m").ko" "$r/lib/modules/"; done
install -m 755 "$here/init" "$r/init"
{
    echo '<!doctype html><html><head><title>linux peer</title></head><body><h1>linux peer</h1><pre>'
    for i in $(seq 1 14); do echo "line $i: the quick brown fox jumps over the lazy dog 0123456789"; done
    echo '</pre></body></html>'
} >"$r/www/index.html"
head -c 1048576 /dev/urandom >"$r/www/big.bin"
(cd "$r" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc --owner=0:0 --quiet) |
    gzip -9 >"$out/iso/boot/initrd.gz"
cp "$x"/boot/vmlinuz-* "$out/iso/boot/vmlinuz"

for iso in "${isos[@]}"; do
    role=${iso%%-*} nic=${iso#*-}
    [[ $role == linux ]] && role=httpd
    # GRUB writes to COM1 too, so that an error of its own ("out of memory" with a small -m)
    # shows in the serial log and the memory probe need not wait for its time-out.
    cat >"$out/iso/boot/grub/grub.cfg" <<CFG
serial --unit=0 --speed=115200
terminal_output serial console
set timeout=0
set default=0
menuentry "$iso" {
    linux /boot/vmlinuz console=ttyS0 quiet peer_role=$role peer_nic=$nic
    initrd /boot/initrd.gz
}
CFG
    grub-mkrescue -d /usr/lib/grub/i386-pc -o "$out/$iso.iso" "$out/iso" 2>"$out/grub-mkrescue.log" ||
        { cat "$out/grub-mkrescue.log" >&2; exit 1; }
done
rm -rf "$x" "$r"
echo "$KPKG" >"$out/kernel-package"
echo "$stamp" >"$out/stamp"
echo "peer: built ${isos[*]} in $out ($KPKG)" >&2
