//! Frames taken out of the receive ring, waiting for the network stack.
//!
//! The interrupt handler empties the chip's ring at once (so that the chip never runs out
//! of room while the stack is busy) and copies each frame here. The queue's buffers are
//! allocated once, up front: an interrupt handler must not call the heap allocator, whose
//! lock the interrupted code may hold. When the queue is full, the newest frame is dropped
//! and counted; TCP retransmits, and the ring keeps moving.

use super::rx_ring::{MAX_FRAME_LEN, RxFrame};
use alloc::vec;
use alloc::vec::Vec;

/// The frame did not fit: the queue was full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxQueueFull;

/// A first-in first-out queue of frames in fixed, preallocated buffers.
pub struct RxQueue {
    buffers: Vec<[u8; MAX_FRAME_LEN]>,
    lengths: Vec<usize>,
    /// The slot of the oldest frame.
    head: usize,
    count: usize,
}

impl RxQueue {
    /// A queue for up to `capacity` frames (allocates `capacity` × 1518 bytes now).
    pub fn new(capacity: usize) -> RxQueue {
        assert!(capacity > 0);
        RxQueue {
            buffers: vec![[0; MAX_FRAME_LEN]; capacity],
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

    pub fn capacity(&self) -> usize {
        self.buffers.len()
    }

    /// Copies `frame` (at most [`MAX_FRAME_LEN`] bytes, which the ring guarantees) to the
    /// back of the queue. Allocates nothing: safe in an interrupt handler.
    pub fn push(&mut self, frame: &RxFrame) -> Result<(), RxQueueFull> {
        if self.count == self.capacity() {
            return Err(RxQueueFull);
        }
        let slot = (self.head + self.count) % self.capacity();
        frame.copy_to(&mut self.buffers[slot]);
        self.lengths[slot] = frame.len();
        self.count += 1;
        Ok(())
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

    fn whole(bytes: &[u8]) -> RxFrame<'_> {
        RxFrame {
            head: bytes,
            tail: &[],
        }
    }

    #[test]
    fn frames_come_out_in_order() {
        let mut queue = RxQueue::new(3);
        queue.push(&whole(&[1; 60])).unwrap();
        queue.push(&whole(&[2; 70])).unwrap();
        assert_eq!(queue.pop(|f| (f[0], f.len())), Some((1, 60)));
        queue.push(&whole(&[3; 80])).unwrap();
        queue.push(&whole(&[4; 90])).unwrap();
        assert_eq!(queue.len(), 3);
        assert_eq!(queue.pop(|f| (f[0], f.len())), Some((2, 70)));
        assert_eq!(queue.pop(|f| (f[0], f.len())), Some((3, 80)));
        assert_eq!(queue.pop(|f| (f[0], f.len())), Some((4, 90)));
        assert_eq!(queue.pop(|f| f.len()), None);
    }

    #[test]
    fn a_full_queue_refuses_without_losing_what_it_holds() {
        let mut queue = RxQueue::new(2);
        queue.push(&whole(&[1; 60])).unwrap();
        queue.push(&whole(&[2; 60])).unwrap();
        assert_eq!(queue.push(&whole(&[3; 60])), Err(RxQueueFull));
        assert_eq!(queue.pop(|f| f[0]), Some(1));
        assert_eq!(queue.pop(|f| f[0]), Some(2));
    }

    #[test]
    fn split_frames_are_joined() {
        let mut queue = RxQueue::new(1);
        queue
            .push(&RxFrame {
                head: &[1, 2, 3],
                tail: &[4, 5],
            })
            .unwrap();
        assert_eq!(queue.pop(|f| f.to_vec()), Some(vec![1, 2, 3, 4, 5]));
    }

    #[test]
    fn clear_empties_the_queue() {
        let mut queue = RxQueue::new(2);
        queue.push(&whole(&[1; 60])).unwrap();
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
                proptest::option::of((1usize..MAX_FRAME_LEN, 1usize..MAX_FRAME_LEN, proptest::prelude::any::<u8>())),
                0..64,
            ),
        ) {
            let mut queue = RxQueue::new(capacity);
            let mut model: alloc::collections::VecDeque<Vec<u8>> = Default::default();
            for step in steps {
                match step {
                    Some((len, split, byte)) => {
                        let bytes: Vec<u8> = (0..len).map(|i| byte.wrapping_add(i as u8)).collect();
                        let (head, tail) = bytes.split_at(split.min(len));
                        let pushed = queue.push(&RxFrame { head, tail });
                        if model.len() < capacity {
                            proptest::prop_assert_eq!(pushed, Ok(()));
                            model.push_back(bytes);
                        } else {
                            proptest::prop_assert_eq!(pushed, Err(RxQueueFull));
                        }
                    }
                    None => {
                        proptest::prop_assert_eq!(queue.pop(|f| f.to_vec()), model.pop_front());
                    }
                }
                proptest::prop_assert_eq!(queue.len(), model.len());
            }
        }
    }
}
