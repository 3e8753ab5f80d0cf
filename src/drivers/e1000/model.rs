//! A model of the e1000's side of the descriptor rings, for the host tests of rx_ring.rs and
//! tx_ring.rs: what the device does with head and tail (SDM 3.2.6 and 3.4).
//!
//! - Receive: the device owns the descriptors from RDH up to, not including, RDT. For each
//!   frame it takes descriptor RDH, writes the frame into its buffer, writes length and status
//!   (DD, EOP) back, and moves RDH on by one, wrapping at the end of the ring. RDH == RDT means
//!   it owns none: the frame is missed (a real chip counts it in MPC/RNBC).
//! - Transmit: the device sends the descriptors from TDH up to TDT, sets DD in those with RS,
//!   and moves TDH on; TDH == TDT means nothing to send.
//!
//! Buffers live in a map from address to bytes, like a tiny physical memory.

use super::descriptors::{
    DescriptorRing, RX_STATUS_EOP, RxWriteBack, STATUS_DD, TX_CMD_EOP, TX_CMD_RS,
    decode_tx_descriptor,
};
use std::collections::BTreeMap;

/// Descriptor memory: plain words (the model has no concurrency, so no fences).
#[derive(Debug, Clone)]
pub struct ModelRing {
    pub words: Vec<[u64; 2]>,
}

impl ModelRing {
    pub fn new(len: usize) -> ModelRing {
        ModelRing {
            words: vec![[0xdead_beef, u64::MAX]; len],
        }
    }
}

impl DescriptorRing for ModelRing {
    fn len(&self) -> usize {
        self.words.len()
    }

    fn read_done(&self, index: usize) -> Option<[u64; 2]> {
        let words = self.words[index];
        ((words[1] >> 32) as u8 & STATUS_DD != 0).then_some(words)
    }

    fn write(&mut self, index: usize, words: [u64; 2]) {
        self.words[index] = words;
    }
}

/// The device: its head and tail registers and the memory it reaches by DMA.
#[derive(Debug, Clone, Default)]
pub struct ModelDevice {
    pub head: usize,
    pub tail: usize,
    pub memory: BTreeMap<u64, Vec<u8>>,
    /// Frames dropped for want of a descriptor.
    pub missed: usize,
    /// Frames sent, in order.
    pub sent: Vec<Vec<u8>>,
}

impl ModelDevice {
    /// Receives `frame` into the next descriptor it owns; false if it owns none.
    pub fn receive(&mut self, ring: &mut ModelRing, frame: &[u8]) -> bool {
        if self.head == self.tail {
            self.missed += 1;
            return false;
        }
        let buffer = ring.words[self.head][0];
        let bytes = self.memory.entry(buffer).or_insert_with(|| vec![0; 2048]);
        assert!(frame.len() <= bytes.len(), "the buffer is too small");
        bytes[..frame.len()].copy_from_slice(frame);
        let back = RxWriteBack {
            length: frame.len() as u16,
            status: STATUS_DD | RX_STATUS_EOP,
            errors: 0,
        };
        ring.words[self.head] = back.to_words(buffer);
        self.head = (self.head + 1) % ring.words.len();
        true
    }

    /// Sends every queued descriptor, as the device does after a TDT write.
    pub fn transmit_all(&mut self, ring: &mut ModelRing) {
        let mut frame = Vec::new();
        while self.head != self.tail {
            let (buffer, length, command, _) = decode_tx_descriptor(ring.words[self.head]);
            let bytes = &self.memory[&buffer];
            frame.extend_from_slice(&bytes[..usize::from(length)]);
            if command & TX_CMD_EOP != 0 {
                self.sent.push(core::mem::take(&mut frame));
            }
            if command & TX_CMD_RS != 0 {
                ring.words[self.head][1] |= u64::from(STATUS_DD) << 32;
            }
            self.head = (self.head + 1) % ring.words.len();
        }
    }

    /// How many descriptors the device owns (between head and tail).
    pub fn owned(&self, len: usize) -> usize {
        (self.tail + len - self.head) % len
    }
}

/// A recognisable frame: a broadcast header then a counting pattern seeded by `seed`.
pub fn frame(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            if i < 6 {
                0xff
            } else {
                seed.wrapping_add(i as u8)
            }
        })
        .collect()
}
