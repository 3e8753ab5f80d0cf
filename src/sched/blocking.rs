//! Taking a thread off the CPU and putting it back: `block_current` parks the running thread
//! on a wait queue (by address) or until a deadline, `wake` makes the threads parked on a
//! queue ready again, and `yield_now` gives the CPU up while staying ready. These are the
//! primitives under `sleep_ms` (src/sched/mod.rs) and `WaitQueue` (src/sync/wait_queue.rs);
//! the switch itself is `switch_from_current` and `perform` in src/sched/scheduler.rs.

use super::scheduler::{IDLE_THREAD, SCHEDULER, Scheduler, Waiting, perform};
use super::thread::{ThreadId, ThreadState};
use crate::time;
use x86_64::instructions::interrupts;

impl Scheduler {
    /// Wakes the threads blocked on `queue`: the longest-waiting one, or all of them.
    pub(super) fn wake(&mut self, queue: usize, all: bool) -> usize {
        let mut woken = 0;
        loop {
            let first = self
                .threads
                .iter()
                .enumerate()
                .filter_map(|(slot, thread)| {
                    let waiting = thread.as_ref()?.waiting?;
                    (waiting.queue == queue).then_some((waiting.ticket, ThreadId(slot)))
                })
                .min();
            let Some((_, id)) = first else {
                return woken;
            };
            self.make_ready(id);
            woken += 1;
            if !all {
                return woken;
            }
        }
    }
}

/// Gives the CPU to the next ready thread, if there is one; this thread stays ready.
///
/// Panics if called with interrupts disabled: the caller may hold an `IrqSafeSpinLock`, and
/// the threads (and the handlers their interrupts run) that get the CPU meanwhile would find
/// it taken. The same rule as for blocking (src/sync/mod.rs, rule 2).
pub fn yield_now() {
    assert!(
        interrupts::are_enabled(),
        "yield_now with interrupts disabled (an IrqSafeSpinLock held?)"
    );
    interrupts::without_interrupts(|| {
        let switch = SCHEDULER.lock().switch_from_current(time::ticks());
        perform(switch);
    });
}

/// Blocks the running thread until [`wake`] names `queue` (if `queue` is Some), or until
/// tick `deadline` (if Some). Must be called with interrupts disabled, and returns with
/// them still disabled, so that the caller's check of its condition and the blocking are
/// one atomic step with respect to interrupt handlers (no lost wake-up).
pub fn block_current(queue: Option<usize>, deadline: Option<u64>) {
    assert!(
        !interrupts::are_enabled(),
        "block_current needs interrupts off"
    );
    let switch = {
        let mut scheduler = SCHEDULER.lock();
        let current = scheduler.current;
        assert!(current != IDLE_THREAD, "the idle thread must never block");
        assert!(
            scheduler.threads[current.0].is_some(),
            "blocking before sched::init"
        );
        let ticket = scheduler.next_ticket;
        scheduler.next_ticket += 1;
        let thread = scheduler.thread_mut(current);
        thread.waiting = queue.map(|queue| Waiting { queue, ticket });
        thread.state = if queue.is_some() {
            ThreadState::Blocked
        } else {
            ThreadState::Sleeping
        };
        if let Some(deadline) = deadline {
            scheduler.sleep_queue.insert(deadline, current);
        }
        scheduler.switch_from_current(time::ticks())
    };
    perform(switch);
}

/// Makes the threads blocked on `queue` ready: the longest-waiting one, or all. Safe in
/// interrupt handlers. Returns how many were woken.
pub fn wake(queue: usize, all: bool) -> usize {
    SCHEDULER.lock().wake(queue, all)
}
