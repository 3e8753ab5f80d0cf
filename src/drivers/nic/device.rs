//! The card in use as smoltcp sees it: a `phy::Device` that hands out receive tokens for
//! queued frames, and transmit tokens always (the stack asks `has_room` before sending).
//!
//! No frame is built or copied twice on the way. smoltcp writes each frame it sends straight
//! into the card's transmit buffer (`TxToken::consume`, through `nic::transmit_with`), and
//! each received frame is copied once, from the driver into one buffer that the device keeps
//! for the purpose and lends to smoltcp (`RxToken`): no allocation per frame, and no zeroing
//! of bytes that the copy overwrites anyway.

use super::active;
use crate::trace::{self, Step};
use alloc::boxed::Box;
use alloc::vec;
use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

/// An Ethernet header and a 1500-byte IP packet: smoltcp's MTU counts the header, not the
/// CRC (which the card appends).
const MAX_ETHERNET_FRAME: usize = 14 + 1500;

/// A handle on the card [`active::init`] started (the state lives in that module's static),
/// and the buffer received frames are copied into.
#[derive(Debug)]
pub struct NicDevice {
    received: Box<[u8; MAX_ETHERNET_FRAME]>,
}

impl NicDevice {
    /// The device, if a card was started.
    pub fn new() -> Option<NicDevice> {
        active::is_present().then(|| NicDevice {
            received: Box::new([0; MAX_ETHERNET_FRAME]),
        })
    }
}

impl NicDevice {
    /// Whether a frame sent now would go straight to the card (nothing waits in the transmit
    /// backlog and the card has a free buffer).
    pub fn has_room(&mut self) -> bool {
        active::can_transmit()
    }
}

impl phy::Device for NicDevice {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken;

    /// Copies the oldest frame the driver holds into the device's buffer, which the token
    /// lends to smoltcp until it has processed the frame. The buffer was allocated once, with
    /// the device: `receive` copies with interrupts off, and locking rule 3 (src/sync/mod.rs)
    /// keeps heap work out of such sections. Only the frame's own bytes are ever read: what
    /// lies beyond them, left from a longer frame, is never lent.
    fn receive(&mut self, _timestamp: Instant) -> Option<(RxToken<'_>, TxToken)> {
        let len = active::receive(&mut self.received[..])?;
        let frame = &self.received[..len];
        if (trace::expects(Step::Poll) || trace::expects(Step::Smoltcp))
            && trace::is_request_frame(frame)
        {
            // The network thread may have been in `Stack::poll` already when the frame's
            // interrupt came: it takes the frame in that pass, without waking for it.
            trace::step(
                Step::Poll,
                "src/net/poll_loop.rs network_thread",
                format_args!("locked the stack, in Stack::poll"),
            );
            trace::step(
                Step::Smoltcp,
                "src/drivers/nic/device.rs NicDevice::receive",
                format_args!("smoltcp takes the frame from the queue (Interface::poll)"),
            );
        }
        Some((RxToken { frame }, TxToken { _private: () }))
    }

    /// Always a token: whether to send at all is asked before, of
    /// [`has_room`](NicDevice::has_room), by the stack, once per round of smoltcp's egress
    /// (src/net/stack.rs, `Stack::egress`). smoltcp 0.14 changes a socket's state before it
    /// asks for the token: a fast retransmission is marked done, and the retransmission timer
    /// stopped, first. A socket whose fast retransmission found no token would be left with no
    /// timer, and with its whole send buffer in flight, nothing to send (found reading
    /// smoltcp's `dispatch`: chapter 9). A frame made while the card is full goes to the
    /// transmit backlog, and is dropped and counted only if that is full too
    /// (`TxToken::consume`): a loss TCP repairs, with its timers running.
    fn transmit(&mut self, _timestamp: Instant) -> Option<TxToken> {
        Some(TxToken { _private: () })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut capabilities = DeviceCapabilities::default();
        capabilities.medium = Medium::Ethernet;
        capabilities.max_transmission_unit = MAX_ETHERNET_FRAME;
        capabilities.max_burst_size = Some(active::transmit_queue_len());
        capabilities
    }
}

/// A received frame, in the device's buffer.
pub struct RxToken<'a> {
    frame: &'a [u8],
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

/// Permission to send one frame.
pub struct TxToken {
    _private: (),
}

impl phy::TxToken for TxToken {
    /// smoltcp writes the frame straight into the card's transmit buffer
    /// (`nic::transmit_with`), zeroed first, under the card's lock with interrupts off: its
    /// closure only writes the frame. If the card has no room (a
    /// reply made while receiving gets its token whether or not it has), smoltcp writes into
    /// the transmit backlog instead (src/drivers/nic/tx_backlog.rs). Only if the frame is
    /// refused there too (backlog full, frame too long, no card) does smoltcp write into a
    /// scratch buffer, after the lock is released: it expects its closure to run, and the
    /// frame is dropped and counted (`tx_dropped_full`, `tx_dropped_too_long`).
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let mut f = Some(f);
        let mut answer = None;
        let _ = active::transmit_with(len, &mut |buffer| {
            answer = f.take().map(|f| f(buffer));
        });
        match (answer, f) {
            (Some(answer), _) => answer,
            (None, Some(f)) => f(&mut vec![0; len]),
            (None, None) => unreachable!("smoltcp's closure ran without an answer"),
        }
    }
}
