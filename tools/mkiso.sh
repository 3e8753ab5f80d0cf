#!/usr/bin/env bash
# mkiso.sh KERNEL_ELF OUT_ISO STAGING_DIR [KERNEL_ARGS...]
# Stages the kernel and grub.cfg (with @KERNEL_ARGS@ filled in) and builds a BIOS-bootable
# ISO with grub-mkrescue. `-d /usr/lib/grub/i386-pc` makes it legacy-BIOS only even where
# GRUB's EFI modules are installed too.
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
grub-mkrescue -d /usr/lib/grub/i386-pc -o "$out" "$staging" 2>/dev/null ||
    { echo "mkiso: grub-mkrescue failed (run it by hand to see why)" >&2; exit 1; }
