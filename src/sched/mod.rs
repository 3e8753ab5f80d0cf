//! Threads and the scheduler: kernel threads, each with its own kernel stack, shared out
//! round-robin in time slices of [`TIME_SLICE_TICKS`] timer ticks (10 ms).
//!
//! - [`spawn`] starts a thread and returns a [`JoinHandle`]; `join` waits for its result.
//! - The timer interrupt ends a thread's slice ([`preempt`]'s end-of-interrupt hook) and
//!   switches to the next ready thread; [`yield_now`] gives the CPU up early; [`sleep_ms`]
//!   and [`WaitQueue`](crate::sync::WaitQueue) take a thread off the CPU until it is due.
//! - When nothing is ready the idle thread halts the CPU.
//! - The thread list and counters ([`threads`], [`stats`]) feed the web page.
//!
//! The queues are pure data structures ([`run_queue`], [`sleep_queue`]), tested on the host.

pub mod run_queue;
pub mod sleep_queue;
pub mod thread;

pub use thread::{SchedStats, ThreadId, ThreadInfo, ThreadName, ThreadState};

#[cfg(target_os = "none")]
mod blocking;
#[cfg(target_os = "none")]
mod lifecycle;
#[cfg(target_os = "none")]
mod preempt;
#[cfg(target_os = "none")]
mod report;
#[cfg(target_os = "none")]
mod scheduler;
#[cfg(target_os = "none")]
mod spawn;

#[cfg(target_os = "none")]
pub use blocking::yield_now;
#[cfg(target_os = "none")]
pub use lifecycle::reap_detached;
#[cfg(target_os = "none")]
pub use report::{current_thread_name, stats, threads};
#[cfg(target_os = "none")]
pub use scheduler::{DEFAULT_STACK_SIZE, MAX_THREADS, SpawnError, TIME_SLICE_TICKS};
#[cfg(target_os = "none")]
pub use spawn::{JoinHandle, spawn, spawn_with_stack, try_spawn};

#[cfg(target_os = "none")]
pub(crate) use blocking::{block_current, wake};
#[cfg(target_os = "none")]
use spawn::join_queue_address;

/// The timer tick at which something that waits `ms` milliseconds from now is due.
/// One tick is one millisecond; the wait ends at the `ms`-th tick after the current one,
/// so it lasts between `ms - 1` and `ms` milliseconds of real time.
#[cfg(target_os = "none")]
pub fn deadline_after_ms(ms: u64) -> u64 {
    let ticks = ms.saturating_mul(u64::from(crate::time::TICK_HZ)) / 1000;
    crate::time::ticks().saturating_add(ticks)
}

/// Sets up the scheduler: the running code becomes the thread "kmain", the idle thread is
/// created, and the timer starts preempting.
#[cfg(target_os = "none")]
pub fn init() {
    scheduler::init();
    log::info!(
        "sched: round-robin, time slice {} ms, up to {} threads, {} KiB stacks; kmain is thread 0",
        TIME_SLICE_TICKS * 1000 / u64::from(crate::time::TICK_HZ),
        MAX_THREADS,
        DEFAULT_STACK_SIZE / 1024
    );
}

/// Sleeps for `ms` milliseconds (see [`deadline_after_ms`] for the precision).
#[cfg(target_os = "none")]
pub fn sleep_ms(ms: u64) {
    let deadline = deadline_after_ms(ms);
    assert!(
        x86_64::instructions::interrupts::are_enabled(),
        "sleep_ms with interrupts disabled"
    );
    while crate::time::ticks() < deadline {
        x86_64::instructions::interrupts::disable();
        blocking::block_current(None, Some(deadline));
        x86_64::instructions::interrupts::enable();
    }
}
