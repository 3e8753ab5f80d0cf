//! Pulls the assembly of arch/x86_64 into the kernel image: the multiboot2 header, the
//! 32-bit trampoline, the first 64-bit instructions and the interrupt entry stubs.
//! The files are read in boot order; see docs/01-boot.md.

core::arch::global_asm!(include_str!("../../arch/x86_64/multiboot2_header.S"));
core::arch::global_asm!(include_str!("../../arch/x86_64/boot32.S"));
core::arch::global_asm!(include_str!("../../arch/x86_64/boot64.S"));
core::arch::global_asm!(include_str!("../../arch/x86_64/traps.S"));
