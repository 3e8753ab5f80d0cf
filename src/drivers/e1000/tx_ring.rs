//! The transmit descriptor ring: where the next frame goes, and which frames the device has
//! finished with.
//!
//! The driver fills descriptors at the tail (TDT) and the device sends them from the head
//! (TDH), moving it on (SDM 3.4). TDH == TDT means there is nothing to send, so the driver
//! may fill at most `len - 1` descriptors: filling the last one would make TDT catch up with
//! TDH, and the device would see an empty ring instead of a full one.
//!
//! ```text
//!   index:   0     1     2     3     4     5     6     7
//!          [free][sent][sent][queued][queued][free][free][free]
//!                  ^ clean         ^ TDH            ^ TDT = tail (filled next)
//!   every descriptor asks for a report (RS): the device sets DD once it is sent, and the
//!   driver frees descriptors from `clean` on while DD is set.
//! ```
//!
//! Every descriptor has its own buffer (one frame each: EOP set), so a frame is copied once,
//! from the stack's buffer into the descriptor's. Pure logic over [`DescriptorRing`], tested
//! on the host against the device model in model.rs.

use super::descriptors::{DescriptorRing, tx_descriptor};
use alloc::vec;
use alloc::vec::Vec;

/// TX STA bit 1, EC (excess collisions) and bit 2, LC (late collision): the frame was not
/// sent (SDM 3.3.3.2). Only possible in half duplex.
pub const TX_STATUS_FAILED: u8 = (1 << 1) | (1 << 2);

/// What [`TxRing::reclaim`] freed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reclaimed {
    pub sent: u64,
    pub bytes: u64,
    pub failed: u64,
}

/// The driver's side of the transmit ring.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxRing {
    len: usize,
    /// The descriptor filled next; TDT after each submit.
    tail: usize,
    /// The oldest descriptor not yet seen done.
    clean: usize,
    in_flight: usize,
    buffer_base: u64,
    buffer_len: usize,
    lengths: Vec<u16>,
}

impl TxRing {
    /// A ring of `len` descriptors (a multiple of 8, SDM 13.4.40) whose buffers of
    /// `buffer_len` bytes follow each other from `buffer_base`. Allocates its bookkeeping now.
    pub fn new(len: usize, buffer_base: u64, buffer_len: usize) -> TxRing {
        assert!(len >= 8 && len.is_multiple_of(8) && len <= 65536);
        TxRing {
            len,
            tail: 0,
            clean: 0,
            in_flight: 0,
            buffer_base,
            buffer_len,
            lengths: vec![0; len],
        }
    }

    /// Clears every descriptor, as at start-up (TDH = TDT = 0).
    pub fn start(&mut self, ring: &mut impl DescriptorRing) {
        assert_eq!(ring.len(), self.len);
        for index in 0..self.len {
            ring.write(index, [0, 0]);
        }
        self.tail = 0;
        self.clean = 0;
        self.in_flight = 0;
    }

    /// How many frames can be on their way at once.
    pub fn capacity(&self) -> usize {
        self.len - 1
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    pub fn is_full(&self) -> bool {
        self.in_flight == self.capacity()
    }

    /// The value TDT has after the last submit; TDH reaches it when all is sent.
    pub fn tail(&self) -> usize {
        self.tail
    }

    /// Where the next frame goes: its descriptor's index and buffer address, if there is room.
    pub fn next_buffer(&self) -> Option<(usize, u64)> {
        (!self.is_full()).then(|| {
            (
                self.tail,
                self.buffer_base + (self.tail * self.buffer_len) as u64,
            )
        })
    }

    /// Writes the descriptor for a frame of `len` bytes already copied into
    /// [`next_buffer`](Self::next_buffer), and returns the value for TDT.
    pub fn submit(&mut self, ring: &mut impl DescriptorRing, len: u16) -> u32 {
        let (index, buffer) = self.next_buffer().expect("submit without room");
        assert!(usize::from(len) <= self.buffer_len);
        ring.write(index, tx_descriptor(buffer, len));
        self.lengths[index] = len;
        self.tail = (index + 1) % self.len;
        self.in_flight += 1;
        self.tail as u32
    }

    /// Frees, oldest first, the descriptors the device has set DD in.
    pub fn reclaim(&mut self, ring: &impl DescriptorRing) -> Reclaimed {
        let mut done = Reclaimed::default();
        while self.in_flight > 0 {
            let Some(words) = ring.read_done(self.clean) else {
                break;
            };
            if (words[1] >> 32) as u8 & TX_STATUS_FAILED != 0 {
                done.failed += 1;
            } else {
                done.sent += 1;
                done.bytes += u64::from(self.lengths[self.clean]);
            }
            self.clean = (self.clean + 1) % self.len;
            self.in_flight -= 1;
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::super::model::{ModelDevice, ModelRing, frame};
    use super::*;
    use proptest::prelude::*;

    const BUFFERS: u64 = 0x20_0000;

    fn setup(len: usize) -> (TxRing, ModelRing, ModelDevice) {
        let mut tx = TxRing::new(len, BUFFERS, 2048);
        let mut ring = ModelRing::new(len);
        tx.start(&mut ring);
        (tx, ring, ModelDevice::default())
    }

    /// The driver queues one frame as chip.rs does: copy into the buffer, submit, write TDT.
    fn send(tx: &mut TxRing, ring: &mut ModelRing, device: &mut ModelDevice, bytes: &[u8]) -> bool {
        let Some((_, buffer)) = tx.next_buffer() else {
            return false;
        };
        device.memory.insert(buffer, bytes.to_vec());
        device.tail = tx.submit(ring, bytes.len() as u16) as usize;
        true
    }

    #[test]
    fn one_descriptor_stays_unused_so_that_full_is_not_empty() {
        let (mut tx, mut ring, mut device) = setup(8);
        for seed in 0..7 {
            assert!(send(&mut tx, &mut ring, &mut device, &frame(60, seed)));
        }
        assert!(tx.is_full());
        assert!(!send(&mut tx, &mut ring, &mut device, &frame(60, 7)));
        assert_eq!(device.owned(8), 7, "TDT did not catch up with TDH");
        device.transmit_all(&mut ring);
        assert_eq!(device.sent.len(), 7);
        let done = tx.reclaim(&ring);
        assert_eq!(
            done,
            Reclaimed {
                sent: 7,
                bytes: 420,
                failed: 0
            }
        );
        assert_eq!(tx.in_flight(), 0);
    }

    #[test]
    fn nothing_is_reclaimed_before_the_device_sends() {
        let (mut tx, mut ring, mut device) = setup(8);
        send(&mut tx, &mut ring, &mut device, &frame(100, 1));
        assert_eq!(tx.reclaim(&ring), Reclaimed::default());
        assert_eq!(tx.in_flight(), 1);
    }

    #[test]
    fn failed_frames_are_freed_and_counted() {
        let (mut tx, mut ring, mut device) = setup(8);
        send(&mut tx, &mut ring, &mut device, &frame(100, 1));
        device.transmit_all(&mut ring);
        ring.words[0][1] |= 1 << 33; // EC
        assert_eq!(
            tx.reclaim(&ring),
            Reclaimed {
                sent: 0,
                bytes: 0,
                failed: 1
            }
        );
    }

    #[test]
    fn a_stale_dd_bit_from_the_last_lap_is_not_taken_for_a_new_frame() {
        let (mut tx, mut ring, mut device) = setup(8);
        for seed in 0..8 {
            send(&mut tx, &mut ring, &mut device, &frame(60, seed));
            device.transmit_all(&mut ring);
            tx.reclaim(&ring);
        }
        // Descriptor 0 was sent on the first lap; its DD must be gone once it is refilled.
        send(&mut tx, &mut ring, &mut device, &frame(60, 9));
        assert_eq!(tx.reclaim(&ring), Reclaimed::default());
    }

    proptest! {
        /// Against the device model, under any interleaving of frames queued, the device
        /// sending and the driver reclaiming: everything queued is sent once, whole and in
        /// order; at most len - 1 are in flight; and what is reclaimed is what was sent.
        #[test]
        fn sends_everything_in_order_against_the_device(
            len in (1usize..5).prop_map(|n| n * 8),
            steps in proptest::collection::vec(0u8..3, 0..300),
        ) {
            let (mut tx, mut ring, mut device) = setup(len);
            let (mut queued, mut reclaimed) = (Vec::new(), 0);
            for (n, step) in steps.into_iter().enumerate() {
                match step {
                    0 => {
                        let bytes = frame(14 + n % 1500, n as u8);
                        let room = tx.in_flight() < len - 1;
                        prop_assert_eq!(send(&mut tx, &mut ring, &mut device, &bytes), room);
                        if room {
                            queued.push(bytes);
                        }
                    }
                    1 => device.transmit_all(&mut ring),
                    _ => reclaimed += tx.reclaim(&ring).sent,
                }
                prop_assert!(tx.in_flight() < len);
                prop_assert_eq!(device.owned(len), queued.len() - device.sent.len());
                prop_assert_eq!(&device.sent[..], &queued[..device.sent.len()]);
                prop_assert!(reclaimed as usize <= device.sent.len());
            }
            device.transmit_all(&mut ring);
            reclaimed += tx.reclaim(&ring).sent;
            prop_assert_eq!(device.sent, queued.clone());
            prop_assert_eq!(reclaimed as usize, queued.len());
            prop_assert_eq!(tx.in_flight(), 0);
        }
    }
}
