//! The four transmit slots and who owns each.
//!
//! The RTL8139 has four transmit descriptors, each a status register (TSD0-3) and a buffer
//! address (TSAD0-3). The chip serves them strictly in turn, 0, 1, 2, 3, 0, ..., so the
//! driver must fill them in the same order, and a slot whose frame is still on its way
//! must never be refilled: the chip would send half of one frame and half of another.
//!
//! ```text
//!             oldest_busy            next_free
//!                  |                     |
//!                  v                     v
//!   slot:    [ 0 free ] [ 1 busy ] [ 2 busy ] [ 3 free ]
//!                         sending    queued
//! ```
//!
//! [`TxSlots`] is that bookkeeping, without the registers: the driver claims the next free
//! slot, writes the frame and its length, and retires the oldest busy slot when its TSD
//! says the chip is done with it.

use super::registers::{TSD_ABORTED, TSD_OWN, TSD_TX_OK, TSD_UNDERRUN};

/// How many transmit descriptors the chip has.
pub const TX_SLOT_COUNT: usize = 4;

/// What a slot's TSD register says about the frame in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxOutcome {
    /// The chip is still working on it.
    InFlight,
    /// TOK: the frame went out.
    Sent,
    /// TABT or TUN: the frame was lost; the slot is free again.
    Failed,
}

impl TxOutcome {
    /// Decodes a TSD value (datasheet: TSD0-3). OWN alone only means the frame has been
    /// copied into the FIFO; the slot is done when TOK or an error bit is set too.
    pub fn from_tsd(tsd: u32) -> TxOutcome {
        if tsd & TSD_ABORTED != 0 {
            TxOutcome::Failed
        } else if tsd & TSD_OWN != 0 && tsd & TSD_TX_OK != 0 {
            TxOutcome::Sent
        } else if tsd & TSD_OWN != 0 && tsd & TSD_UNDERRUN != 0 {
            TxOutcome::Failed
        } else {
            TxOutcome::InFlight
        }
    }
}

/// Which slots hold frames the chip has not finished with, in the chip's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxSlots {
    next_free: usize,
    oldest_busy: usize,
    busy: usize,
    lengths: [usize; TX_SLOT_COUNT],
}

impl Default for TxSlots {
    fn default() -> Self {
        Self::new()
    }
}

impl TxSlots {
    /// All slots free, slot 0 next: the state after a chip reset.
    pub const fn new() -> TxSlots {
        TxSlots {
            next_free: 0,
            oldest_busy: 0,
            busy: 0,
            lengths: [0; TX_SLOT_COUNT],
        }
    }

    /// How many slots hold frames in flight.
    pub fn busy(&self) -> usize {
        self.busy
    }

    pub fn is_full(&self) -> bool {
        self.busy == TX_SLOT_COUNT
    }

    /// The slot the next frame must go into, if it is free. Claiming marks it busy with a
    /// frame of `len` bytes; the caller then fills it and starts the chip.
    pub fn claim(&mut self, len: usize) -> Option<usize> {
        if self.is_full() {
            return None;
        }
        let slot = self.next_free;
        self.lengths[slot] = len;
        self.next_free = (slot + 1) % TX_SLOT_COUNT;
        self.busy += 1;
        Some(slot)
    }

    /// The slot the chip finishes next, if any frame is in flight.
    pub fn oldest_busy(&self) -> Option<usize> {
        (self.busy > 0).then_some(self.oldest_busy)
    }

    /// Frees the oldest busy slot and returns the length of the frame it held.
    pub fn retire_oldest(&mut self) -> Option<usize> {
        let slot = self.oldest_busy()?;
        self.oldest_busy = (slot + 1) % TX_SLOT_COUNT;
        self.busy -= 1;
        Some(self.lengths[slot])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn slots_are_used_in_order_and_never_twice() {
        let mut slots = TxSlots::new();
        assert_eq!(slots.claim(60), Some(0));
        assert_eq!(slots.claim(61), Some(1));
        assert_eq!(slots.claim(62), Some(2));
        assert_eq!(slots.claim(63), Some(3));
        assert!(slots.is_full());
        assert_eq!(slots.claim(64), None, "a busy slot must not be overwritten");
        assert_eq!(slots.oldest_busy(), Some(0));
        assert_eq!(slots.retire_oldest(), Some(60));
        assert_eq!(slots.claim(65), Some(0));
        assert_eq!(slots.oldest_busy(), Some(1));
    }

    #[test]
    fn retiring_with_nothing_in_flight_does_nothing() {
        let mut slots = TxSlots::new();
        assert_eq!(slots.retire_oldest(), None);
        assert_eq!(slots.busy(), 0);
    }

    #[test]
    fn decodes_tsd() {
        assert_eq!(TxOutcome::from_tsd(60), TxOutcome::InFlight);
        assert_eq!(TxOutcome::from_tsd(60 | TSD_OWN), TxOutcome::InFlight);
        assert_eq!(
            TxOutcome::from_tsd(60 | TSD_OWN | TSD_TX_OK),
            TxOutcome::Sent
        );
        assert_eq!(
            TxOutcome::from_tsd(60 | TSD_OWN | TSD_UNDERRUN),
            TxOutcome::Failed
        );
        assert_eq!(TxOutcome::from_tsd(60 | TSD_ABORTED), TxOutcome::Failed);
    }

    proptest! {
        /// Against a model (a queue of slot numbers), under any sequence of claims and
        /// completions: slots go out 0,1,2,3,0,..., complete in the same order, and at most
        /// four are busy.
        #[test]
        fn behaves_like_a_queue_of_four(operations in proptest::collection::vec(any::<bool>(), 0..200)) {
            let mut slots = TxSlots::new();
            let mut model = std::collections::VecDeque::new();
            let mut next = 0;
            for claim in operations {
                if claim {
                    let got = slots.claim(100 + next);
                    if model.len() == TX_SLOT_COUNT {
                        prop_assert_eq!(got, None);
                    } else {
                        prop_assert_eq!(got, Some(next % TX_SLOT_COUNT));
                        model.push_back(next);
                        next += 1;
                    }
                } else {
                    let expected = model.pop_front();
                    prop_assert_eq!(slots.retire_oldest(), expected.map(|n| 100 + n));
                }
                prop_assert_eq!(slots.busy(), model.len());
            }
        }
    }
}
