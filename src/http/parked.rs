//! The parked set: every open connection has a slot, found by its token (the number its
//! wakers carry, src/net/readiness.rs). A slot is free, holds a parked connection with the
//! deadline it asked for, or is "away": its connection is with the poller or a worker right
//! now. A wake for an away connection is remembered in its slot: whoever has it may have
//! looked at the socket just before the event, so parking it then would lose the wake, and
//! [`Parked::park`] hands it back to be looked at again instead.
//!
//! ```text
//!   insert ──> Away ──park──> Parked ──take──> Away ──park──> Parked ...
//!               │ └─woken while away: park refuses, look again         
//!               └──remove──> Free
//! ```
//!
//! Deadlines are checked by a sweep of the whole table, at most every [`SWEEP_MS`]: a
//! deadline is seconds long, so being up to that late does not matter, and the cost is
//! bounded (a few thousand slots, a few dozen times a second) where a timer heap with the
//! re-parks of busy connections would keep growing.

use alloc::vec::Vec;

pub use crate::net::readiness::Token;

/// The sweep for expired deadlines runs at most this often.
pub const SWEEP_MS: u64 = 50;

enum Slot<C> {
    Free,
    Parked {
        connection: C,
        deadline_ms: u64,
    },
    /// With the poller or a worker; `woken`: a wake came meanwhile.
    Away {
        woken: bool,
    },
}

pub struct Parked<C> {
    slots: Vec<Slot<C>>,
    /// Free tokens; the most recently freed is reused first.
    free: Vec<Token>,
    parked: usize,
    /// No parked deadline is earlier than this (it may be later: a sweep finds out).
    next_sweep_ms: u64,
}

impl<C> Parked<C> {
    /// A table of `capacity` slots, all reserved now.
    pub fn with_capacity(capacity: usize) -> Parked<C> {
        let mut slots = Vec::with_capacity(capacity);
        slots.resize_with(capacity, || Slot::Free);
        Parked {
            slots,
            free: (0..capacity).rev().collect(),
            parked: 0,
            next_sweep_ms: u64::MAX,
        }
    }

    /// Reserves a slot for a new connection, away (whoever holds the connection looks at it,
    /// then parks it); `None` when the table is full.
    pub fn insert(&mut self) -> Option<Token> {
        let token = self.free.pop()?;
        self.slots[token] = Slot::Away { woken: false };
        Some(token)
    }

    /// Takes the connection parked at `token` (for a wake or an expired deadline). `None` if
    /// the slot is free (a stale wake), or away: then the wake is noted for whoever has it.
    pub fn take(&mut self, token: Token) -> Option<C> {
        let slot = self.slots.get_mut(token)?;
        match slot {
            Slot::Free => None,
            Slot::Away { woken } => {
                *woken = true;
                None
            }
            Slot::Parked { .. } => {
                let Slot::Parked { connection, .. } =
                    core::mem::replace(slot, Slot::Away { woken: false })
                else {
                    unreachable!("matched above");
                };
                self.parked -= 1;
                Some(connection)
            }
        }
    }

    /// Parks `connection` at its token (which must be away) until a wake or `deadline_ms`.
    /// If it was woken while away, it is not parked but handed back: look at it again.
    #[must_use = "a connection handed back must be looked at again"]
    pub fn park(&mut self, token: Token, connection: C, deadline_ms: u64) -> Option<C> {
        let slot = &mut self.slots[token];
        debug_assert!(matches!(slot, Slot::Away { .. }));
        if let Slot::Away {
            woken: woken @ true,
        } = slot
        {
            *woken = false;
            return Some(connection);
        }
        *slot = Slot::Parked {
            connection,
            deadline_ms,
        };
        self.parked += 1;
        self.next_sweep_ms = self.next_sweep_ms.min(deadline_ms);
        None
    }

    /// Frees the slot of a connection that ended (its slot must be away).
    pub fn remove(&mut self, token: Token) {
        debug_assert!(matches!(self.slots[token], Slot::Away { .. }));
        self.slots[token] = Slot::Free;
        self.free.push(token);
    }

    /// When the next sweep is due.
    pub fn next_sweep_ms(&self) -> u64 {
        self.next_sweep_ms
    }

    /// Puts the tokens of the connections whose deadline has passed into `due`, if a sweep
    /// is due at `now_ms`; the next sweep is then at the earliest remaining deadline, but
    /// not before [`SWEEP_MS`] from now.
    pub fn sweep(&mut self, now_ms: u64, due: &mut Vec<Token>) {
        if now_ms < self.next_sweep_ms {
            return;
        }
        let mut earliest = u64::MAX;
        for (token, slot) in self.slots.iter().enumerate() {
            if let Slot::Parked { deadline_ms, .. } = slot {
                if *deadline_ms <= now_ms {
                    due.push(token);
                } else {
                    earliest = earliest.min(*deadline_ms);
                }
            }
        }
        self.next_sweep_ms = earliest.max(now_ms + SWEEP_MS);
    }

    /// Connections parked now.
    pub fn parked(&self) -> usize {
        self.parked
    }

    /// Slots in use: parked, or away with the poller or a worker.
    pub fn in_use(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    pub fn capacity(&self) -> usize {
        self.slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn a_connection_goes_round() {
        let mut table: Parked<&str> = Parked::with_capacity(2);
        let token = table.insert().unwrap();
        assert!(table.park(token, "a", 100).is_none());
        assert_eq!((table.parked(), table.in_use()), (1, 1));
        assert_eq!(table.take(token), Some("a"));
        assert_eq!(table.take(token), None);
        table.remove(token);
        assert_eq!(table.in_use(), 0);
    }

    #[test]
    fn a_wake_while_away_is_not_lost() {
        let mut table: Parked<&str> = Parked::with_capacity(1);
        let token = table.insert().unwrap();
        // The owner looked at the socket; then an event came before it parked.
        assert_eq!(table.take(token), None);
        assert_eq!(table.park(token, "a", 100), Some("a"), "look again instead");
        assert_eq!(table.park(token, "a", 100), None, "the wake is used up");
        assert_eq!(table.parked(), 1);
    }

    #[test]
    fn the_table_is_bounded() {
        let mut table: Parked<u8> = Parked::with_capacity(2);
        assert!(table.insert().is_some() && table.insert().is_some());
        assert_eq!(table.insert(), None);
        assert_eq!(table.take(99), None, "an unknown token is ignored");
    }

    #[test]
    fn sweeps_find_what_is_due_and_no_more_often_than_the_sweep_period() {
        let mut table: Parked<u8> = Parked::with_capacity(4);
        for deadline in [100, 300, 1000] {
            let token = table.insert().unwrap();
            assert!(table.park(token, 0, deadline).is_none());
        }
        let mut due = vec![];
        table.sweep(99, &mut due);
        assert!(due.is_empty());
        table.sweep(100, &mut due);
        assert_eq!(due.len(), 1);
        assert_eq!(table.next_sweep_ms(), 300);
        due.clear();
        table.take(0); // what the poller does with a due token
        table.sweep(300, &mut due);
        assert_eq!(due, [1]);
        // A deadline just after a sweep waits for the next period.
        let token = table.take(1).map(|c| (1, c)).unwrap();
        assert!(table.park(token.0, token.1, 301).is_none());
        table.sweep(300, &mut vec![]);
        assert_eq!(table.next_sweep_ms(), 301);
        let mut due = vec![];
        table.sweep(301, &mut due);
        assert_eq!(due, [1]);
        assert_eq!(table.next_sweep_ms(), 1000);
    }

    #[test]
    fn what_an_idle_connection_costs_is_within_the_socket_budget() {
        // src/net/budget.rs counts 4 KiB per socket for smoltcp's socket and the server's
        // record of the connection (an idle one holds no buffer: src/http/input.rs).
        use crate::http::connection::Connection;
        use crate::net::budget::SOCKET_OVERHEAD_BYTES;
        use crate::net::stack::TcpSocketStorage;
        // The table holds a box; the connection itself is on the heap.
        let record = core::mem::size_of::<Slot<alloc::boxed::Box<Connection<StubStream>>>>()
            + core::mem::size_of::<Connection<StubStream>>();
        let socket = core::mem::size_of::<TcpSocketStorage>();
        assert!(
            record + socket <= SOCKET_OVERHEAD_BYTES,
            "{record} + {socket}"
        );
    }

    /// A stream of the size of the kernel's (a socket handle and two timeouts).
    struct StubStream([u64; 3]);

    impl crate::http::stream::Stream for StubStream {
        fn receive(
            &mut self,
            _: &mut [u8],
        ) -> Result<crate::http::stream::Received, crate::http::stream::Reset> {
            Err(crate::http::stream::Reset)
        }
        fn at_end(&self) -> bool {
            true
        }
        fn discard(
            &mut self,
            _: usize,
        ) -> Result<crate::http::stream::Received, crate::http::stream::Reset> {
            Err(crate::http::stream::Reset)
        }
        fn send(&mut self, _: &[u8]) -> Result<usize, crate::http::stream::Reset> {
            Err(crate::http::stream::Reset)
        }
        fn send_with(
            &mut self,
            _: &mut dyn FnMut(&mut [u8]) -> usize,
        ) -> Result<usize, crate::http::stream::Reset> {
            Err(crate::http::stream::Reset)
        }
        fn send_queue(&self) -> usize {
            self.0[0] as usize
        }
        fn shutdown(&mut self) {}
    }
}
