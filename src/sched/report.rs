//! Reading the thread table without changing it: the running thread's name (for log lines
//! and fatal reports), one `ThreadInfo` row per thread and the `SchedStats` counters (for the
//! web page). Each takes the scheduler lock of src/sched/scheduler.rs only long enough to
//! copy what it needs; `describe_current` does not wait for it at all.

use super::scheduler::{MAX_THREADS, SCHEDULER, Scheduler, Thread};
use super::thread::{SchedStats, ThreadInfo, ThreadName};
use alloc::vec::Vec;

impl Scheduler {
    fn info(&self, thread: &Thread) -> ThreadInfo {
        ThreadInfo {
            id: thread.serial,
            name: thread.name,
            state: thread.state,
            cpu_ticks: thread.cpu_ticks,
            stack_size: thread
                .stack
                .as_ref()
                .map_or(0, |stack| (stack.top() - stack.bottom()) as usize),
        }
    }
}

/// The running thread's name ("kmain" before any switch).
pub fn current_thread_name() -> ThreadName {
    let scheduler = SCHEDULER.lock();
    scheduler.threads[scheduler.current.0]
        .as_ref()
        .map_or(ThreadName::new("kmain"), |thread| thread.name)
}

/// One row per thread, in table order.
pub fn threads() -> Vec<ThreadInfo> {
    // Allocated before the lock is taken, large enough for every slot.
    let mut list = Vec::with_capacity(MAX_THREADS);
    let scheduler = SCHEDULER.lock();
    for thread in scheduler.threads.iter().flatten() {
        list.push(scheduler.info(thread));
    }
    drop(scheduler);
    list
}

/// The scheduler's counters.
pub fn stats() -> SchedStats {
    let scheduler = SCHEDULER.lock();
    SchedStats {
        threads: scheduler.threads.iter().flatten().count(),
        ready: scheduler.run_queue.len(),
        ..scheduler.stats
    }
}

/// For fatal reports: names the running thread, without waiting for (or panicking on) the
/// scheduler lock, which the failing code may hold.
pub(super) fn describe_current(out: &mut dyn core::fmt::Write) -> core::fmt::Result {
    match SCHEDULER.try_lock() {
        Some(scheduler) => match scheduler.threads[scheduler.current.0].as_ref() {
            Some(thread) => write!(out, "{} (#{})", thread.name, thread.serial),
            None => out.write_str("kmain"),
        },
        None => out.write_str("unknown: the scheduler lock is held"),
    }
}
