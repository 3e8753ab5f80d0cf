#!/usr/bin/env bash
# ensure-deps.sh GROUP... — makes sure the tools a Makefile target needs are installed.
#
# Groups: build (Rust target, GRUB for BIOS and UEFI, xorriso, mtools), run (QEMU, ss, and OVMF,
# the UEFI firmware for `make run UEFI=1` and the UEFI tests), test (curl, python3, Bochs
# with its BIOS, VGA BIOS and terminal display), browser (Chromium), bench (wrk, curl,
# gnuplot; cpio, xz, zstd for the Linux peer). As root, missing Debian packages are installed
# with apt-get; otherwise the script stops and prints the command to run.
set -euo pipefail

need_pkgs=()
have() { command -v "$1" >/dev/null 2>&1; }
want() { # want COMMAND-OR-PATH PACKAGE
    if [[ $1 == /* ]]; then [[ -e $1 ]] || need_pkgs+=("$2"); else have "$1" || need_pkgs+=("$2"); fi
}

for group in "$@"; do
    case $group in
        build)
            want grub-mkrescue grub-common
            want /usr/lib/grub/i386-pc/multiboot2.mod grub-pc-bin
            want /usr/lib/grub/x86_64-efi/multiboot2.mod grub-efi-amd64-bin
            want xorriso xorriso
            want mformat mtools
            want objcopy binutils
            ;;
        run) want qemu-system-x86_64 qemu-system-x86; want ss iproute2; want /usr/share/OVMF/OVMF_CODE_4M.fd ovmf ;;
        test)
            want curl curl; want python3 python3; want script bsdutils
            want bochs bochs; want /usr/lib/x86_64-linux-gnu/bochs/plugins/libbx_term_gui.so bochs-term
            want /usr/share/bochs/BIOS-bochs-latest bochsbios; want /usr/share/vgabios/vgabios.bin vgabios
            ;;
        browser) want chromium chromium ;;
        bench)
            want wrk wrk; want curl curl; want python3 python3; want ip iproute2; want ping iputils-ping
            want sysctl procps                              # ARP timing in the namespace
            want gnuplot gnuplot-nox                        # the chart
            want cpio cpio; want xz xz-utils; want zstd zstd # the Linux peer's initramfs and modules
            want as binutils                                 # the floor kernel
            ;;
        *) echo "ensure-deps.sh: unknown group $group" >&2; exit 2 ;;
    esac
done

if ((${#need_pkgs[@]})); then
    mapfile -t need_pkgs < <(printf '%s\n' "${need_pkgs[@]}" | sort -u)
    if [[ $(id -u) == 0 ]]; then
        echo "ensure-deps: installing ${need_pkgs[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
    else
        echo "Missing tools. Run this, then try again:" >&2
        echo "    sudo apt-get install -y ${need_pkgs[*]}" >&2
        exit 1
    fi
fi

# The Rust toolchain of rust-toolchain.toml, with the kernel target. rustup installs a
# missing pinned toolchain on first use; a target missing from an installed one we add here.
if [[ " $* " == *" build "* ]]; then
    if ! have rustup; then
        echo "rustup is missing: install it from your distribution or rustup.rs, then try again." >&2
        exit 1
    fi
    toolchain=$(sed -n 's/^channel *= *"\(.*\)"/\1/p' rust-toolchain.toml)
    installed=$(rustup target list --installed --toolchain "$toolchain" 2>/dev/null || true)
    components=$(rustup component list --installed --toolchain "$toolchain" 2>/dev/null || true)
    if ! grep -qx x86_64-unknown-none <<<"$installed" || ! grep -q '^rustfmt' <<<"$components" ||
        ! grep -q '^clippy' <<<"$components"; then
        echo "ensure-deps: adding the x86_64-unknown-none target, rustfmt and clippy to Rust $toolchain" >&2
        rustup toolchain install "$toolchain" --profile minimal --component rustfmt,clippy \
            --target x86_64-unknown-none >&2
    fi
fi
