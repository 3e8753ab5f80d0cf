//! Intel's e1000 family of gigabit Ethernet controllers: the 8254x (82540EM \[8086:100e\],
//! QEMU's default card on `-M pc`, VirtualBox's and Bochs' e1000; 82545EM \[8086:100f\],
//! VMware's) and the 82574L \[8086:10d3\] (QEMU's default on `-M q35`), driven with legacy
//! descriptors. Chapter: docs/07-e1000.md.
//!
//! The card works through two rings of 16-byte descriptors in RAM ([`descriptors`]), each
//! pointing at a buffer of its own: the device writes received frames into the buffers of
//! the receive ring ([`rx_ring`]) and sends the buffers the driver queues on the transmit ring
//! ([`tx_ring`]). Head and tail registers say who owns which descriptor. Registers are memory
//! mapped ([`bar`], [`registers`]); `chip` holds every register and DMA access and offers the
//! card as a `NetworkCard` (src/drivers/nic/card.rs).
//!
//! # The ordering rule (DMA)
//!
//! The device reads and writes the rings and buffers on its own, at any time. Two rules
//! order the driver's accesses against it, and every access in chip.rs follows them:
//!
//! 1. **Handing over** (a receive descriptor re-armed, a transmit frame queued): first write
//!    the buffer and the descriptor, then a `fence(Release)`, then the tail register (RDT,
//!    TDT). The frame copy is an ordinary memory write, and the compiler may move ordinary
//!    writes past a volatile one (the MMIO tail write): only volatile accesses keep their
//!    order among themselves. The release fence forbids moving any earlier write after it.
//!    On x86 it costs no instruction: the CPU itself never reorders a store with an earlier
//!    store, to RAM or to uncached MMIO (Intel SDM vol. 3A, 9.2.2; the identity map makes the
//!    BAR uncached, src/memory/layout.rs), and DMA is cache-coherent.
//! 2. **Taking back** (a received frame, a sent descriptor): read the descriptor's status
//!    byte with a volatile read; only if DD is set, a `fence(Acquire)`, then the rest of the
//!    descriptor and the buffer. The fence keeps the compiler from reading the length or the
//!    frame before DD was seen set (and x86 does not reorder loads with loads).
//!
//! Memory the device may be writing is never seen through a `&[u8]` or `&mut`: descriptors
//! are read and written one field at a time with volatile accesses (`DmaRing` in chip.rs), and
//! a buffer is copied out only between DD set and its return to the device, when the device
//! leaves it alone.

pub mod bar;
pub mod descriptors;
pub mod registers;
pub mod rx_ring;
pub mod tx_ring;

#[cfg(test)]
mod model;

#[cfg(target_os = "none")]
mod chip;

#[cfg(target_os = "none")]
pub use chip::E1000;
