#!/usr/bin/env bash
# mkiso.sh KERNEL_ELF OUT_ISO STAGING_DIR [KERNEL_ARGS...]
# Stages the kernel and grub.cfg (with @KERNEL_ARGS@ filled in) and builds a hybrid ISO with
# grub-mkrescue: it boots on a legacy BIOS (GRUB's i386-pc platform, El Torito and an MBR for
# USB sticks) and under UEFI (x86_64-efi: an EFI system partition image holding
# EFI/BOOT/BOOTX64.EFI). grub-mkrescue includes every platform whose modules are installed
# (grub-pc-bin and grub-efi-amd64-bin: tools/ensure-deps.sh).
#
# Size: by default GRUB copies all its modules, locales, fonts and themes for both platforms
# (about 21 MB). The kernel needs few of them: GRUB's own core image holds what it needs to
# find and read the ISO, and --install-modules lists the rest (modules both platforms have;
# all_video brings efi_gop on UEFI and vbe on BIOS). xz shrinks what remains.
set -euo pipefail
elf=$1 out=$2 staging=$3
shift 3
args="$*"
[[ $args != *[\|\&\\]* ]] || { echo "mkiso: KERNEL_ARGS may not contain | & or \\" >&2; exit 2; }
mkdir -p "$staging/boot/grub" "$(dirname "$out")"
# The ISO gets the kernel without its debug information (GRUB reads every byte of it at boot);
# gdb uses the unstripped ELF in target/.
objcopy --strip-debug "$elf" "$staging/boot/micro-kernel.elf"
sed "s|@KERNEL_ARGS@|$args|" grub/grub.cfg > "$staging/boot/grub/grub.cfg"
grub-file --is-x86-multiboot2 "$staging/boot/micro-kernel.elf" ||
    { echo "mkiso: $elf has no valid multiboot2 header" >&2; exit 1; }
# Every partition map: GRUB loads them all when it probes a disk, and prints an error on the
# console for each one it cannot find.
partition_maps="part_msdos part_gpt part_acorn part_amiga part_bsd part_dfly part_dvh part_plan part_sun part_sunpc"
for platform in i386-pc x86_64-efi; do
    [[ -d /usr/lib/grub/$platform ]] ||
        { echo "mkiso: GRUB's $platform modules are missing (tools/ensure-deps.sh build)" >&2; exit 1; }
done
grub-mkrescue -o "$out" --locales= --fonts= --themes= --compress=xz \
    --install-modules="multiboot2 normal iso9660 configfile echo test all_video $partition_maps" \
    "$staging" 2>/dev/null ||
    { echo "mkiso: grub-mkrescue failed (run it by hand to see why)" >&2; exit 1; }
