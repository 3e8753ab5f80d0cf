//! Readiness: which of many parked connections has something to look at.
//!
//! A server that keeps hundreds of idle connections cannot give each a thread asleep in
//! `read`. It parks them instead, and asks the network stack to say which ones changed, the
//! way `epoll` does for a Linux event loop and the netpoller does for Go. smoltcp has the hook
//! for it: a TCP socket calls the [`Waker`] registered with it when data arrives, when the
//! peer acknowledges bytes (room to send), and on every state change (FIN, reset). Our wakers
//! carry a token, the connection's number, and push it onto a ready list; one thread, the
//! HTTP poller, sleeps until the list is not empty.
//!
//! ```text
//!   network thread: iface.poll ──> socket gets data/ACK/FIN ──> waker(token).wake()
//!                                                                  │ push token (once)
//!                                                                  v
//!   HTTP poller:  wait until the list is not empty ──> take tokens ──> look at each connection
//! ```
//!
//! Two rules make it correct:
//! - **Arm, then look.** smoltcp forgets a waker once it has fired (one-shot, edge-triggered).
//!   Whoever parks a connection registers its wakers and *then* looks at the socket once, so a
//!   change that happened before the registration is not missed.
//! - **A token means "look", not "there are bytes".** A wake can be stale (the connection was
//!   already served, or its slot now holds another connection): looking finds nothing to do.
//!
//! [`ReadyList`] is the pure part, host-tested: a FIFO of tokens that holds each token at most
//! once, so it is bounded by the number of tokens and a storm of wakes cannot grow it.

use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;

/// A connection's number, given to its wakers; below the capacity of the [`ReadyList`].
pub type Token = usize;

/// Tokens waiting to be looked at, in the order they became ready, each at most once.
#[derive(Debug)]
pub struct ReadyList {
    queued: Vec<bool>,
    order: VecDeque<Token>,
}

impl ReadyList {
    /// A list for tokens `0..capacity`. Its memory is taken now: pushing never allocates
    /// (the wakers run inside the stack's poll, where an allocation would be out of place).
    pub fn with_capacity(capacity: usize) -> ReadyList {
        ReadyList {
            queued: vec![false; capacity],
            order: VecDeque::with_capacity(capacity),
        }
    }

    /// Adds `token` unless it is already waiting; false if it was, or is out of range.
    pub fn push(&mut self, token: Token) -> bool {
        match self.queued.get_mut(token) {
            Some(queued) if !*queued => {
                *queued = true;
                self.order.push_back(token);
                true
            }
            _ => false,
        }
    }

    /// The token that has waited longest.
    pub fn pop(&mut self) -> Option<Token> {
        let token = self.order.pop_front()?;
        self.queued[token] = false;
        Some(token)
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(target_os = "none")]
pub use kernel_side::{init, notify, take_ready, wait, wake_poller, waker};

#[cfg(target_os = "none")]
mod kernel_side {
    use super::{ReadyList, Token};
    use crate::sync::{IrqSafeSpinLock, WaitQueue};
    use crate::trace::{self, Step};
    use core::sync::atomic::{AtomicUsize, Ordering};
    use core::task::{RawWaker, RawWakerVTable, Waker};

    /// The one ready list. An `IrqSafeSpinLock` because the section is a few instructions
    /// and the wakers run inside the network thread's poll, with the stack's lock held.
    static READY: IrqSafeSpinLock<Option<ReadyList>> = IrqSafeSpinLock::new(None);
    /// The list's length, for the poller's wait condition (which may read atomics only).
    static PENDING: AtomicUsize = AtomicUsize::new(0);
    /// Set by [`wake_poller`]: something other than a socket wants the poller to look.
    static POKED: AtomicUsize = AtomicUsize::new(0);
    /// Where the poller sleeps.
    static POLLER: WaitQueue = WaitQueue::new();

    /// Makes room for tokens `0..capacity`. Called once, before any waker exists.
    pub fn init(capacity: usize) {
        *READY.lock() = Some(ReadyList::with_capacity(capacity));
    }

    /// Puts `token` on the ready list and wakes the poller. For wakers, and for threads
    /// that hand a connection back to the poller.
    pub fn notify(token: Token) {
        let pushed = READY.lock().as_mut().map(|list| {
            let pushed = list.push(token);
            PENDING.store(list.len(), Ordering::Release);
            pushed
        });
        if pushed == Some(true) {
            POLLER.wake_one();
        }
        if trace::expects(Step::Socket) {
            // smoltcp is handing the request's frame to its socket: this is that socket's waker.
            trace::step(
                Step::Socket,
                "src/net/readiness.rs notify",
                format_args!(
                    "the TCP socket took the bytes; its waker put token {token} on the ready \
                     list and woke the poller"
                ),
            );
        }
    }

    /// Wakes the poller without a token (a new connection, a timer it must recompute).
    pub fn wake_poller() {
        POKED.store(1, Ordering::Release);
        POLLER.wake_one();
    }

    /// Sleeps until a token is ready, [`wake_poller`] was called, or `timeout_ms` passed.
    pub fn wait(timeout_ms: u64) {
        POLLER.wait_until_timeout(
            || PENDING.load(Ordering::Acquire) > 0 || POKED.swap(0, Ordering::AcqRel) != 0,
            timeout_ms,
        );
    }

    /// Moves every ready token into `out`, oldest first.
    pub fn take_ready(out: &mut alloc::vec::Vec<Token>) {
        let mut guard = READY.lock();
        if let Some(list) = guard.as_mut() {
            // `out` is the poller's own vector, reserved at the list's capacity: no allocation here.
            while let Some(token) = list.pop() {
                out.push(token);
            }
            PENDING.store(0, Ordering::Release);
        }
    }

    /// A waker that puts `token` on the ready list. The token is the waker's data pointer:
    /// nothing is allocated, and cloning or dropping it costs nothing.
    pub fn waker(token: Token) -> Waker {
        // SAFETY: the vtable's functions treat the data pointer as a plain number and never
        // dereference it, so any value is valid, and they are safe to call from any thread.
        unsafe { Waker::from_raw(raw_waker(token)) }
    }

    fn raw_waker(token: Token) -> RawWaker {
        RawWaker::new(token as *const (), &VTABLE)
    }

    static VTABLE: RawWakerVTable =
        RawWakerVTable::new(clone_waker, wake_token, wake_token, drop_waker);

    fn clone_waker(data: *const ()) -> RawWaker {
        raw_waker(data as Token)
    }

    fn wake_token(data: *const ()) {
        notify(data as Token);
    }

    fn drop_waker(_: *const ()) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_come_out_in_order_and_once() {
        let mut list = ReadyList::with_capacity(8);
        assert!(list.push(3));
        assert!(list.push(1));
        assert!(!list.push(3), "a token already waiting is not queued twice");
        assert_eq!(list.len(), 2);
        assert_eq!(list.pop(), Some(3));
        assert!(list.push(3), "once taken, a token may be queued again");
        assert_eq!(list.pop(), Some(1));
        assert_eq!(list.pop(), Some(3));
        assert_eq!(list.pop(), None);
        assert!(list.is_empty());
    }

    #[test]
    fn out_of_range_tokens_are_ignored() {
        let mut list = ReadyList::with_capacity(2);
        assert!(!list.push(2));
        assert!(list.is_empty());
    }

    proptest::proptest! {
        /// Whatever the storm of wakes, the list never holds more than one entry per token,
        /// and every token pushed comes out.
        #[test]
        fn bounded_by_the_number_of_tokens(wakes in proptest::collection::vec(0usize..16, 0..200)) {
            let mut list = ReadyList::with_capacity(16);
            let mut expected = std::collections::BTreeSet::new();
            for token in wakes {
                list.push(token);
                expected.insert(token);
                proptest::prop_assert!(list.len() <= 16);
            }
            let mut out = std::collections::BTreeSet::new();
            while let Some(token) = list.pop() {
                proptest::prop_assert!(out.insert(token), "token {} came out twice", token);
            }
            proptest::prop_assert_eq!(out, expected);
        }
    }
}
