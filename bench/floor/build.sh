#!/usr/bin/env bash
# bench/floor/build.sh OUT_DIR — OUT_DIR/floor.iso: GRUB (legacy BIOS, as build/micro-kernel.iso)
# and the trivial multiboot2 kernel of floor.S. Rebuilt only when floor.S or floor.ld change.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
stamp=$(cat "$here"/build.sh "$here"/floor.S "$here"/floor.ld | sha256sum | cut -c1-16)
[[ -f $out/floor.iso && -f $out/stamp && $(cat "$out/stamp") == "$stamp" ]] && exit 0
rm -rf "$out/iso" && mkdir -p "$out/iso/boot/grub"
as --32 -o "$out/floor.o" "$here/floor.S"
ld -m elf_i386 -nostdlib -T "$here/floor.ld" -o "$out/iso/boot/floor.elf" "$out/floor.o"
grub-file --is-x86-multiboot2 "$out/iso/boot/floor.elf"
# The same menu shape as grub/grub.cfg: no timeout, one entry.
printf 'set timeout=0\nset default=0\nmenuentry "floor" {\n    multiboot2 /boot/floor.elf\n    boot\n}\n' \
    >"$out/iso/boot/grub/grub.cfg"
grub-mkrescue -d /usr/lib/grub/i386-pc -o "$out/floor.iso" "$out/iso" 2>"$out/grub-mkrescue.log" ||
    { cat "$out/grub-mkrescue.log" >&2; exit 1; }
echo "$stamp" >"$out/stamp"
echo "floor: built $out/floor.iso" >&2
