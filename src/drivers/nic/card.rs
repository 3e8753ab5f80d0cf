//! [`NetworkCard`]: what every network-card driver offers the layers above it.
//!
//! A card moves Ethernet frames between RAM and the wire. How it does so differs from chip to
//! chip: the RTL8139 copies received frames into one ring and sends from four fixed slots
//! (docs/06-rtl8139.md); an Intel e1000 walks rings of descriptors that point at buffers. The
//! network stack needs none of that. It sees frames in, frames out, an address, a link state and
//! some counters, and that is all this trait offers.
//!
//! Calling rule: src/drivers/nic/active.rs makes every call with the card's lock held and
//! interrupts off, the interrupt handler included. An implementation therefore needs no
//! locking of its own, must return quickly, and must not block or allocate (locking rule 3,
//! src/sync/mod.rs).

use super::stats::NicStats;
use core::any::Any;

/// One network card, brought up by its driver and ready to move frames.
pub trait NetworkCard: Send {
    /// The station (MAC) address the card answers to.
    fn mac(&self) -> [u8; 6];

    /// Unmasks the interrupts the driver handles. Called once the IRQ handler is installed:
    /// a level-triggered line with no handler to clear its cause would fire forever.
    fn enable_interrupts(&mut self);

    /// The interrupt handler's work: acknowledge the card, take back the transmit buffers it
    /// has finished with, move received frames into the driver's queue. Returns whether the
    /// card had anything to report: the line may be shared with another device, and the
    /// dispatcher calls every handler on it (src/interrupts/chain.rs). A bounded amount of
    /// work: a card that keeps reporting is served again at the next interrupt.
    fn service_interrupt(&mut self) -> bool;

    /// Queues an Ethernet frame (without its CRC, which the card appends) for sending.
    /// `Busy` is not counted by the driver: the transmit backlog above it
    /// (src/drivers/nic/tx_backlog.rs) keeps the frame and counts what it must drop.
    ///
    /// [`transmit_with`](Self::transmit_with) with a copy of `frame` as its `fill`: a frame
    /// made elsewhere goes through the same path as one made in place.
    fn transmit(&mut self, frame: &[u8]) -> Result<(), TxError> {
        self.transmit_with(frame.len(), &mut |buffer| buffer.copy_from_slice(frame))
    }

    /// Queues a frame of `len` bytes that `fill` writes itself, straight into the buffer the
    /// card sends from: the network stack builds each frame where the card reads it, with no
    /// buffer of its own in between and no copy.
    ///
    /// `fill` gets `len` bytes of zeros, never what an older frame left in the buffer: smoltcp
    /// does not write every byte of every frame it makes (the unused word of an ICMP error
    /// stays as it finds it), and a frame must not carry bytes of another, perhaps meant for
    /// another peer. The driver zero-pads a short frame beyond `len`.
    ///
    /// `fill` runs at most once, and has run when the answer is `Ok`; when the card refuses
    /// (`Busy`, `TooLong`, ...) before running it, the caller still has the frame to make.
    /// It runs under the card's lock with interrupts off (the calling rule above): it must
    /// only write the frame, and never call back into the card.
    fn transmit_with(&mut self, len: usize, fill: &mut dyn FnMut(&mut [u8]))
    -> Result<(), TxError>;

    /// Whether [`transmit`](Self::transmit) would take a frame now.
    fn can_transmit(&mut self) -> bool;

    /// How many frames the card can have on their way at once: smoltcp sends at most this
    /// many in one go (its "burst size").
    fn transmit_queue_len(&self) -> usize;

    /// Copies the oldest received frame into `out` (room for 1514 bytes is enough) and
    /// returns its length; `None` when no frame is waiting. A driver that stops taking frames
    /// from its card while its queue is full (masking receive interrupts, as NAPI does in
    /// Linux) starts again here, once the stack has made room: `None` must mean that the
    /// card holds nothing more either, or the stack would stop asking.
    fn receive(&mut self, out: &mut [u8]) -> Option<usize>;

    /// Forgets every received frame not yet taken (for tests that want a clean start).
    fn discard_received(&mut self);

    /// A snapshot of the driver's counters. `&mut`: a driver that takes back its transmit
    /// buffers only when it needs them (the RTL8139) counts the frames sent so far first.
    fn stats(&mut self) -> NicStats;

    /// Looks for work the card should have finished by now (a transmit buffer held too long,
    /// a receive that never completed) and recovers from it, typically by resetting the
    /// chip. The network thread calls it on every pass, at least once a second; the answer is
    /// how many milliseconds may pass before the next call (`None`: no deadline pending).
    /// A card that cannot get stuck keeps the default, which does nothing.
    fn watchdog(&mut self) -> Option<u64> {
        None
    }

    /// The driver itself, so that a self-test of one driver's own behaviour can reach it
    /// (src/drivers/nic/active.rs: `with_driver`). Nothing else looks behind the trait.
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

/// Why a frame was not queued for sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxError {
    /// Every transmit buffer holds a frame the card has not finished: try again after the
    /// next transmit-done interrupt.
    Busy,
    /// Longer than the card's transmit buffers.
    TooLong,
    /// Shorter than an Ethernet header.
    TooShort,
    /// No card was started, or it stopped answering (removed, or dead).
    NoCard,
}

/// Why a driver could not bring its card up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartError {
    /// The card has no BAR of the kind its registers need (I/O ports or memory).
    NoRegisterBar,
    /// The card's interrupt pin is not routed to a PIC line.
    NoInterruptLine,
    /// No physically contiguous memory below 4 GiB was left for its rings and buffers.
    NoDmaMemory,
    /// The card did not finish its reset in time.
    ResetTimeout,
}

#[cfg(target_os = "none")]
impl From<crate::memory::dma::DmaAllocError> for StartError {
    fn from(_: crate::memory::dma::DmaAllocError) -> Self {
        StartError::NoDmaMemory
    }
}
