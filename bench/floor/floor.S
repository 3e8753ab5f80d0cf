/* The floor: the smallest multiboot2 kernel GRUB will load. It writes 'K' to COM1 and leaves
 * QEMU through the isa-debug-exit device at port 0xf4 (exit status (0 << 1) | 1 = 1). Timing
 * QEMU from start to that exit gives what SeaBIOS and GRUB cost before any kernel runs.
 * Header layout: Multiboot2 specification, section 3.1 (magic, architecture 0 = i386
 * protected mode, header length, checksum, then tags ending with the end tag 0/0/8). */
    .section .multiboot2, "a"
    .align 8
header:
    .long 0xe85250d6
    .long 0
    .long header_end - header
    .long -(0xe85250d6 + (header_end - header))
    .short 0, 0
    .long 8
header_end:

    .text
    .code32
    .globl _start
_start:
    mov $0x3f8, %dx         /* COM1 data register */
    mov $'K', %al
    out %al, %dx
    mov $0xf4, %dx          /* isa-debug-exit */
    xor %eax, %eax
    out %al, %dx
halt:
    hlt
    jmp halt
