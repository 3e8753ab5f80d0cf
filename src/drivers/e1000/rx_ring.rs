//! The receive descriptor ring: which descriptor the driver reads next, and what it hands back.
//!
//! The ring is an array of descriptors, each pointing at its own 2 KiB buffer. Ownership is
//! told by two registers (SDM 3.2.6): the device owns the descriptors from RDH (head, which it
//! moves) up to, not including, RDT (tail, which the driver moves). RDH == RDT means the device
//! owns none and must drop what arrives, so the driver always keeps one descriptor back: the
//! one at RDT, armed but not yet handed over.
//!
//! ```text
//!   index:   0     1     2     3     4     5     6     7
//!          [done][done][dev ][dev ][dev ][dev ][dev ][kept]
//!            ^ next        ^ RDH (device fills next)      ^ RDT
//!   driver reads `next` while DD is set; recycling re-arms it, and moving RDT onto the
//!   last re-armed descriptor hands the device every one before it.
//! ```
//!
//! RDT is not written for every frame: re-armed descriptors go back a quarter of the ring at
//! a time, or as soon as the driver finds no finished descriptor left. Each RDT write is a
//! register access, and under emulation it runs QEMU's receive logic (which also tries to
//! deliver frames it held back); a bulk download brings hundreds of ACKs whose writes were a
//! sixth of the guest's time (docs/07-e1000.md, "Handing descriptors back in batches"). The
//! device meanwhile works with the other three quarters.
//!
//! A received frame stays in its buffer until the network stack takes it ([`RxRing::poll`],
//! then [`RxRing::recycle`]): the ring itself is the queue, and no copy is needed to make
//! room. This file is pure logic over [`DescriptorRing`]; the host tests drive it against the
//! device model in model.rs.

use super::descriptors::{
    DescriptorRing, RX_ERRORS_FRAME, RX_STATUS_EOP, RxWriteBack, empty_rx_descriptor,
};

/// Destination MAC, source MAC, EtherType: the shortest frame worth passing on.
pub const MIN_FRAME_LEN: usize = 14;
/// The longest frame (CRC stripped) a descriptor may report: 1514 bytes and an 802.1Q tag.
pub const MAX_FRAME_LEN: usize = 1518;

/// What the next finished descriptor holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxEvent {
    /// A whole frame of `len` bytes in descriptor `index`'s buffer.
    Frame { index: usize, len: usize },
    /// Something the driver drops; the descriptor is recycled all the same.
    Dropped(RxDrop),
}

/// Why a finished descriptor is dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RxDrop {
    /// The device flagged the frame (SDM 3.2.3.2).
    Errors(u8),
    /// A piece of a frame that spans descriptors (EOP clear, or the rest after one). With
    /// 2 KiB buffers and RCTL.LPE clear none should appear.
    Fragment,
    /// A length below an Ethernet header or beyond [`MAX_FRAME_LEN`].
    BadLength(u16),
}

/// The driver's side of the receive ring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RxRing {
    len: usize,
    next: usize,
    buffer_base: u64,
    buffer_len: usize,
    /// Inside a frame that spans descriptors: drop until its EOP.
    discarding: bool,
    /// Descriptors re-armed since RDT was last moved: still the driver's, not the device's.
    rearmed: usize,
}

impl RxRing {
    /// A ring of `len` descriptors (a multiple of 8: RDLEN must be a multiple of 128 bytes,
    /// SDM 13.4.28), whose buffers of `buffer_len` bytes follow each other from `buffer_base`.
    pub fn new(len: usize, buffer_base: u64, buffer_len: usize) -> RxRing {
        assert!(len >= 8 && len.is_multiple_of(8) && len <= 65536);
        assert!(buffer_len >= MAX_FRAME_LEN);
        RxRing {
            len,
            next: 0,
            buffer_base,
            buffer_len,
            discarding: false,
            rearmed: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The descriptor the driver reads next; the device's RDH catches up with it when every
    /// received frame has been taken.
    pub fn next_index(&self) -> usize {
        self.next
    }

    /// The physical address of descriptor `index`'s buffer.
    pub fn buffer_address(&self, index: usize) -> u64 {
        self.buffer_base + (index * self.buffer_len) as u64
    }

    /// Arms every descriptor with its buffer, as at start-up (RDH = 0), and returns the first
    /// RDT: `len - 1`, which hands the device all descriptors but the kept one.
    pub fn start(&mut self, ring: &mut impl DescriptorRing) -> u32 {
        assert_eq!(ring.len(), self.len);
        for index in 0..self.len {
            ring.write(index, empty_rx_descriptor(self.buffer_address(index)));
        }
        self.next = 0;
        self.discarding = false;
        self.rearmed = 0;
        (self.len - 1) as u32
    }

    /// What descriptor [`next_index`](Self::next_index) holds, if the device is done with it.
    /// Either way the caller then calls [`recycle`](Self::recycle) (after copying the frame out
    /// of the buffer).
    pub fn poll(&mut self, ring: &impl DescriptorRing) -> Option<RxEvent> {
        let back = RxWriteBack::from_words(ring.read_done(self.next)?);
        let end_of_frame = back.status & RX_STATUS_EOP != 0;
        if self.discarding || !end_of_frame {
            self.discarding = !end_of_frame;
            return Some(RxEvent::Dropped(RxDrop::Fragment));
        }
        if back.errors & RX_ERRORS_FRAME != 0 {
            return Some(RxEvent::Dropped(RxDrop::Errors(back.errors)));
        }
        let len = usize::from(back.length);
        if !(MIN_FRAME_LEN..=MAX_FRAME_LEN.min(self.buffer_len)).contains(&len) {
            return Some(RxEvent::Dropped(RxDrop::BadLength(back.length)));
        }
        Some(RxEvent::Frame {
            index: self.next,
            len,
        })
    }

    /// Re-arms descriptor [`next_index`](Self::next_index) (DD cleared, its own buffer again)
    /// and moves on. Returns the value to write to RDT once a quarter of the ring has been
    /// re-armed: the last re-armed descriptor, which becomes the kept one, so every one before
    /// it goes to the device. Otherwise `None`, and the descriptor waits for the batch or for
    /// [`hand_back`](Self::hand_back).
    pub fn recycle(&mut self, ring: &mut impl DescriptorRing) -> Option<u32> {
        let index = self.next;
        ring.write(index, empty_rx_descriptor(self.buffer_address(index)));
        self.next = (index + 1) % self.len;
        self.rearmed += 1;
        if self.rearmed >= self.handback_batch() {
            self.hand_back()
        } else {
            None
        }
    }

    /// The value for RDT that hands the device every descriptor re-armed since RDT last
    /// moved, if there is any. The driver calls it when it finds no finished descriptor: the
    /// device must own every free descriptor before the driver waits for an interrupt.
    pub fn hand_back(&mut self) -> Option<u32> {
        if self.rearmed == 0 {
            return None;
        }
        self.rearmed = 0;
        Some(((self.next + self.len - 1) % self.len) as u32)
    }

    /// How many descriptors are re-armed and not yet the device's.
    pub fn rearmed(&self) -> usize {
        self.rearmed
    }

    /// A quarter of the ring, at least one.
    fn handback_batch(&self) -> usize {
        (self.len / 4).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::{ModelDevice, ModelRing, frame};
    use super::*;
    use proptest::prelude::*;

    const BUFFERS: u64 = 0x10_0000;

    fn setup(len: usize) -> (RxRing, ModelRing, ModelDevice) {
        let mut rx = RxRing::new(len, BUFFERS, 2048);
        let mut ring = ModelRing::new(len);
        let tail = rx.start(&mut ring);
        let device = ModelDevice {
            tail: tail as usize,
            ..ModelDevice::default()
        };
        (rx, ring, device)
    }

    /// The driver takes one frame, as chip.rs does: poll, copy, recycle, and write RDT when
    /// `recycle` or, with nothing left, `hand_back` says so.
    fn take(rx: &mut RxRing, ring: &mut ModelRing, device: &mut ModelDevice) -> Option<Vec<u8>> {
        loop {
            let Some(event) = rx.poll(ring) else {
                if let Some(tail) = rx.hand_back() {
                    device.tail = tail as usize;
                }
                return None;
            };
            let frame = match event {
                RxEvent::Frame { index, len } => {
                    Some(device.memory[&rx.buffer_address(index)][..len].to_vec())
                }
                RxEvent::Dropped(_) => None,
            };
            if let Some(tail) = rx.recycle(ring) {
                device.tail = tail as usize;
            }
            if frame.is_some() {
                return frame;
            }
        }
    }

    #[test]
    fn start_hands_all_but_one_descriptor_to_the_device() {
        let (rx, ring, device) = setup(8);
        assert_eq!(device.owned(8), 7);
        for index in 0..8 {
            assert_eq!(ring.words[index], [BUFFERS + 2048 * index as u64, 0]);
        }
        assert_eq!(rx.next_index(), 0);
    }

    #[test]
    fn nothing_before_the_device_writes() {
        let (mut rx, ring, _) = setup(8);
        assert_eq!(rx.poll(&ring), None);
    }

    #[test]
    fn a_full_ring_makes_the_device_miss_until_the_driver_recycles() {
        let (mut rx, mut ring, mut device) = setup(8);
        for seed in 0..7 {
            assert!(device.receive(&mut ring, &frame(60, seed)));
        }
        assert!(
            !device.receive(&mut ring, &frame(60, 99)),
            "head caught up with tail"
        );
        assert_eq!(device.missed, 1);
        assert_eq!(take(&mut rx, &mut ring, &mut device), Some(frame(60, 0)));
        assert!(
            !device.receive(&mut ring, &frame(60, 98)),
            "one re-armed descriptor waits for its batch"
        );
        assert_eq!(take(&mut rx, &mut ring, &mut device), Some(frame(60, 1)));
        assert!(
            device.receive(&mut ring, &frame(60, 7)),
            "two descriptors (a quarter of 8) came back"
        );
        assert!(device.receive(&mut ring, &frame(60, 8)));
        assert_eq!(device.missed, 2);
        for seed in 2..9 {
            assert_eq!(take(&mut rx, &mut ring, &mut device), Some(frame(60, seed)));
        }
        assert_eq!(take(&mut rx, &mut ring, &mut device), None);
        assert_eq!(device.owned(8), 7, "a drained ring is the device's again");
        assert_eq!(
            device.head,
            rx.next_index(),
            "RDH caught up with the driver"
        );
    }

    #[test]
    fn frames_wrap_around_the_ring_many_times() {
        let (mut rx, mut ring, mut device) = setup(8);
        for seed in 0..50u8 {
            assert!(device.receive(&mut ring, &frame(14 + usize::from(seed) * 29, seed)));
            assert_eq!(
                take(&mut rx, &mut ring, &mut device),
                Some(frame(14 + usize::from(seed) * 29, seed))
            );
        }
        assert_eq!(device.owned(8), 7);
    }

    #[test]
    fn bad_descriptors_are_dropped_and_recycled() {
        let (mut rx, mut ring, mut device) = setup(8);
        let write = |ring: &mut ModelRing, index: usize, length, status, errors| {
            let back = RxWriteBack {
                length,
                status,
                errors,
            };
            ring.words[index] = back.to_words(BUFFERS + 2048 * index as u64);
        };
        const DD_EOP: u8 = 0b11;
        write(&mut ring, 0, 60, DD_EOP, 0x01);
        write(&mut ring, 1, 10, DD_EOP, 0);
        write(&mut ring, 2, 1600, DD_EOP, 0);
        write(&mut ring, 3, 2048, 0b01, 0); // DD without EOP: the first piece
        write(&mut ring, 4, 100, DD_EOP, 0); // the last piece
        write(&mut ring, 5, 60, DD_EOP, 0);
        let mut events = Vec::new();
        while let Some(event) = rx.poll(&ring) {
            events.push(event);
            if let Some(tail) = rx.recycle(&mut ring) {
                device.tail = tail as usize;
            }
        }
        if let Some(tail) = rx.hand_back() {
            device.tail = tail as usize;
        }
        assert_eq!(
            events,
            [
                RxEvent::Dropped(RxDrop::Errors(0x01)),
                RxEvent::Dropped(RxDrop::BadLength(10)),
                RxEvent::Dropped(RxDrop::BadLength(1600)),
                RxEvent::Dropped(RxDrop::Fragment),
                RxEvent::Dropped(RxDrop::Fragment),
                RxEvent::Frame { index: 5, len: 60 },
            ]
        );
        assert_eq!(
            ring.words[0],
            [BUFFERS, 0],
            "recycled: DD clear, own buffer"
        );
        assert_eq!(device.tail, 5);
    }

    #[test]
    fn descriptors_go_back_a_quarter_of_the_ring_at_a_time() {
        let (mut rx, mut ring, mut device) = setup(64);
        for seed in 0..40 {
            assert!(device.receive(&mut ring, &frame(60, seed)));
        }
        let mut tails = Vec::new();
        for _ in 0..40 {
            let event = rx.poll(&ring);
            assert!(matches!(event, Some(RxEvent::Frame { .. })), "{event:?}");
            tails.extend(rx.recycle(&mut ring));
        }
        assert_eq!(tails, [15, 31], "one RDT write per 16 frames");
        assert_eq!(rx.rearmed(), 8);
        assert_eq!(rx.poll(&ring), None);
        assert_eq!(rx.hand_back(), Some(39), "the rest, once nothing is left");
        assert_eq!(rx.hand_back(), None, "nothing twice");
        device.tail = 39;
        assert_eq!(device.owned(64), 63);
    }

    proptest! {
        /// Against the device model, under any interleaving of arriving frames and the
        /// driver taking them: frames come out whole and in order, a frame arriving while
        /// the device owns no descriptor is missed (and only then), and the device always
        /// owns every descriptor except the kept one, those holding untaken frames and those
        /// re-armed but not yet handed back (fewer than a quarter of the ring).
        #[test]
        fn behaves_like_a_bounded_fifo_against_the_device(
            len in (1usize..5).prop_map(|n| n * 8),
            steps in proptest::collection::vec(proptest::option::of((14usize..=1518, any::<u8>())), 0..300),
        ) {
            let (mut rx, mut ring, mut device) = setup(len);
            let mut waiting = std::collections::VecDeque::new();
            let mut missed = 0;
            for step in steps {
                match step {
                    Some((size, seed)) => {
                        let bytes = frame(size, seed);
                        if device.receive(&mut ring, &bytes) {
                            waiting.push_back(bytes);
                        } else {
                            missed += 1;
                            prop_assert_eq!(waiting.len() + rx.rearmed(), len - 1, "missed with room left");
                        }
                    }
                    None => {
                        prop_assert_eq!(take(&mut rx, &mut ring, &mut device), waiting.pop_front());
                    }
                }
                prop_assert_eq!(device.owned(len), len - 1 - waiting.len() - rx.rearmed());
                prop_assert!(rx.rearmed() < len / 4);
                prop_assert_eq!(device.missed, missed);
            }
        }
    }
}
