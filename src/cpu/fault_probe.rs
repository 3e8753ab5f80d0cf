//! Catching a CPU exception on purpose, for the self-tests ("does a write to .text fault?").
//!
//! `catch_fault(f, arg)` calls `f(arg)`. If `f` raises an exception, the exception handler
//! sees that a probe is armed, records what happened, and resumes execution at the probe's
//! recovery point with the stack pointer the probe saved, as if `f` had returned. It is a
//! tiny setjmp/longjmp. Only the callee-saved registers (SysV ABI) need saving: the caller
//! of `fault_try` already assumes the others are clobbered.

use super::trap::TrapFrame;
use core::sync::atomic::{AtomicPtr, Ordering};

/// Where to resume, and what was caught. `rsp` and `rip` are written by `fault_try`.
#[repr(C)]
#[derive(Debug, Default)]
struct Recovery {
    rsp: u64,
    rip: u64,
    caught: Option<CaughtFault>,
}

/// What an armed probe recorded about the exception it caught.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaughtFault {
    pub vector: u64,
    pub error_code: u64,
    pub rip: u64,
    pub cr2: u64,
}

static ARMED: AtomicPtr<Recovery> = AtomicPtr::new(core::ptr::null_mut());

core::arch::global_asm!(
    ".section .text.fault_try, \"ax\"",
    ".global fault_try",
    // fault_try(f: rdi, arg: rsi, recovery: rdx) -> rax = 0 (returned) or 1 (faulted)
    "fault_try:",
    "    push rbx",
    "    push rbp",
    "    push r12",
    "    push r13",
    "    push r14",
    "    push r15",
    "    sub rsp, 8", // keep RSP 16-byte aligned at the call below
    "    mov [rdx], rsp",
    "    lea rax, [rip + 2f]",
    "    mov [rdx + 8], rax",
    "    mov rax, rdi",
    "    mov rdi, rsi",
    "    call rax",
    "    xor eax, eax",
    "    jmp 3f",
    "2:  mov eax, 1",
    "3:  add rsp, 8",
    "    pop r15",
    "    pop r14",
    "    pop r13",
    "    pop r12",
    "    pop rbp",
    "    pop rbx",
    "    ret",
);

unsafe extern "C" {
    /// `resume` points at `Recovery::rsp`, followed by `Recovery::rip`.
    fn fault_try(f: extern "C" fn(usize), arg: usize, resume: *mut u64) -> u64;
}

/// Runs `f(arg)`; returns the exception it raised, if any. Interrupts stay disabled while
/// the probe is armed (exceptions still happen): the timer must not switch to another
/// thread, whose faults would otherwise be "recovered" onto this thread's stack.
pub fn catch_fault(f: extern "C" fn(usize), arg: usize) -> Option<CaughtFault> {
    let mut recovery = Recovery::default();
    let faulted = x86_64::instructions::interrupts::without_interrupts(|| {
        ARMED.store(&raw mut recovery, Ordering::SeqCst);
        // SAFETY: fault_try saves and restores every callee-saved register and returns
        // normally whether or not `f` faulted; `recovery` outlives the call and is disarmed
        // right after.
        let faulted = unsafe { fault_try(f, arg, (&raw mut recovery).cast::<u64>()) };
        ARMED.store(core::ptr::null_mut(), Ordering::SeqCst);
        faulted
    });
    if faulted == 1 { recovery.caught } else { None }
}

/// Called by the exception handler. If a probe is armed, records the fault, points the frame
/// at the probe's recovery code, disarms, and returns true: the handler then just returns.
pub fn recover(frame: &mut TrapFrame, cr2: u64) -> bool {
    let recovery = ARMED.swap(core::ptr::null_mut(), Ordering::SeqCst);
    if recovery.is_null() {
        return false;
    }
    // SAFETY: a non-null ARMED points at the Recovery on the stack of the catch_fault call
    // that is still running (it disarms before returning), and nothing else touches it now.
    let recovery = unsafe { &mut *recovery };
    recovery.caught = Some(CaughtFault {
        vector: frame.vector,
        error_code: frame.error_code,
        rip: frame.rip,
        cr2,
    });
    frame.rip = recovery.rip;
    frame.rsp = recovery.rsp;
    true
}
