//! The transmit backlog: a few frames kept for the card while all its transmit buffers are
//! busy, sent as soon as it frees one.
//!
//! smoltcp sends two kinds of frames. What sockets send (egress) waits politely: the stack
//! lets smoltcp's egress run only while the card has room (`Stack::egress`, which asks
//! `NicDevice::has_room` before each round; a round may still send one frame per socket beyond
//! it). But a reply made while *receiving* (an ARP reply, a TCP RST or ACK, an ICMP error) is
//! written with the token that came with the received frame, whether or not the card has
//! room, and smoltcp does not keep it if the card refuses. A card with four transmit
//! buffers (the RTL8139) is full after four frames; without a backlog, the fifth reply in a
//! burst would be lost without a trace, and a peer waiting for an ARP reply would wait for its
//! own timeout.
//!
//! So every frame goes through [`TxBacklog::transmit_with`]: smoltcp writes it straight into
//! the card's transmit buffer when the backlog is empty and the card has room, otherwise into
//! a buffer at the back of the backlog, in order (written once either way).
//! [`TxBacklog::flush`] moves frames on to the card; the card's interrupt calls it (a transmit
//! buffer came free), and so does every send. The backlog is small and preallocated
//! ([`TX_BACKLOG_FRAMES`] frames): when it is full too, the frame is dropped and counted
//! (`tx_dropped_full`); every frame that had to wait is counted as well (`tx_backlogged`).
//!
//! It lives here, above the drivers, so every card gets it. It is pure logic over the
//! [`NetworkCard`] trait, so the host tests drive it with a card of their own.

use super::card::{NetworkCard, TxError};
use super::frame_queue::{FRAME_BYTES, FrameQueue};
use super::stats::NicStats;

/// Frames the backlog holds: two bursts of a four-buffer card.
pub const TX_BACKLOG_FRAMES: usize = 8;

/// Frames waiting for the card, and what became of those that had to wait.
pub struct TxBacklog {
    waiting: FrameQueue,
    /// Frames that went through the backlog.
    backlogged: u64,
    /// Frames dropped because the card and the backlog were both full, or the card refused
    /// a frame from the backlog for good.
    dropped: u64,
}

impl Default for TxBacklog {
    fn default() -> Self {
        Self::new()
    }
}

impl TxBacklog {
    /// An empty backlog (allocates its buffers now).
    pub fn new() -> TxBacklog {
        TxBacklog {
            waiting: FrameQueue::new(TX_BACKLOG_FRAMES),
            backlogged: 0,
            dropped: 0,
        }
    }

    /// Frames waiting.
    pub fn len(&self) -> usize {
        self.waiting.len()
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Sends `frame` through `card`, or keeps it until the card has room
    /// ([`transmit_with`](Self::transmit_with), with a copy of `frame`).
    pub fn transmit(&mut self, card: &mut dyn NetworkCard, frame: &[u8]) -> Result<(), TxError> {
        self.transmit_with(card, frame.len(), &mut |buffer| {
            buffer.copy_from_slice(frame)
        })
    }

    /// Sends a frame of `len` bytes that `fill` writes: into the card's own transmit buffer
    /// (`NetworkCard::transmit_with`) when nothing waits and the card has room, or else into
    /// the backlog's next buffer, to go when the card has room. Frames leave in the order
    /// they came: a new frame waits behind the backlog. `Err(Busy)` only when the frame had to
    /// be dropped; errors that are about the frame itself (too long, too short) come straight
    /// from the card. As with the card, `fill` runs at most once, and has run if `Ok`.
    pub fn transmit_with(
        &mut self,
        card: &mut dyn NetworkCard,
        len: usize,
        fill: &mut dyn FnMut(&mut [u8]),
    ) -> Result<(), TxError> {
        self.flush(card);
        if self.waiting.is_empty() {
            match card.transmit_with(len, fill) {
                Err(TxError::Busy) => {}
                done => return done,
            }
        }
        // Zeros first, as a card gives them (`NetworkCard::transmit_with`): the buffer holds
        // an older frame.
        let zeroed_then_filled = |buffer: &mut [u8]| {
            buffer.fill(0);
            fill(buffer)
        };
        if len <= FRAME_BYTES && self.waiting.push(len, zeroed_then_filled).is_ok() {
            self.backlogged += 1;
            return Ok(());
        }
        self.dropped += 1;
        Err(TxError::Busy)
    }

    /// Hands waiting frames to the card, oldest first, until it is full or the backlog
    /// empty. Allocates nothing: the card's interrupt handler calls it.
    pub fn flush(&mut self, card: &mut dyn NetworkCard) {
        while let Some(frame) = self.waiting.front() {
            match card.transmit(frame) {
                Err(TxError::Busy) => return,
                Ok(()) => {}
                // The card refuses the frame itself (or is gone): it would never leave.
                Err(_) => self.dropped += 1,
            }
            self.waiting.pop(|_| ());
        }
    }

    /// Whether a new frame would go straight to the card: nothing waits, and it has room.
    pub fn can_transmit(&mut self, card: &mut dyn NetworkCard) -> bool {
        self.flush(card);
        self.waiting.is_empty() && card.can_transmit()
    }

    /// Adds the backlog's counts to a card's counters.
    pub fn add_counts(&self, stats: &mut NicStats) {
        stats.tx_backlogged += self.backlogged;
        stats.tx_dropped_full += self.dropped;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::any::Any;

    /// A card with `room` transmit buffers that frees them only when told.
    #[derive(Default)]
    struct FakeCard {
        room: usize,
        sent: Vec<Vec<u8>>,
        in_flight: usize,
    }

    impl FakeCard {
        fn with_room(room: usize) -> FakeCard {
            FakeCard {
                room,
                ..FakeCard::default()
            }
        }

        /// The transmit-done interrupt: every buffer is free again.
        fn finish_all(&mut self) {
            self.in_flight = 0;
        }
    }

    impl NetworkCard for FakeCard {
        fn mac(&self) -> [u8; 6] {
            [2, 0, 0, 0, 0, 1]
        }
        fn enable_interrupts(&mut self) {}
        fn service_interrupt(&mut self) -> bool {
            false
        }
        fn transmit_with(
            &mut self,
            len: usize,
            fill: &mut dyn FnMut(&mut [u8]),
        ) -> Result<(), TxError> {
            if len > FRAME_BYTES {
                return Err(TxError::TooLong);
            }
            if self.in_flight == self.room {
                return Err(TxError::Busy);
            }
            let mut frame = vec![0; len];
            fill(&mut frame);
            self.in_flight += 1;
            self.sent.push(frame);
            Ok(())
        }
        fn can_transmit(&mut self) -> bool {
            self.in_flight < self.room
        }
        fn transmit_queue_len(&self) -> usize {
            self.room
        }
        fn receive(&mut self, _out: &mut [u8]) -> Option<usize> {
            None
        }
        fn discard_received(&mut self) {}
        fn stats(&mut self) -> NicStats {
            NicStats::default()
        }
        fn as_any_mut(&mut self) -> &mut dyn Any {
            self
        }
    }

    fn frame(n: u8) -> Vec<u8> {
        vec![n; 60]
    }

    #[test]
    fn frames_go_straight_to_a_card_with_room() {
        let (mut card, mut backlog) = (FakeCard::with_room(4), TxBacklog::new());
        for n in 0..4 {
            backlog.transmit(&mut card, &frame(n)).unwrap();
        }
        assert_eq!(card.sent.len(), 4);
        assert!(backlog.is_empty());
        let mut stats = NicStats::default();
        backlog.add_counts(&mut stats);
        assert_eq!((stats.tx_backlogged, stats.tx_dropped_full), (0, 0));
    }

    /// Replies made while receiving, more than the card's four buffers: none is lost, they
    /// leave in order once the card frees buffers, and only what exceeds the backlog too is
    /// dropped, and counted.
    #[test]
    fn a_burst_past_the_cards_buffers_waits_in_order_and_the_excess_is_counted() {
        let (mut card, mut backlog) = (FakeCard::with_room(4), TxBacklog::new());
        let burst = 4 + TX_BACKLOG_FRAMES + 2;
        let results: Vec<_> = (0..burst as u8)
            .map(|n| backlog.transmit(&mut card, &frame(n)))
            .collect();
        assert!(results[..4 + TX_BACKLOG_FRAMES].iter().all(Result::is_ok));
        assert_eq!(results[4 + TX_BACKLOG_FRAMES..], [Err(TxError::Busy); 2]);
        assert_eq!(backlog.len(), TX_BACKLOG_FRAMES);
        assert!(!backlog.can_transmit(&mut card));
        while !backlog.is_empty() {
            card.finish_all();
            backlog.flush(&mut card);
        }
        let order: Vec<u8> = card.sent.iter().map(|f| f[0]).collect();
        assert_eq!(
            order,
            (0..(4 + TX_BACKLOG_FRAMES) as u8).collect::<Vec<_>>()
        );
        let mut stats = NicStats::default();
        backlog.add_counts(&mut stats);
        assert_eq!(stats.tx_backlogged, TX_BACKLOG_FRAMES as u64);
        assert_eq!(stats.tx_dropped_full, 2);
        card.finish_all();
        assert!(backlog.can_transmit(&mut card));
    }

    #[test]
    fn a_new_frame_never_overtakes_the_backlog() {
        let (mut card, mut backlog) = (FakeCard::with_room(1), TxBacklog::new());
        backlog.transmit(&mut card, &frame(1)).unwrap();
        backlog.transmit(&mut card, &frame(2)).unwrap();
        backlog.transmit(&mut card, &frame(3)).unwrap();
        card.finish_all();
        // The card has room again, but frame 2 waited first.
        backlog.transmit(&mut card, &frame(4)).unwrap();
        card.finish_all();
        backlog.flush(&mut card);
        card.finish_all();
        backlog.flush(&mut card);
        let order: Vec<u8> = card.sent.iter().map(|f| f[0]).collect();
        assert_eq!(order, [1, 2, 3, 4]);
    }

    /// A frame made in place (as smoltcp makes them) is written once: into the card's buffer
    /// when it has room, into the backlog's while it has none; a frame refused by both is
    /// never written at all, so its maker knows it still has it to make.
    #[test]
    fn a_frame_made_in_place_is_written_once_where_it_waits_or_not_at_all() {
        let (mut card, mut backlog) = (FakeCard::with_room(1), TxBacklog::new());
        let mut calls = 0;
        let send = |backlog: &mut TxBacklog, card: &mut FakeCard, byte: u8, calls: &mut usize| {
            backlog.transmit_with(card, 60, &mut |buffer| {
                *calls += 1;
                buffer.fill(byte);
            })
        };
        assert_eq!(send(&mut backlog, &mut card, 1, &mut calls), Ok(()));
        assert_eq!((calls, card.sent.len()), (1, 1), "straight to the card");
        for n in 0..TX_BACKLOG_FRAMES as u8 {
            assert_eq!(send(&mut backlog, &mut card, 2 + n, &mut calls), Ok(()));
        }
        assert_eq!(
            calls,
            1 + TX_BACKLOG_FRAMES,
            "each written once, in the backlog"
        );
        assert_eq!(
            send(&mut backlog, &mut card, 0xee, &mut calls),
            Err(TxError::Busy)
        );
        assert_eq!(
            calls,
            1 + TX_BACKLOG_FRAMES,
            "a dropped frame is never written"
        );
        let mut long_calls = 0;
        assert_eq!(
            TxBacklog::new().transmit_with(
                &mut FakeCard::with_room(1),
                FRAME_BYTES + 1,
                &mut |_| { long_calls += 1 }
            ),
            Err(TxError::TooLong)
        );
        assert_eq!(long_calls, 0);
        while !backlog.is_empty() {
            card.finish_all();
            backlog.flush(&mut card);
        }
        let bytes: Vec<u8> = card.sent.iter().map(|f| f[0]).collect();
        assert_eq!(bytes, (1..2 + TX_BACKLOG_FRAMES as u8).collect::<Vec<_>>());
        assert!(
            card.sent
                .iter()
                .all(|f| f.len() == 60 && f.iter().all(|&b| b == f[0]))
        );
    }

    /// The buffers of the backlog are reused, but a frame made in one never sees the older
    /// frame's bytes: it gets zeros, as from a card, and what it does not write stays zero.
    #[test]
    fn a_frame_made_in_the_backlog_starts_from_zeros() {
        let (mut card, mut backlog) = (FakeCard::with_room(1), TxBacklog::new());
        backlog.transmit(&mut card, &[0xaa; 60]).unwrap();
        for _ in 0..2 {
            for _ in 0..TX_BACKLOG_FRAMES {
                backlog.transmit(&mut card, &[0xaa; 100]).unwrap();
            }
            while !backlog.is_empty() {
                card.finish_all();
                backlog.flush(&mut card);
            }
        }
        backlog.transmit(&mut card, &[0xaa; 100]).unwrap();
        let mut seen_only_zeros = true;
        backlog
            .transmit_with(&mut card, 80, &mut |buffer| {
                seen_only_zeros = buffer.iter().all(|&b| b == 0);
                buffer[..14].fill(0x11);
            })
            .unwrap();
        assert!(seen_only_zeros);
        while !backlog.is_empty() {
            card.finish_all();
            backlog.flush(&mut card);
        }
        let last = card.sent.last().unwrap();
        assert_eq!((&last[..14], &last[14..]), (&[0x11; 14][..], &[0; 66][..]));
    }

    #[test]
    fn errors_about_the_frame_itself_are_not_backlogged() {
        let (mut card, mut backlog) = (FakeCard::with_room(4), TxBacklog::new());
        assert_eq!(
            backlog.transmit(&mut card, &[0; 1700]),
            Err(TxError::TooLong)
        );
        assert!(backlog.is_empty());
    }
}
