//! The driver as smoltcp sees it: a `phy::Device` that hands out receive tokens for queued
//! frames and transmit tokens while a transmit slot is free.

use super::tx_slots::TX_SLOT_COUNT;
use alloc::vec;
use alloc::vec::Vec;
use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

/// An Ethernet header and a 1500-byte IP packet: smoltcp's MTU counts the header, not the
/// CRC (which the chip appends).
const MAX_ETHERNET_FRAME: usize = 14 + 1500;

/// A handle on the one RTL8139 (the state lives in the driver's static).
#[derive(Debug)]
pub struct Rtl8139Device {
    _private: (),
}

impl Rtl8139Device {
    /// The device, if [`super::init`] started a NIC.
    pub fn new() -> Option<Rtl8139Device> {
        super::is_present().then_some(Rtl8139Device { _private: () })
    }
}

impl phy::Device for Rtl8139Device {
    type RxToken<'a> = RxToken;
    type TxToken<'a> = TxToken;

    /// The buffer is allocated before the driver lock is taken: `receive` runs its closure
    /// with interrupts off, and locking rule 3 (src/sync/mod.rs) keeps heap work out of
    /// such sections: growing the heap there would hold interrupts off for a bitmap search.
    fn receive(&mut self, _timestamp: Instant) -> Option<(RxToken, TxToken)> {
        let mut frame = vec![0; MAX_ETHERNET_FRAME];
        let len = super::receive(|bytes| {
            let len = bytes.len().min(frame.len());
            frame[..len].copy_from_slice(&bytes[..len]);
            len
        })?;
        frame.truncate(len);
        Some((RxToken { frame }, TxToken { _private: () }))
    }

    /// No token while all four slots are busy: smoltcp then keeps the packet and tries
    /// again at its next poll, which a TOK interrupt triggers.
    fn transmit(&mut self, _timestamp: Instant) -> Option<TxToken> {
        super::can_transmit().then_some(TxToken { _private: () })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut capabilities = DeviceCapabilities::default();
        capabilities.medium = Medium::Ethernet;
        capabilities.max_transmission_unit = MAX_ETHERNET_FRAME;
        capabilities.max_burst_size = Some(TX_SLOT_COUNT);
        capabilities
    }
}

/// A received frame, copied out of the driver's queue.
pub struct RxToken {
    frame: Vec<u8>,
}

impl phy::RxToken for RxToken {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(&self.frame)
    }
}

/// Permission to send one frame.
pub struct TxToken {
    _private: (),
}

impl phy::TxToken for TxToken {
    /// smoltcp writes the frame into a buffer of ours, then the driver copies it into the
    /// next slot. The driver lock is not held while smoltcp writes. If the slot was taken
    /// meanwhile, the frame is dropped and counted (`tx_dropped_full`); TCP resends it.
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = vec![0; len];
        let result = f(&mut frame);
        let _ = super::transmit(&frame);
        result
    }
}
