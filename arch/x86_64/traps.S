// Interrupt and exception entry stubs, one per IDT vector (0..255).
//
// On an interrupt the CPU pushes SS, RSP, RFLAGS, CS, RIP and, for some exceptions, an error
// code (SDM 3A, 6.14.2 "64-Bit Mode Stack Frame"). To give every vector the same frame, each
// stub pushes a zero where the CPU pushed no error code, then its vector number, and jumps to
// trap_common, which saves the general-purpose registers and calls the Rust dispatcher with a
// pointer to the whole frame (struct TrapFrame in src/cpu/trap.rs).
//
// Each stub is padded to TRAP_STUB_SIZE bytes, so the IDT entry of vector v is trap_stubs + v * 16.
// `.org 1b + TRAP_STUB_SIZE` pads the stub to its slot, and stops the build ("invalid .org
// offset") if the stub's code ever grew past it: a longer stub would shift every later vector.

.set TRAP_STUB_SIZE, 16

.section .text.traps, "ax"
.code64
.balign TRAP_STUB_SIZE
.global trap_stubs
trap_stubs:
.set vector, 0
.rept 256
1:
    // Exceptions that push an error code (SDM 3A, table 6-1): #DF 8, #TS 10, #NP 11, #SS 12,
    // #GP 13, #PF 14, #AC 17, #CP 21, #VC 29, #SX 30.
    .if (vector == 8) || (vector == 10) || (vector == 11) || (vector == 12) || (vector == 13) || (vector == 14) || (vector == 17) || (vector == 21) || (vector == 29) || (vector == 30)
    .else
    push 0
    .endif
    push vector
    jmp trap_common
    .org 1b + TRAP_STUB_SIZE, 0xcc
    .set vector, vector + 1
.endr

trap_common:
    push rax
    push rbx
    push rcx
    push rdx
    push rsi
    push rdi
    push rbp
    push r8
    push r9
    push r10
    push r11
    push r12
    push r13
    push r14
    push r15
    // The CPU aligned RSP to 16 before pushing its frame; 7 + 15 pushes later, RSP is still
    // 16-byte aligned here, as the System V ABI wants at a call.
    mov rdi, rsp
    cld
    call trap_dispatch
    pop r15
    pop r14
    pop r13
    pop r12
    pop r11
    pop r10
    pop r9
    pop r8
    pop rbp
    pop rdi
    pop rsi
    pop rdx
    pop rcx
    pop rbx
    pop rax
    add rsp, 16                          // drop the vector number and the error code
    iretq
