//! The Realtek RTL8139 Fast Ethernet controller, QEMU's `-device rtl8139`.
//!
//! The chip receives into one ring buffer in RAM ([`rx_ring`]) and transmits from four
//! buffers served in turn ([`tx_slots`]); it signals both through one PCI interrupt. The
//! interrupt handler acknowledges the chip, frees finished transmit slots and empties the
//! ring into a queue ([`rx_queue`]) from which the network stack takes frames. `chip` holds
//! every register access; [`Rtl8139`] offers the chip to the layers above as a
//! `NetworkCard` (src/drivers/nic/card.rs), which src/drivers/nic/ starts when the PCI scan
//! finds the card. Chapter: docs/06-rtl8139.md.

pub mod registers;
pub mod rx_queue;
pub mod rx_ring;
pub mod tx_slots;

#[cfg(target_os = "none")]
mod chip;

#[cfg(target_os = "none")]
pub use chip::Rtl8139;
