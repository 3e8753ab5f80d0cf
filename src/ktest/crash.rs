//! Crash tests: faults the kernel cannot survive, provoked on purpose (`crashtest=NAME` on the
//! command line) so that the end-to-end tests (tests/e2e/test_memory.py, test_sched.py,
//! test_boot.py) can check the report they print. One is provoked earlier than the others,
//! where it has to happen: `memory-setup`, inside memory::init (src/memory/mod.rs).

use crate::memory::stack::KernelStack;
use alloc::string::String;

/// Provokes the fault named `name`. Returns only for an unknown name.
pub fn run(name: &str) -> String {
    log::info!("crashtest: provoking {name:?}");
    match name {
        "panic" => panic!("crash test: deliberate panic"),
        "page-fault" => write_unmapped(),
        "worker-fault" => {
            // A thread named like the HTTP server's workers (src/http/server.rs) faults while
            // "serving": the report must name it, so a learner knows which request code broke.
            crate::sched::spawn("http-worker-crash", write_unmapped).join()
        }
        "stack-overflow" => {
            let depth = recurse_forever(0);
            alloc::format!("the recursion returned at depth {depth}")
        }
        "kernel-stack-overflow" => overflow_a_kernel_stack(),
        // Provoked inside memory::init (src/memory/mod.rs), long before this runs.
        "memory-setup" => String::from("memory setup did not fault"),
        "thread-stack-overflow" => {
            let depth = crate::sched::spawn("stack-overflower", || recurse(0)).join();
            alloc::format!("the recursion returned at depth {depth}")
        }
        other => alloc::format!("unknown crash test {other:?}"),
    }
}

/// Writes to an address no page table maps: a page fault the kernel does not survive.
fn write_unmapped() -> String {
    // SAFETY: not sound on purpose: an unmapped address, to test the fatal report.
    unsafe { core::ptr::write_volatile(0x0000_7000_0000_0000 as *mut u64, 1) };
    String::from("the write did not fault")
}

/// Switches to a fresh [`KernelStack`] (as a thread would run on) and recurses there until
/// the stack runs into its guard page.
fn overflow_a_kernel_stack() -> String {
    let Ok(stack) = KernelStack::allocate("crash-test", 16 * 1024) else {
        return String::from("no memory for the stack");
    };
    // SAFETY: not sound on purpose: the recursion never returns, so nothing needs the old
    // stack again; the fault report ends the kernel.
    unsafe {
        core::arch::asm!(
            "mov rsp, {top}",
            "call {entry}",
            top = in(reg) stack.top(),
            entry = sym recurse_on_new_stack,
            options(noreturn)
        )
    }
}

extern "C" fn recurse_on_new_stack() -> ! {
    let depth = recurse_forever(0);
    panic!("the recursion returned at depth {depth}");
}

/// Calls itself, 512 bytes of stack per call, until the stack runs into its guard page
/// (src/memory/stack.rs). `black_box` keeps the compiler from turning it into a loop.
fn recurse_forever(depth: u64) -> u64 {
    let frame = core::hint::black_box([depth; 64]);
    if core::hint::black_box(depth) == u64::MAX {
        return 0;
    }
    recurse_forever(depth + 1) + frame[7]
}

/// Recurses with a 512-byte frame each time until the thread's stack runs out. The guard
/// page below the stack turns that into a fault; the report must name the thread.
///
/// One level per timer tick, so that the overflow happens with the timer, the scheduler
/// and its RSP check (`below_stack` in src/sched/scheduler.rs) all running, as they would
/// for a real thread: the test shows the guard page's fault wins and is reported.
fn recurse(depth: u64) -> u64 {
    let mut frame = [0u8; 512];
    frame[0] = depth as u8;
    core::hint::black_box(&mut frame);
    let tick = crate::time::ticks();
    while crate::time::ticks() == tick {
        core::hint::spin_loop();
    }
    if depth == u64::MAX {
        return depth;
    }
    recurse(depth + 1) + u64::from(frame[1])
}
