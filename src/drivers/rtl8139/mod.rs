//! The Realtek RTL8139 Fast Ethernet controller, QEMU's `-device rtl8139`.
//!
//! The chip receives into one ring buffer in RAM ([`rx_ring`]) and transmits from four
//! buffers served in turn ([`tx_slots`]); it signals both through one PCI interrupt. The
//! interrupt handler acknowledges the chip, frees finished transmit slots and empties the
//! ring into a queue from which the network stack takes frames. [`chip`] is the driver's
//! logic, which reaches the hardware only through [`chip_io::ChipIo`]; `pci_chip` is the
//! real chip behind it (port I/O, DMA memory), and the host tests put a model of the chip
//! there instead. [`Rtl8139`] offers the chip to the layers above as a `NetworkCard`
//! (src/drivers/nic/card.rs), which src/drivers/nic/ starts when the PCI scan finds the
//! card. Chapter: docs/06-rtl8139.md.
//!
//! # The rule for memory shared with the chip
//!
//! The chip reads the transmit buffers and writes the receive ring by DMA, on its own time.
//! Two things could reorder what the driver does with that memory against the register
//! access that hands it over or says it is ready: the compiler and the CPU.
//!
//! - **The compiler.** The x86_64 crate declares its `in`/`out` instructions with
//!   `options(nomem)`: a promise that they touch no memory, which lets the compiler move
//!   ordinary loads and stores across them. So the driver's port accessors are its own
//!   (src/drivers/rtl8139/pci_chip.rs), written *without* `nomem`: the compiler must assume
//!   each port access reads and writes any memory, finish every store the program made before
//!   it, and read memory again after it. Every port access is a compiler barrier.
//! - **The CPU.** An `out` waits until all earlier stores have reached memory, and an `in`
//!   completes before the next instruction starts (Intel SDM vol. 1, "Ordering I/O", table
//!   "I/O Instruction Serialization"); DMA on x86 is cache-coherent (src/memory/dma.rs).
//!
//! Hence, for every buffer handed over or taken back:
//!
//! 1. **Transmit**: the frame is written into the slot's buffer (by smoltcp itself, through
//!    a slice that lives only while the slot is the driver's), then TSD is written. The TSD
//!    write is the release: the chip cannot see the length before the bytes.
//! 2. **Receive**: CBR is read, then the packets before it are read from the ring. The CBR
//!    read is the acquire: the bytes read are those the chip wrote before it moved CBR.
//!    CAPR is written only after the frames it gives back have been copied out (once per
//!    batch): that write gives the bytes back to the chip.
//! 3. **No reference spans memory the chip writes.** The ring is read through raw pointers
//!    with volatile loads of exactly the bytes needed ([`ring_memory`]), never through a
//!    `&[u8]` over the ring, which would tell the compiler that nothing else changes it.
//!    A transmit buffer is lent as a `&mut [u8]` only while its slot is the driver's, which
//!    the chip neither reads nor writes until the TSD write that ends the loan.

pub mod chip_io;
pub mod registers;
pub mod ring_memory;
pub mod rx_ring;
pub mod tx_slots;

pub mod chip;
#[cfg(test)]
mod chip_model;
#[cfg(target_os = "none")]
mod pci_chip;

pub use chip::Rtl8139;
#[cfg(target_os = "none")]
pub use pci_chip::PciChip;

/// The driver on the real chip, as src/drivers/nic/ starts it.
#[cfg(target_os = "none")]
pub type Rtl8139Card = Rtl8139<PciChip>;
