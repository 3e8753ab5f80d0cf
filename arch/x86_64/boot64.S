// First 64-bit instructions. We arrive from the far jump in boot32.S with CS = the 64-bit
// code segment; the data segment registers still hold 32-bit selectors. In 64-bit mode the
// CPU ignores DS/ES/SS bases and limits (SDM 3A, 3.4.4), so loading the null selector is fine.

.section .text.boot64, "ax"
.code64
.global start64
start64:
    xor eax, eax
    mov ss, ax
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax

    mov rsp, offset boot_stack_top
    xor ebp, ebp                         // end of the frame-pointer chain for backtraces
    mov edi, edi                         // boot information address, zero-extended: kmain's 1st argument
    call kmain

    // kmain never returns; if it did, stop here.
.Lhalt:
    cli
    hlt
    jmp .Lhalt
