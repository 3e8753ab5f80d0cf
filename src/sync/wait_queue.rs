//! `WaitQueue`: threads block on it until a condition holds; whoever makes the condition
//! true (another thread, or an interrupt handler) calls `wake_one` or `wake_all`.
//!
//! The lost wake-up race, and why there is none here: a waiter checks its condition, finds
//! it false, and blocks. If the wake-up came *between* the check and the block, the waiter
//! would sleep forever. `wait_until` therefore disables interrupts, checks the condition and
//! blocks without enabling them in between; the scheduler switches to another thread with
//! interrupts still off. On one CPU, with interrupts off, no handler and no other thread can
//! run in that window, so a waker either runs before the check (and the check sees the
//! condition true) or after the block (and finds the waiter in the queue).
//!
//! The condition runs with interrupts disabled: it must be quick, must not block, and must
//! only take locks that are `IrqSafeSpinLock`s (or read atomics).
//!
//! The counter of waiters, and the ordering it needs. A waker skips the scheduler when
//! `waiters` is 0, the common case. That shortcut is the *store-buffering* pattern (the "SB"
//! litmus test; Intel SDM vol. 3A, "Loads May Be Reordered with Earlier Stores to Different
//! Locations", 8.2.3.4 in older editions):
//!
//! ```text
//!   waiter                                waker
//!   waiters += 1          (store)         condition := true      (store, e.g. unlock)
//!   read condition        (load)          read waiters           (load)
//!   false: block                          0: nobody to wake, return
//! ```
//!
//! If each load could be done before the other side's store is visible (a CPU's store buffer
//! does exactly that, and so may the compiler, which is free to move a Relaxed or Acquire load
//! above an earlier Release store), both would read the old values: the waiter blocks and the
//! waker wakes nobody, a lost wake-up. Acquire and Release do not forbid this outcome; only
//! sequential consistency does. So each side puts a `fence(SeqCst)` between its store and its
//! load (C++ [atomics.fences]: of two SeqCst fences, one is ordered first, and the load after
//! the later one sees the store before the earlier one), and the waiter counts itself before
//! it checks the condition. On this one-CPU kernel the interrupts-off window already keeps a
//! handler from running in between; the fences keep the compiler from reordering either side,
//! and keep the primitive correct on more than one CPU.

use crate::sched;
use core::sync::atomic::{AtomicUsize, Ordering, fence};
use x86_64::instructions::interrupts;

/// A queue of blocked threads. The threads themselves are in the scheduler's table, marked
/// with this queue's address, so a `WaitQueue` needs no memory of its own and can be a
/// `static`. It must not move while threads wait on it, which borrowing guarantees.
pub struct WaitQueue {
    /// Threads between blocking and running again; lets a wake with no waiters return at
    /// once (the common case in interrupt handlers).
    waiters: AtomicUsize,
}

impl WaitQueue {
    pub const fn new() -> Self {
        WaitQueue {
            waiters: AtomicUsize::new(0),
        }
    }

    fn address(&self) -> usize {
        self as *const WaitQueue as usize
    }

    /// Blocks until `condition()` returns true (checked first, then after every wake-up).
    /// Panics if called with interrupts disabled (an interrupt handler, or inside an
    /// `IrqSafeSpinLock`).
    pub fn wait_until(&self, mut condition: impl FnMut() -> bool) {
        self.wait(&mut condition, None);
    }

    /// Like [`wait_until`](Self::wait_until), but gives up after `timeout_ms` milliseconds.
    /// Returns whether the condition holds.
    pub fn wait_until_timeout(&self, mut condition: impl FnMut() -> bool, timeout_ms: u64) -> bool {
        let deadline = sched::deadline_after_ms(timeout_ms);
        self.wait(&mut condition, Some(deadline))
    }

    fn wait(&self, condition: &mut dyn FnMut() -> bool, deadline: Option<u64>) -> bool {
        assert!(
            interrupts::are_enabled(),
            "WaitQueue: cannot block with interrupts disabled (interrupt handler or spin lock held?)"
        );
        loop {
            interrupts::disable();
            // Count ourselves before reading the condition (the store, then the load, of the
            // store-buffering pattern in the module comment).
            self.waiters.fetch_add(1, Ordering::Relaxed);
            fence(Ordering::SeqCst);
            let done = if condition() {
                Some(true)
            } else if deadline.is_some_and(|deadline| crate::time::ticks() >= deadline) {
                Some(false)
            } else {
                sched::block_current(Some(self.address()), deadline);
                None
            };
            self.waiters.fetch_sub(1, Ordering::Relaxed);
            interrupts::enable();
            if let Some(holds) = done {
                return holds;
            }
        }
    }

    /// Wakes the thread that has waited longest. Returns whether there was one.
    /// Safe in interrupt handlers. Call it after making the condition true.
    pub fn wake_one(&self) -> bool {
        self.has_waiters() && sched::wake(self.address(), false) > 0
    }

    /// Wakes every waiting thread. Returns how many. Safe in interrupt handlers.
    pub fn wake_all(&self) -> usize {
        if !self.has_waiters() {
            return 0;
        }
        sched::wake(self.address(), true)
    }

    /// Whether a thread may be waiting: the waker's load of the store-buffering pattern. The
    /// fence orders the caller's store to the condition before it (module comment).
    fn has_waiters(&self) -> bool {
        fence(Ordering::SeqCst);
        self.waiters.load(Ordering::Relaxed) > 0
    }
}

impl Default for WaitQueue {
    fn default() -> Self {
        Self::new()
    }
}
