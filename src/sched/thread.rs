//! What the scheduler knows about a thread, in the form the rest of the kernel (and the web
//! page that lists threads) sees it. Pure data: unit-tested on the host.

use crate::inline_name::InlineName;
use core::fmt;

/// A slot in the thread table. Slots are reused once a thread has been joined or reaped;
/// [`ThreadInfo::id`] is the number that stays unique.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ThreadId(pub usize);

/// What a thread is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadState {
    /// On the CPU now.
    Running,
    /// In the run queue, waiting for the CPU.
    Ready,
    /// Waiting on a [`WaitQueue`](crate::sync::WaitQueue) (maybe with a timeout).
    Blocked,
    /// In `sleep_ms`, until its deadline.
    Sleeping,
    /// Finished; its stack is freed when it is joined or reaped.
    Exited,
}

impl ThreadState {
    pub fn as_str(self) -> &'static str {
        match self {
            ThreadState::Running => "running",
            ThreadState::Ready => "ready",
            ThreadState::Blocked => "blocked",
            ThreadState::Sleeping => "sleeping",
            ThreadState::Exited => "exited",
        }
    }
}

impl fmt::Display for ThreadState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// Longest thread name kept; longer names are cut (at a character boundary).
pub const MAX_NAME_LEN: usize = 24;

/// A thread's name, stored inline so that naming a thread never allocates (the fatal report
/// reads it with the heap possibly broken).
pub type ThreadName = InlineName<MAX_NAME_LEN>;

/// One row of the thread list (`sched::threads()`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadInfo {
    /// Unique for the life of the kernel: 0 is the boot thread, 1 the idle thread.
    pub id: u64,
    pub name: ThreadName,
    pub state: ThreadState,
    /// Timer ticks (milliseconds) during which this thread was on the CPU.
    pub cpu_ticks: u64,
    /// Size of its kernel stack in bytes (0 for the boot thread, which runs on the boot stack).
    pub stack_size: usize,
}

/// Scheduler counters (`sched::stats()`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SchedStats {
    /// Every switch from one thread to another, for any reason.
    pub context_switches: u64,
    /// The switches made at the end of an interrupt (the timer's or a device's): end of a
    /// time slice, or a thread woken.
    pub preemptions: u64,
    /// Threads in the table, the exited ones not yet joined included.
    pub threads: usize,
    /// Threads in the run queue.
    pub ready: usize,
    /// Threads spawned since boot.
    pub spawned: u64,
    /// Timer ticks spent in the idle thread.
    pub idle_ticks: u64,
    /// The time slice, in timer ticks.
    pub time_slice_ticks: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kept_and_cut_at_characters() {
        assert_eq!(ThreadName::new("net-rx").as_str(), "net-rx");
        assert_eq!(ThreadName::new("").as_str(), "");
        let long = "a-very-long-thread-name-indeed-yes";
        assert_eq!(ThreadName::new(long).as_str(), &long[..MAX_NAME_LEN]);
        // 23 ASCII bytes then a 2-byte character: the character does not fit and is dropped.
        let accent = "abcdefghijklmnopqrstuvwé";
        assert_eq!(ThreadName::new(accent).as_str(), "abcdefghijklmnopqrstuvw");
        assert_eq!(format!("[{:>8}]", ThreadName::new("idle")), "[    idle]");
    }

    #[test]
    fn states_print_in_lower_case() {
        assert_eq!(ThreadState::Sleeping.to_string(), "sleeping");
        assert_eq!(format!("{:<8}|", ThreadState::Ready), "ready   |");
    }
}
