//! The card in use as smoltcp sees it: a `phy::Device` that hands out receive tokens for
//! queued frames and transmit tokens while the card has room for a frame.

use super::active;
use crate::trace::{self, Step};
use alloc::vec;
use alloc::vec::Vec;
use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

/// An Ethernet header and a 1500-byte IP packet: smoltcp's MTU counts the header, not the
/// CRC (which the card appends).
const MAX_ETHERNET_FRAME: usize = 14 + 1500;

/// A handle on the card [`active::init`] started (the state lives in that module's static).
#[derive(Debug)]
pub struct NicDevice {
    _private: (),
}

impl NicDevice {
    /// The device, if a card was started.
    pub fn new() -> Option<NicDevice> {
        active::is_present().then_some(NicDevice { _private: () })
    }
}

impl phy::Device for NicDevice {
    type RxToken<'a> = RxToken;
    type TxToken<'a> = TxToken;

    /// The buffer is allocated before the card's lock is taken: `receive` copies with
    /// interrupts off, and locking rule 3 (src/sync/mod.rs) keeps heap work out of such
    /// sections: growing the heap there would hold interrupts off for a bitmap search.
    fn receive(&mut self, _timestamp: Instant) -> Option<(RxToken, TxToken)> {
        let mut frame = vec![0; MAX_ETHERNET_FRAME];
        let len = active::receive(&mut frame)?;
        frame.truncate(len);
        if trace::expects(Step::Smoltcp) && trace::is_request_frame(&frame) {
            trace::step(
                Step::Smoltcp,
                "src/drivers/nic/device.rs NicDevice::receive",
                format_args!("smoltcp takes the frame from the queue (Interface::poll)"),
            );
        }
        Some((RxToken { frame }, TxToken { _private: () }))
    }

    /// No token while the card has no room: smoltcp then keeps the packet and tries again
    /// at its next poll, which a transmit-done interrupt triggers.
    fn transmit(&mut self, _timestamp: Instant) -> Option<TxToken> {
        active::can_transmit().then_some(TxToken { _private: () })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut capabilities = DeviceCapabilities::default();
        capabilities.medium = Medium::Ethernet;
        capabilities.max_transmission_unit = MAX_ETHERNET_FRAME;
        capabilities.max_burst_size = Some(active::transmit_queue_len());
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
    /// smoltcp writes the frame into a buffer of ours, then the driver copies it to the card.
    /// The card's lock is not held while smoltcp writes. If the card has no room (a reply
    /// made while receiving gets its token whether or not it has), the frame waits in the
    /// transmit backlog (src/drivers/nic/tx_backlog.rs); only if that is full too is it
    /// dropped and counted (`tx_dropped_full`).
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut frame = vec![0; len];
        let result = f(&mut frame);
        let _ = active::transmit(&frame);
        result
    }
}
