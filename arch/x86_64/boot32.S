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
.set CPUID_EDX_NX,          1 << 20       // same leaf, EDX bit 20: execute-disable (XD/NX)
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
.set COM1,                  0x3f8
.set COM1_LINE_STATUS,      0x3fd
.set LSR_THR_EMPTY,         1 << 5        // 16550 line status: the transmit holding register is free
.set UART_WAIT_LOOPS,       100000        // a bound on waiting for a UART that never empties
.set MB2_TAG_END,           0             // multiboot2 spec 3.6: tag types
.set MB2_TAG_FRAMEBUFFER,   8
.set MB2_FB_TYPE_EGA_TEXT,  2             // spec 3.6.11: framebuffer_type 2 = EGA text

.section .text.boot32, "ax"
.code32
.global _start
_start:
    mov esp, offset boot_stack_top
    // The multiboot2 machine state leaves most of EFLAGS undefined; the System V ABI wants DF
    // clear at every call into Rust, and nothing here wants AC, NT or TF. Start from zero
    // (SDM vol. 1, 3.4.3: the bits popfd may set in ring 0).
    push 0
    popfd
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
    // NXE may only be set on a CPU that reports NX (CPUID 80000001h EDX bit 20): elsewhere
    // the WRMSR raises #GP (SDM 3A, 2.2.1), which with no IDT yet is a silent reset. Without
    // NX the kernel still boots; src/cpu/features.rs sees the same bit, builds page tables
    // without bit 63 and logs a warning.
    mov eax, CPUID_EXT_FEATURES
    cpuid
    mov ebx, EFER_LME
    test edx, CPUID_EDX_NX
    jz .Lset_efer
    or ebx, EFER_NXE
.Lset_efer:
    mov ecx, MSR_EFER
    rdmsr
    or eax, ebx
    wrmsr

    // Paging on: with LME set this activates long mode (in 32-bit compatibility mode for now).
    mov eax, cr0
    or eax, CR0_PAGING | CR0_WRITE_PROTECT
    mov cr0, eax

    // A 64-bit code segment is needed to leave compatibility mode: load the GDT and far-jump.
    lgdt [gdt64_pointer]
    ljmp 8, offset start64

// Error paths: print "boot error: <reason>" on COM1 and, where the boot loader says there is
// one, on the VGA text screen; then halt for good.
.Lno_multiboot2:
    xor edi, edi                           // no boot information to trust
    mov esi, offset msg_no_multiboot2
    jmp boot_error
.Lno_cpuid:
    mov esi, offset msg_no_cpuid
    jmp boot_error
.Lno_long_mode:
    mov esi, offset msg_no_long_mode
    jmp boot_error

// ESI = zero-terminated message, EDI = the boot information's address (0: none to trust).
// The VGA text buffer is used only if the multiboot2 information holds a framebuffer tag of
// the EGA text type (GRUB's BIOS build reports 0xb8000 there): UEFI machines have no text
// mode, and what sits at 0xb8000 is not ours to write. COM1 is written byte by byte, each
// after the UART reports its transmit register free (bounded: a missing UART reads 0xff,
// "free", and a stuck one is given up on).
boot_error:
    xor ebx, ebx                           // EBX = where to write on screen, 0 = nowhere
    test edi, edi
    jz .Lerror_char
    lea ecx, [edi + 8]                     // the first tag follows total_size and reserved
    mov edx, edi
    add edx, [edi]                         // EDX = end of the boot information
.Lfind_tag:
    cmp ecx, edx
    jae .Lerror_char
    mov eax, [ecx]                         // tag type
    cmp eax, MB2_TAG_END
    je .Lerror_char
    cmp eax, MB2_TAG_FRAMEBUFFER
    jne .Lnext_tag
    cmp byte ptr [ecx + 29], MB2_FB_TYPE_EGA_TEXT
    jne .Lerror_char
    cmp dword ptr [ecx + 12], 0            // the address must lie below 4 GiB (paging is off)
    jne .Lerror_char
    mov ebx, [ecx + 8]
    jmp .Lerror_char
.Lnext_tag:
    mov eax, [ecx + 4]                     // tag size; tags are 8-byte aligned
    add eax, 7
    and eax, -8
    jz .Lerror_char                        // a zero size would loop forever
    add ecx, eax
    jmp .Lfind_tag
.Lerror_char:
    lodsb
    test al, al
    jz .Lerror_halt
    test ebx, ebx
    jz .Lerror_serial
    mov ah, 0x4f                           // white on red
    mov [ebx], ax
    add ebx, 2
.Lerror_serial:
    mov ecx, UART_WAIT_LOOPS
    mov dx, COM1_LINE_STATUS
    mov ah, al
.Lerror_wait_uart:
    in al, dx
    test al, LSR_THR_EMPTY
    jnz .Lerror_send
    loop .Lerror_wait_uart
.Lerror_send:
    mov al, ah
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

// Back to what the compiler expects around a global_asm! block: 64-bit code in .text. Rust
// code assembled after this file would otherwise be encoded as 32-bit instructions.
.code64
.text
