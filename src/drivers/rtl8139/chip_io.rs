//! [`ChipIo`]: everything the driver does to the hardware, in one small trait.
//!
//! The driver's logic (src/drivers/rtl8139/chip.rs) reads and writes the chip's registers,
//! reads the receive ring, fills transmit buffers and reads the clock, and does all of it
//! through this trait. On the kernel, `PciChip` (src/drivers/rtl8139/pci_chip.rs) implements
//! it with port I/O and DMA memory, where the ordering rules of src/drivers/rtl8139/mod.rs
//! apply. In the host tests a model of the chip implements it (`ChipModel`,
//! src/drivers/rtl8139/chip_model.rs), which can do what QEMU never does (abort a
//! transmission, stall a receive, vanish from the bus), so the recovery paths run in tests.

use super::ring_memory::RingMemory;

/// The chip's registers, the memory it shares with the driver, and the time.
pub trait ChipIo {
    /// The receive ring's memory as [`rx_ring`](Self::rx_ring) returns it.
    type Ring: RingMemory + ?Sized;

    /// Reads an 8-bit register (an offset from src/drivers/rtl8139/registers.rs).
    fn read8(&mut self, register: u16) -> u8;
    fn read16(&mut self, register: u16) -> u16;
    fn read32(&mut self, register: u16) -> u32;
    /// Writes an 8-bit register. Every write is ordered after the memory accesses before it
    /// in the program (the rule of src/drivers/rtl8139/mod.rs).
    fn write8(&mut self, register: u16, value: u8);
    fn write16(&mut self, register: u16, value: u16);
    fn write32(&mut self, register: u16, value: u32);

    /// The receive ring (without the 16 bytes of slack after it).
    fn rx_ring(&self) -> &Self::Ring;

    /// The ring's bus address, for RBSTART.
    fn rx_ring_address(&self) -> u32;

    /// The bus address of transmit buffer `slot`, for TSADn.
    fn tx_buffer_address(&self, slot: usize) -> u32;

    /// Zeroes the first `padded_len` bytes of transmit buffer `slot`, then lets `fill` write
    /// a frame of `len` <= `padded_len` bytes over the start of them. The buffer's old bytes
    /// would otherwise leak: in the padding of a short frame (the chip does not pad), or where
    /// `fill` writes nothing (`NetworkCard::transmit_with`). The slot must be the driver's:
    /// the chip has finished with it and is not handed it before the TSD write.
    fn fill_tx_buffer(
        &mut self,
        slot: usize,
        len: usize,
        padded_len: usize,
        fill: &mut dyn FnMut(&mut [u8]),
    );

    /// Milliseconds since boot, for the receive and transmit watchdogs.
    fn now_ms(&self) -> u64;
}
