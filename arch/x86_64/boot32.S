// The 32-bit trampoline: from GRUB's protected mode to 64-bit long mode.
//
// Multiboot2 spec 3.3 (machine state): GRUB jumps here in 32-bit protected mode with paging off,
// interrupts off, EAX = 0x36d76289 and EBX = the physical address of the boot information.
// Long mode needs paging (Intel SDM vol. 3A, 9.8.5 "Initializing IA-32e Mode"), so we build page
// tables first, then switch on PAE, EFER.LME and CR0.PG, and far-jump into a 64-bit code segment.

.set MULTIBOOT2_BOOTLOADER_MAGIC, 0x36d76289
.set CPUID_EFLAGS_ID,       1 << 21       // SDM vol. 1, 19.1: EFLAGS.ID toggles iff CPUID exists
.set CPUID_EXT_MAX,         0x80000000
.set CPUID_EXT_FEATURES,    0x80000001
.set CPUID_EDX_LONG_MODE,   1 << 29       // SDM vol. 2A, CPUID leaf 80000001h EDX bit 29 (LM)
.set PAGE_PRESENT,          1 << 0
.set PAGE_WRITABLE,         1 << 1
.set PAGE_HUGE,             1 << 7        // PS bit in a page-directory entry: a 2 MiB page
.set CR4_PAE,               1 << 5
.set CR0_PAGING,            1 << 31
.set CR0_WRITE_PROTECT,     1 << 16       // ring 0 honours read-only pages too (SDM 3A, 2.5)
.set MSR_EFER,              0xC0000080
.set EFER_LME,              1 << 8        // long mode enable (SDM 3A, 2.2.1)
.set EFER_NXE,              1 << 11       // allow the no-execute bit in page entries (SDM 3A, 2.2.1)
.set BOOT_MAPPED_GIB,       4             // 4 page directories x 512 x 2 MiB = the first 4 GiB
.set VGA_TEXT,              0xb8000
.set COM1,                  0x3f8

.section .text.boot32, "ax"
.code32
.global _start
_start:
    mov esp, offset boot_stack_top
    mov edi, ebx                           // keep the boot information address for kmain

    cmp eax, MULTIBOOT2_BOOTLOADER_MAGIC
    jne .Lno_multiboot2

    // Does CPUID exist? Try to flip EFLAGS.ID and see whether the flip sticks.
    pushfd
    pop eax
    mov ecx, eax
    xor eax, CPUID_EFLAGS_ID
    push eax
    popfd
    pushfd
    pop eax
    push ecx
    popfd
    cmp eax, ecx
    je .Lno_cpuid

    // Long mode is reported by an extended leaf: check the leaf exists, then the LM bit.
    mov eax, CPUID_EXT_MAX
    cpuid
    cmp eax, CPUID_EXT_FEATURES
    jb .Lno_long_mode
    mov eax, CPUID_EXT_FEATURES
    cpuid
    test edx, CPUID_EDX_LONG_MODE
    jz .Lno_long_mode

    // Page tables (SDM 3A, 4.5 "4-level paging"): PML4[0] -> PDPT; PDPT[i] -> boot_pd + i*4096;
    // each page-directory entry maps a 2 MiB page, identity: virtual address == physical address.
    // The tables live in .bss, which GRUB zeroed (multiboot2 loads the ELF's memsz, zero-filled).
    // They only last until memory::init: src/memory/paging.rs builds the kernel's real map.
    mov eax, offset boot_pdpt
    or eax, PAGE_PRESENT | PAGE_WRITABLE
    mov [boot_pml4], eax

    mov ecx, 0
.Lfill_pdpt:
    mov eax, ecx
    shl eax, 12
    add eax, offset boot_pd
    or eax, PAGE_PRESENT | PAGE_WRITABLE
    mov [boot_pdpt + ecx * 8], eax
    inc ecx
    cmp ecx, BOOT_MAPPED_GIB
    jne .Lfill_pdpt

    // 2048 entries of 2 MiB. Entry i maps physical i * 2 MiB; the high half of the entry is
    // the top bits of the address (i >> 11), which is zero below 4 GiB.
    mov ecx, 0
.Lfill_pd:
    mov eax, ecx
    shl eax, 21
    or eax, PAGE_PRESENT | PAGE_WRITABLE | PAGE_HUGE
    mov [boot_pd + ecx * 8], eax
    inc ecx
    cmp ecx, BOOT_MAPPED_GIB * 512
    jne .Lfill_pd

    // CR3 holds the physical address of the PML4 (SDM 3A, 4.5).
    mov eax, offset boot_pml4
    mov cr3, eax

    // PAE is required by long mode: it selects 64-bit page entries (SDM 3A, 9.8.5 step 2).
    mov eax, cr4
    or eax, CR4_PAE
    mov cr4, eax

    // EFER.LME arms long mode; EFER.NXE makes bit 63 of page entries mean "no execute".
    mov ecx, MSR_EFER
    rdmsr
    or eax, EFER_LME | EFER_NXE
    wrmsr

    // Paging on: with LME set this activates long mode (in 32-bit compatibility mode for now).
    mov eax, cr0
    or eax, CR0_PAGING | CR0_WRITE_PROTECT
    mov cr0, eax

    // A 64-bit code segment is needed to leave compatibility mode: load the GDT and far-jump.
    lgdt [gdt64_pointer]
    ljmp 8, offset start64

// Error paths: print "boot error: <reason>" on VGA and COM1, then halt for good.
.Lno_multiboot2:
    mov esi, offset msg_no_multiboot2
    jmp boot_error
.Lno_cpuid:
    mov esi, offset msg_no_cpuid
    jmp boot_error
.Lno_long_mode:
    mov esi, offset msg_no_long_mode
    jmp boot_error

// ESI = zero-terminated message. Writes it white-on-red from the top-left of the VGA text
// screen, and byte by byte to the COM1 data register (QEMU and most BIOSes leave it usable).
boot_error:
    mov edi, VGA_TEXT
.Lerror_char:
    lodsb
    test al, al
    jz .Lerror_halt
    mov ah, 0x4f
    mov [edi], ax
    add edi, 2
    mov dx, COM1
    out dx, al
    jmp .Lerror_char
.Lerror_halt:
    cli
    hlt
    jmp .Lerror_halt

.section .rodata.boot32, "a"
msg_no_multiboot2: .asciz "boot error: not loaded by a multiboot2 boot loader\r\n"
msg_no_cpuid:      .asciz "boot error: this CPU has no CPUID instruction\r\n"
msg_no_long_mode:  .asciz "boot error: this CPU does not support 64-bit long mode\r\n"

// The boot GDT (SDM 3A, 3.4.5): a null descriptor and one 64-bit code segment (L=1, D=0, P=1,
// DPL 0, type execute/read). The kernel later loads its own GDT with a TSS (src/cpu/gdt.rs).
.balign 8
gdt64:
    .quad 0
    .quad 0x00209a0000000000
gdt64_end:
gdt64_pointer:
    .short gdt64_end - gdt64 - 1
    .long gdt64

// Page tables must be 4 KiB aligned. The boot stack has a 4 KiB guard page below it, which
// the memory manager unmaps, so running off the stack faults instead of corrupting the tables.
.section .bss.boot32, "aw", @nobits
.balign 4096
boot_pml4:  .skip 4096
boot_pdpt:  .skip 4096
boot_pd:    .skip 4096 * BOOT_MAPPED_GIB
.global boot_stack_guard
boot_stack_guard: .skip 4096
.global boot_stack_bottom
boot_stack_bottom: .skip 64 * 1024
.global boot_stack_top
boot_stack_top:
