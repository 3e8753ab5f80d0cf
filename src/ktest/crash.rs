//! Crash tests: faults the kernel cannot survive, provoked on purpose (`crashtest=NAME` on the
//! command line) so that tests/crash.sh can check the report they print.

use alloc::string::String;

/// Provokes the fault named `name`. Returns only for an unknown name.
pub fn run(name: &str) -> String {
    log::info!("crashtest: provoking {name:?}");
    match name {
        "panic" => panic!("crash test: deliberate panic"),
        "page-fault" => {
            // SAFETY: not sound on purpose: an unmapped address, to test the fatal report.
            unsafe { core::ptr::write_volatile(0x0000_7000_0000_0000 as *mut u64, 1) };
            String::from("the write did not fault")
        }
        "thread-stack-overflow" => {
            let depth = crate::sched::spawn("stack-overflower", || recurse(0)).join();
            alloc::format!("the recursion returned at depth {depth}")
        }
        other => alloc::format!("unknown crash test {other:?}"),
    }
}

/// Recurses with a 512-byte frame each time until the thread's stack runs out. The guard
/// page below the stack turns that into a fault; the report must name the thread.
///
/// One level per timer tick: the scheduler also checks RSP against the stack's bottom at
/// every tick, so even a stack without a guard page is caught at most a frame too late,
/// before the recursion has scribbled over whatever lies below it.
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
