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
//!
//! It also decides what to do when a transmission goes wrong, which QEMU never makes happen
//! and the host tests therefore check here: an abort (TSD.TABT) is retried a few times with
//! TCR.CLRABT, then given up with a chip reset ([`TxSlots::complete_oldest`]); an underrun
//! (TSD.TUN) loses the frame and raises the early-transmit threshold ([`EarlyTxThreshold`]);
//! a frame held by the chip longer than [`TX_TIMEOUT_MS`] calls for the watchdog's reset
//! ([`TxSlots::timed_out`]).

use super::registers::{
    TSD_ABORTED, TSD_EARLY_TX_THRESHOLD_SHIFT, TSD_OWN, TSD_TX_OK, TSD_UNDERRUN,
};

/// How many transmit descriptors the chip has.
pub const TX_SLOT_COUNT: usize = 4;

/// How many times an aborted frame is sent again (TCR.CLRABT) before the driver gives up on
/// it and resets the chip. An abort means 16 collisions in a row on a half-duplex link: a
/// few more tries ride out a burst, a link that keeps colliding needs the reset.
pub const TX_ABORT_RETRIES: u8 = 3;

/// How long a frame may stay with the chip before the watchdog resets it. A 1514-byte frame
/// takes 0.12 ms at 100 Mbit/s; a slot still owned after this long means the transmitter
/// stopped (Linux's 8139too allows 6 s; a shorter wait recovers sooner).
pub const TX_TIMEOUT_MS: u64 = 2_000;

/// What a slot's TSD register says about the frame in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxOutcome {
    /// The chip is still working on it.
    InFlight,
    /// TOK: the frame went out.
    Sent,
    /// TABT: the chip gave up after too many collisions and stopped, waiting for CLRABT.
    Aborted,
    /// TUN: the FIFO ran dry while the frame was on the wire; the frame is lost.
    Underrun,
}

impl TxOutcome {
    /// Decodes a TSD value (datasheet: TSD0-3). OWN alone only means the frame has been
    /// copied into the FIFO; the slot is done when TOK or an error bit is set too.
    pub fn from_tsd(tsd: u32) -> TxOutcome {
        if tsd & TSD_ABORTED != 0 {
            TxOutcome::Aborted
        } else if tsd & TSD_OWN != 0 && tsd & TSD_TX_OK != 0 {
            TxOutcome::Sent
        } else if tsd & TSD_OWN != 0 && tsd & TSD_UNDERRUN != 0 {
            TxOutcome::Underrun
        } else {
            TxOutcome::InFlight
        }
    }
}

/// What the driver must do about the oldest busy slot ([`TxSlots::complete_oldest`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxEvent {
    /// Not finished: leave it to the chip.
    InFlight,
    /// Sent; the slot is free again.
    Sent { len: usize },
    /// Aborted, and worth another try: set TCR.CLRABT, the chip sends the same slot again.
    /// The slot stays busy.
    RetryAborted,
    /// Aborted [`TX_ABORT_RETRIES`] times after the first try: the slot is free, the frame
    /// is lost, and the transmitter, stopped in its abort state, needs a reset.
    GaveUp { len: usize },
    /// Underrun: the frame is lost, the slot is free; raise the early-transmit threshold.
    Underrun { len: usize },
}

/// One slot's frame while the chip has it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct InFlight {
    len: usize,
    handed_at_ms: u64,
    retries: u8,
}

/// Which slots hold frames the chip has not finished with, in the chip's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxSlots {
    next_free: usize,
    oldest_busy: usize,
    busy: usize,
    frames: [InFlight; TX_SLOT_COUNT],
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
            frames: [InFlight {
                len: 0,
                handed_at_ms: 0,
                retries: 0,
            }; TX_SLOT_COUNT],
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
    /// frame of `len` bytes handed over at `now_ms`; the caller then fills it and starts the
    /// chip.
    pub fn claim(&mut self, len: usize, now_ms: u64) -> Option<usize> {
        if self.is_full() {
            return None;
        }
        let slot = self.next_free;
        self.frames[slot] = InFlight {
            len,
            handed_at_ms: now_ms,
            retries: 0,
        };
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
        Some(self.frames[slot].len)
    }

    /// Applies the oldest busy slot's TSD value (`tsd`) to the bookkeeping and says what the
    /// driver must do. `None` if no slot is busy.
    pub fn complete_oldest(&mut self, tsd: u32) -> Option<TxEvent> {
        let slot = self.oldest_busy()?;
        let event = match TxOutcome::from_tsd(tsd) {
            TxOutcome::InFlight => TxEvent::InFlight,
            TxOutcome::Aborted if self.frames[slot].retries < TX_ABORT_RETRIES => {
                self.frames[slot].retries += 1;
                TxEvent::RetryAborted
            }
            TxOutcome::Aborted => TxEvent::GaveUp {
                len: self.retire_oldest()?,
            },
            TxOutcome::Sent => TxEvent::Sent {
                len: self.retire_oldest()?,
            },
            TxOutcome::Underrun => TxEvent::Underrun {
                len: self.retire_oldest()?,
            },
        };
        Some(event)
    }

    /// When the oldest frame in flight will have been with the chip for [`TX_TIMEOUT_MS`],
    /// if any frame is in flight.
    pub fn deadline_ms(&self) -> Option<u64> {
        let slot = self.oldest_busy()?;
        Some(self.frames[slot].handed_at_ms + TX_TIMEOUT_MS)
    }

    /// Whether the oldest frame in flight has been with the chip too long at `now_ms`: the
    /// transmitter is stuck and the watchdog must reset the chip.
    pub fn timed_out(&self, now_ms: u64) -> bool {
        self.deadline_ms()
            .is_some_and(|deadline| now_ms >= deadline)
    }
}

/// The early-transmit threshold (TSD bits 21:16, ERTXTH): the chip starts sending a frame
/// once this many bytes of it are in its FIFO, in units of 32 bytes. Low, the frame leaves
/// sooner; too low for a busy bus, the FIFO runs dry mid-frame (underrun, TUN) and the frame
/// is lost. Each underrun raises it by 64 bytes, as Linux's 8139too does, up to 1536 bytes:
/// past a full frame, the chip sends only what it holds whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EarlyTxThreshold {
    units: u32,
}

impl Default for EarlyTxThreshold {
    fn default() -> Self {
        Self::new()
    }
}

impl EarlyTxThreshold {
    /// 32-byte units per step.
    const STEP_UNITS: u32 = 2;
    /// 48 × 32 = 1536 bytes.
    const MAX_UNITS: u32 = 48;

    /// 256 bytes: enough for a PCI bus that keeps up, the usual case.
    pub const fn new() -> EarlyTxThreshold {
        EarlyTxThreshold { units: 8 }
    }

    /// The threshold in bytes.
    pub fn bytes(self) -> u32 {
        self.units * 32
    }

    /// Raises the threshold after an underrun; returns false when it was already at its top.
    pub fn raise(&mut self) -> bool {
        let raised = (self.units + Self::STEP_UNITS).min(Self::MAX_UNITS);
        let changed = raised != self.units;
        self.units = raised;
        changed
    }

    /// The bits to OR into a TSD value.
    pub fn tsd_bits(self) -> u32 {
        self.units << TSD_EARLY_TX_THRESHOLD_SHIFT
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn slots_are_used_in_order_and_never_twice() {
        let mut slots = TxSlots::new();
        assert_eq!(slots.claim(60, 0), Some(0));
        assert_eq!(slots.claim(61, 0), Some(1));
        assert_eq!(slots.claim(62, 0), Some(2));
        assert_eq!(slots.claim(63, 0), Some(3));
        assert!(slots.is_full());
        assert_eq!(
            slots.claim(64, 0),
            None,
            "a busy slot must not be overwritten"
        );
        assert_eq!(slots.oldest_busy(), Some(0));
        assert_eq!(slots.retire_oldest(), Some(60));
        assert_eq!(slots.claim(65, 0), Some(0));
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
            TxOutcome::Underrun
        );
        assert_eq!(TxOutcome::from_tsd(60 | TSD_ABORTED), TxOutcome::Aborted);
    }

    #[test]
    fn an_aborted_frame_is_retried_then_given_up() {
        let mut slots = TxSlots::new();
        slots.claim(100, 0);
        slots.claim(200, 0);
        for _ in 0..TX_ABORT_RETRIES {
            assert_eq!(
                slots.complete_oldest(100 | TSD_ABORTED),
                Some(TxEvent::RetryAborted)
            );
            assert_eq!(
                slots.busy(),
                2,
                "the slot stays the chip's while it retries"
            );
        }
        assert_eq!(
            slots.complete_oldest(100 | TSD_ABORTED),
            Some(TxEvent::GaveUp { len: 100 })
        );
        assert_eq!(slots.oldest_busy(), Some(1));
        // A retry that went out is an ordinary success, and the next frame starts afresh.
        assert_eq!(
            slots.complete_oldest(200 | TSD_ABORTED),
            Some(TxEvent::RetryAborted)
        );
        assert_eq!(
            slots.complete_oldest(200 | TSD_OWN | TSD_TX_OK),
            Some(TxEvent::Sent { len: 200 })
        );
        assert_eq!(slots.complete_oldest(0), None);
        slots.claim(300, 0);
        assert_eq!(
            slots.complete_oldest(300 | TSD_ABORTED),
            Some(TxEvent::RetryAborted),
            "a reused slot has its retries back"
        );
    }

    #[test]
    fn an_underrun_frees_the_slot_and_the_threshold_climbs_to_its_top() {
        let mut slots = TxSlots::new();
        slots.claim(1500, 0);
        assert_eq!(
            slots.complete_oldest(1500 | TSD_OWN | TSD_UNDERRUN),
            Some(TxEvent::Underrun { len: 1500 })
        );
        assert_eq!(slots.busy(), 0);
        let mut threshold = EarlyTxThreshold::new();
        assert_eq!(threshold.bytes(), 256);
        assert_eq!(threshold.tsd_bits(), 8 << 16);
        let mut steps = 0;
        while threshold.raise() {
            steps += 1;
        }
        assert_eq!(threshold.bytes(), 1536);
        assert_eq!(steps, (1536 - 256) / 64);
        assert_eq!(threshold.tsd_bits() >> 16, 48);
        assert!(
            threshold.tsd_bits() & !(0x3f << 16) == 0,
            "only ERTXTH bits"
        );
    }

    #[test]
    fn the_watchdog_times_the_oldest_frame_in_flight() {
        let mut slots = TxSlots::new();
        assert!(
            !slots.timed_out(1_000_000),
            "nothing in flight, nothing late"
        );
        slots.claim(60, 1000);
        slots.claim(60, 1500);
        assert_eq!(slots.deadline_ms(), Some(1000 + TX_TIMEOUT_MS));
        assert!(!slots.timed_out(1000 + TX_TIMEOUT_MS - 1));
        assert!(slots.timed_out(1000 + TX_TIMEOUT_MS));
        slots.complete_oldest(60 | TSD_OWN | TSD_TX_OK);
        assert_eq!(slots.deadline_ms(), Some(1500 + TX_TIMEOUT_MS));
        assert!(!slots.timed_out(1000 + TX_TIMEOUT_MS));
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
                    let got = slots.claim(100 + next, 0);
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
