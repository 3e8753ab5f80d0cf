//! A bounded first-in first-out queue of Ethernet frames in buffers allocated once, up front.
//!
//! Drivers keep frames in it where an interrupt handler and the network stack meet: the
//! RTL8139 copies received frames out of its ring into one (the stack takes them later), and
//! the transmit backlog (src/drivers/nic/tx_backlog.rs) keeps the frames the card had no room
//! for. An interrupt handler must not call the heap allocator (src/sync/mod.rs, locking rule
//! 3), so pushing and popping never allocate: `new` takes all the memory the queue will ever
//! use. A full queue refuses; what to do then (drop and count, or stop taking frames) is the
//! caller's choice.

use alloc::vec;
use alloc::vec::Vec;

/// The largest frame a queue holds, without CRC: 1514 bytes plus a 4-byte 802.1Q tag.
pub const FRAME_BYTES: usize = 1518;

/// The frame did not fit: the queue was full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueFull;

/// A first-in first-out queue of frames in fixed, preallocated buffers.
pub struct FrameQueue {
    buffers: Vec<[u8; FRAME_BYTES]>,
    lengths: Vec<usize>,
    /// The slot of the oldest frame.
    head: usize,
    count: usize,
}

impl FrameQueue {
    /// A queue for up to `capacity` frames (allocates `capacity` × 1518 bytes now).
    pub fn new(capacity: usize) -> FrameQueue {
        assert!(capacity > 0);
        FrameQueue {
            buffers: vec![[0; FRAME_BYTES]; capacity],
            lengths: vec![0; capacity],
            head: 0,
            count: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn is_full(&self) -> bool {
        self.count == self.capacity()
    }

    pub fn capacity(&self) -> usize {
        self.buffers.len()
    }

    /// Adds a frame of `len` bytes (at most [`FRAME_BYTES`]) at the back: `fill` writes it
    /// into the queue's own buffer, so a frame is copied once, from wherever it is (a DMA
    /// ring, a slice). Allocates nothing: safe in an interrupt handler.
    pub fn push(&mut self, len: usize, fill: impl FnOnce(&mut [u8])) -> Result<(), QueueFull> {
        assert!(
            len <= FRAME_BYTES,
            "a {len}-byte frame does not fit a queue buffer"
        );
        if self.is_full() {
            return Err(QueueFull);
        }
        let slot = (self.head + self.count) % self.capacity();
        fill(&mut self.buffers[slot][..len]);
        self.lengths[slot] = len;
        self.count += 1;
        Ok(())
    }

    /// Adds a copy of `frame` at the back.
    pub fn push_copy(&mut self, frame: &[u8]) -> Result<(), QueueFull> {
        self.push(frame.len(), |buffer| buffer.copy_from_slice(frame))
    }

    /// The oldest frame, left in the queue.
    pub fn front(&self) -> Option<&[u8]> {
        (self.count > 0).then(|| &self.buffers[self.head][..self.lengths[self.head]])
    }

    /// Removes the oldest frame and hands its bytes to `consume`.
    pub fn pop<R>(&mut self, consume: impl FnOnce(&[u8]) -> R) -> Option<R> {
        if self.count == 0 {
            return None;
        }
        let slot = self.head;
        self.head = (self.head + 1) % self.capacity();
        self.count -= 1;
        Some(consume(&self.buffers[slot][..self.lengths[slot]]))
    }

    /// Forgets every queued frame.
    pub fn clear(&mut self) {
        self.head = 0;
        self.count = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_come_out_in_order() {
        let mut queue = FrameQueue::new(3);
        queue.push_copy(&[1; 60]).unwrap();
        queue.push_copy(&[2; 70]).unwrap();
        assert_eq!(queue.pop(|f| (f[0], f.len())), Some((1, 60)));
        queue.push_copy(&[3; 80]).unwrap();
        queue.push_copy(&[4; 90]).unwrap();
        assert_eq!(queue.len(), 3);
        assert!(queue.is_full());
        assert_eq!(queue.front(), Some(&[2; 70][..]));
        assert_eq!(queue.pop(|f| (f[0], f.len())), Some((2, 70)));
        assert_eq!(queue.pop(|f| (f[0], f.len())), Some((3, 80)));
        assert_eq!(queue.pop(|f| (f[0], f.len())), Some((4, 90)));
        assert_eq!(queue.pop(|f| f.len()), None);
        assert_eq!(queue.front(), None);
    }

    #[test]
    fn a_full_queue_refuses_without_losing_what_it_holds() {
        let mut queue = FrameQueue::new(2);
        queue.push_copy(&[1; 60]).unwrap();
        queue.push_copy(&[2; 60]).unwrap();
        assert_eq!(queue.push_copy(&[3; 60]), Err(QueueFull));
        let mut filled = false;
        assert_eq!(queue.push(60, |_| filled = true), Err(QueueFull));
        assert!(!filled, "a refused frame is not even copied");
        assert_eq!(queue.pop(|f| f[0]), Some(1));
        assert_eq!(queue.pop(|f| f[0]), Some(2));
    }

    #[test]
    fn push_fills_exactly_the_frame() {
        let mut queue = FrameQueue::new(1);
        queue
            .push(5, |buffer| {
                assert_eq!(buffer.len(), 5);
                buffer.copy_from_slice(&[1, 2, 3, 4, 5]);
            })
            .unwrap();
        assert_eq!(queue.pop(|f| f.to_vec()), Some(vec![1, 2, 3, 4, 5]));
    }

    #[test]
    #[should_panic(expected = "does not fit")]
    fn a_frame_longer_than_a_buffer_is_a_bug() {
        let _ = FrameQueue::new(1).push(FRAME_BYTES + 1, |_| ());
    }

    #[test]
    fn clear_empties_the_queue() {
        let mut queue = FrameQueue::new(2);
        queue.push_copy(&[1; 60]).unwrap();
        queue.clear();
        assert!(queue.is_empty());
        assert_eq!(queue.pop(|f| f.len()), None);
    }

    proptest::proptest! {
        /// Any sequence of pushes and pops behaves like a bounded FIFO of byte strings: what
        /// comes out is what went in, in order; a push to a full queue changes nothing.
        #[test]
        fn behaves_like_a_bounded_fifo(
            capacity in 1usize..6,
            steps in proptest::collection::vec(
                proptest::option::of((1usize..FRAME_BYTES, proptest::prelude::any::<u8>())),
                0..64,
            ),
        ) {
            let mut queue = FrameQueue::new(capacity);
            let mut model: alloc::collections::VecDeque<Vec<u8>> = Default::default();
            for step in steps {
                match step {
                    Some((len, byte)) => {
                        let bytes: Vec<u8> = (0..len).map(|i| byte.wrapping_add(i as u8)).collect();
                        let pushed = queue.push_copy(&bytes);
                        if model.len() < capacity {
                            proptest::prop_assert_eq!(pushed, Ok(()));
                            model.push_back(bytes);
                        } else {
                            proptest::prop_assert_eq!(pushed, Err(QueueFull));
                        }
                    }
                    None => {
                        proptest::prop_assert_eq!(queue.pop(|f| f.to_vec()), model.pop_front());
                    }
                }
                proptest::prop_assert_eq!(queue.len(), model.len());
                proptest::prop_assert_eq!(queue.front().map(|f| f.to_vec()), model.front().cloned());
            }
        }
    }
}
