//! The context switch: moving the CPU from one thread's kernel stack to another's.
//!
//! `switch_stacks(save, load)` is an ordinary function call for the thread that calls it,
//! and that is the point: by the System V ABI, a call may clobber RAX, RCX, RDX, RSI, RDI
//! and R8-R11 (the caller saved what it needs of them), and must preserve RBX, RBP, R12-R15
//! and RSP. So the stub saves exactly the six callee-saved registers on the old stack,
//! stores RSP in `*save`, loads RSP from `load`, pops the new thread's six registers and
//! `ret`s into wherever that thread called `switch_stacks` from:
//!
//! ```text
//!   old thread's stack                    new thread's stack
//!   | ...caller's frames...  |            | ...caller's frames...  |
//!   | return address         |            | return address         | <- `ret` pops this
//!   | RBP                    |            | RBP                    |
//!   | RBX                    |            | RBX                    |
//!   | R12                    |            | R12                    |
//!   | R13                    |            | R13                    |
//!   | R14                    |            | R14                    |
//!   | R15                    | <- *save   | R15                    | <- load
//! ```
//!
//! What is not saved here, and why that is enough:
//! - A thread preempted by the timer enters `switch_stacks` from the interrupt path: the
//!   entry stub (arch/x86_64/traps.S) has already pushed *every* general-purpose register
//!   and the CPU pushed RIP, CS, RFLAGS, RSP and SS. Those stay on the thread's stack, below
//!   the switch frame, until the thread is resumed and `iretq`s.
//! - RFLAGS: every switch happens with interrupts disabled, and each thread restores its own
//!   interrupt flag after `switch_stacks` returns to it (the direction flag is clear at any
//!   call, by the ABI).
//! - Vector and x87 registers: the kernel is built for `x86_64-unknown-none`, which uses
//!   soft-float and no SSE, so no thread ever has state in them.
//! - Segment registers and CR3: every thread shares the kernel's segments and page tables.

/// Words in the frame `switch_stacks` leaves on a stack: six registers and the return address.
pub const SWITCH_FRAME_WORDS: usize = 7;

#[cfg(target_os = "none")]
core::arch::global_asm!(
    ".section .text.switch_stacks, \"ax\"",
    ".global switch_stacks",
    // switch_stacks(save: *mut u64 in RDI, load: u64 in RSI)
    "switch_stacks:",
    "    push rbp",
    "    push rbx",
    "    push r12",
    "    push r13",
    "    push r14",
    "    push r15",
    "    mov [rdi], rsp",
    "    mov rsp, rsi",
    "    pop r15",
    "    pop r14",
    "    pop r13",
    "    pop r12",
    "    pop rbx",
    "    pop rbp",
    "    ret",
);

#[cfg(target_os = "none")]
unsafe extern "C" {
    /// Saves the callee-saved registers and RSP of the running thread (RSP into `*save`) and
    /// resumes the thread whose saved RSP is `load`. Returns when some other thread switches
    /// back to this one.
    pub fn switch_stacks(save: *mut u64, load: u64);
}

/// The first frame of a new thread, lowest address first: what `switch_stacks` pops when it
/// switches to the thread for the first time. The six registers are zero (RBP = 0 ends the
/// frame-pointer chain for backtraces), then `entry` as the return address, then a zero
/// fake return address for `entry` itself, which must never return.
///
/// Placed at the 16-byte aligned stack top minus 64 bytes, `entry` starts with RSP = top - 8,
/// exactly as if it had been called with an aligned stack (System V ABI, 3.2.2).
pub fn initial_frame(entry: u64) -> [u64; SWITCH_FRAME_WORDS + 1] {
    [0, 0, 0, 0, 0, 0, entry, 0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_switch_enters_with_an_aligned_stack() {
        let frame = initial_frame(0x1234);
        let top: u64 = 0x10_0000;
        let saved_rsp = top - (frame.len() as u64) * 8;
        // switch_stacks pops 6 registers, then `ret` pops the entry address.
        let rsp_at_entry = saved_rsp + (SWITCH_FRAME_WORDS as u64) * 8;
        assert_eq!(frame[SWITCH_FRAME_WORDS - 1], 0x1234);
        assert_eq!(rsp_at_entry, top - 8);
        // At a function's first instruction RSP + 8 is 16-byte aligned.
        assert_eq!((rsp_at_entry + 8) % 16, 0);
    }
}
