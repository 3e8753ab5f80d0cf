//! The shared stack and the network thread that drives it.
//!
//! ```text
//!   NIC IRQ ──────> on_nic_interrupt: POLL_NEEDED = true, wake the network thread
//!                                       │
//!   network thread:  loop { card's watchdog;
//!                           lock STACK; poll (at most INTAKE_BUDGET frames, timers, transmit);
//!                           unlock;
//!                           if sockets changed: SOCKET_GENERATION += 1, wake socket waiters;
//!                           frames left? yield, then poll again;
//!                           else sleep until POLL_NEEDED or the next deadline }
//!                                       │
//!   socket calls (socket.rs): lock STACK; try the operation; transmit; unlock;
//!                             if it would block: sleep until SOCKET_GENERATION moves
//! ```
//!
//! Nothing polls in a busy loop: the network thread sleeps until the card interrupts or
//! smoltcp's `poll_delay` (or the card's watchdog) says a timer is due, and socket callers
//! sleep until the network thread has seen something happen.
//!
//! Under a flood the thread does not sleep, but it does let go: each pass takes at most
//! [`INTAKE_BUDGET`] frames, sends the replies, and releases the stack's lock before the
//! next, so socket calls (the HTTP workers) get the lock between passes. The driver, for its
//! part, stops its receive interrupts while its queue is full (docs/11-robustness.md).

use super::stack::{AddressEvent, NetError, Stack};
use crate::drivers::nic::{self, NicDevice};
use crate::sched;
use crate::sync::{Mutex, WaitQueue};
use crate::time;
use crate::trace::{self, Step};
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The longest the network thread sleeps when smoltcp has no timer pending.
const MAX_IDLE_MS: u64 = 1_000;

/// Frames one pass of the network thread takes before it transmits, unlocks and lets others
/// run. Small enough that a socket call waits at most a few milliseconds for the lock under
/// a flood, large enough that a burst of a busy connection goes in a few passes.
const INTAKE_BUDGET: usize = 16;

/// The one stack, shared by the network thread and every socket call.
static STACK: Mutex<Option<Stack<NicDevice>>> = Mutex::new(None);

/// Set by the card's interrupt (or by a socket call that brought a deadline forward),
/// cleared by the network thread when it wakes.
static POLL_NEEDED: AtomicBool = AtomicBool::new(false);
/// Where the network thread sleeps.
static NETWORK_THREAD: WaitQueue = WaitQueue::new();
/// The uptime (ms) at which the network thread will poll next, at the latest.
static NEXT_POLL_AT_MS: AtomicU64 = AtomicU64::new(0);

/// Counts the polls that changed some socket's state; socket callers wait for it to move.
static SOCKET_GENERATION: AtomicU64 = AtomicU64::new(0);
/// Where socket callers sleep.
static SOCKET_WAITERS: WaitQueue = WaitQueue::new();

/// Puts `stack` in place, hooks the card's interrupt and starts the network thread.
pub fn start(stack: Stack<NicDevice>) {
    *STACK.lock() = Some(stack);
    nic::set_interrupt_callback(on_nic_interrupt);
    // The thread handle is dropped: the network thread runs for the life of the kernel.
    let _ = sched::spawn("net", network_thread);
}

/// Called from the card's interrupt handler: only flags and wakes, never locks the stack.
fn on_nic_interrupt() {
    POLL_NEEDED.store(true, Ordering::Release);
    NETWORK_THREAD.wake_one();
    if trace::expects(Step::WakeNetwork) {
        trace::step(
            Step::WakeNetwork,
            "src/net/poll_loop.rs on_nic_interrupt",
            format_args!("set POLL_NEEDED, woke the network thread"),
        );
    }
}

fn network_thread() {
    loop {
        // First the card: a recovery (a reset) may free transmit buffers or queue frames.
        let card_due = nic::watchdog();
        let now = time::uptime_ms();
        let (outcome, stack_due) = {
            let mut guard = STACK.lock();
            let stack = guard
                .as_mut()
                .expect("the stack is installed before the thread starts");
            if trace::expects(Step::Poll) {
                trace::step(
                    Step::Poll,
                    "src/net/poll_loop.rs network_thread",
                    format_args!("locked the stack, in Stack::poll"),
                );
            }
            let outcome = stack.poll(now, INTAKE_BUDGET);
            (outcome, stack.poll_delay_ms(now))
        };
        match outcome.address_event {
            Some(AddressEvent::Configured { address, gateway }) => match gateway {
                Some(gateway) => log::info!("net: DHCP: address {address}, gateway {gateway}"),
                None => log::info!("net: DHCP: address {address}, no gateway"),
            },
            Some(AddressEvent::Lost) => log::warn!("net: DHCP lease lost"),
            None => {}
        }
        if outcome.sockets_changed {
            SOCKET_GENERATION.fetch_add(1, Ordering::Release);
            SOCKET_WAITERS.wake_all();
        }
        let delay = [stack_due, card_due].into_iter().flatten().min();
        let wait = delay.unwrap_or(MAX_IDLE_MS).min(MAX_IDLE_MS);
        if wait == 0 || outcome.frames_left {
            // Work is due now (frames beyond the budget, a full transmit queue, a timer):
            // let others run, then poll.
            sched::yield_now();
            continue;
        }
        NEXT_POLL_AT_MS.store(now + wait, Ordering::Release);
        NETWORK_THREAD.wait_until_timeout(|| POLL_NEEDED.swap(false, Ordering::AcqRel), wait);
    }
}

/// Runs `operation` on the stack, then transmits what it queued. Wakes the network thread
/// if the operation brought smoltcp's next deadline forward (a new retransmission timer).
pub(super) fn with_stack<R>(operation: impl FnOnce(&mut Stack<NicDevice>, u64) -> R) -> R {
    let now = time::uptime_ms();
    let (result, delay) = {
        let mut guard = STACK.lock();
        let stack = guard.as_mut().expect("net::init has run");
        let result = operation(stack, now);
        stack.transmit(now);
        (result, stack.poll_delay_ms(now))
    };
    if delay.is_some_and(|delay| now + delay < NEXT_POLL_AT_MS.load(Ordering::Acquire)) {
        POLL_NEEDED.store(true, Ordering::Release);
        NETWORK_THREAD.wake_one();
    }
    result
}

/// Runs `query` on the stack and nothing else: no transmit, no look at the timers. For
/// calls that change nothing smoltcp would send (the send queue's length, the peer's
/// address, registering a waker), so they cost one lock and no walk over every socket.
pub(super) fn with_stack_quiet<R>(query: impl FnOnce(&mut Stack<NicDevice>) -> R) -> R {
    let mut guard = STACK.lock();
    query(guard.as_mut().expect("net::init has run"))
}

/// Repeats `attempt` until it stops answering [`NetError::WouldBlock`], sleeping between
/// tries until the network thread reports socket activity. `timeout_ms` bounds the wait:
/// when it runs out the answer is [`NetError::TimedOut`].
pub(super) fn block_on<T>(
    timeout_ms: Option<u64>,
    mut attempt: impl FnMut(&mut Stack<NicDevice>, u64) -> Result<T, NetError>,
) -> Result<T, NetError> {
    let deadline = timeout_ms.map(|ms| time::uptime_ms() + ms);
    loop {
        // Read before trying: activity between the try and the sleep then ends the sleep.
        let seen = SOCKET_GENERATION.load(Ordering::Acquire);
        match with_stack(&mut attempt) {
            Err(NetError::WouldBlock) => {}
            done => return done,
        }
        let moved = || SOCKET_GENERATION.load(Ordering::Acquire) != seen;
        match deadline {
            None => SOCKET_WAITERS.wait_until(moved),
            Some(deadline) => {
                let now = time::uptime_ms();
                if now >= deadline {
                    return Err(NetError::TimedOut);
                }
                SOCKET_WAITERS.wait_until_timeout(moved, deadline - now);
            }
        }
    }
}

/// Runs `read` on the stack without transmitting or waking anyone: for statistics.
pub(super) fn inspect<R>(read: impl FnOnce(&Stack<NicDevice>) -> R) -> Option<R> {
    STACK.lock().as_ref().map(read)
}
