//! The real chip behind [`ChipIo`]: its registers through port I/O in the I/O BAR, its ring
//! and transmit buffers in DMA memory. Every port access and every touch of DMA memory of
//! the driver is in this file, and each follows the rule of src/drivers/rtl8139/mod.rs.

use super::chip::{MAX_TX_FRAME_LEN, RX_BUFFER_LEN, RX_RING_LEN, Rtl8139};
use super::chip_io::ChipIo;
use super::ring_memory::VolatileRing;
use super::tx_slots::TX_SLOT_COUNT;
use crate::drivers::nic::{MacAddress, NetworkCard, StartError};
use crate::memory::dma::DmaRegion;
use crate::pci::{self, PciFunctionInfo};
use core::arch::asm;

/// DMA buffers must start on a 32-bit boundary; 16 keeps them cache-line friendly too.
const DMA_ALIGN: usize = 16;

/// The chip's I/O window and the DMA memory it shares with the driver.
pub struct PciChip {
    io_base: u16,
    rx_buffer: DmaRegion,
    rx_ring: VolatileRing,
    tx_buffers: [DmaRegion; TX_SLOT_COUNT],
}

impl Rtl8139<PciChip> {
    /// Turns on bus mastering for the chip behind `function`, gives it its DMA memory, and
    /// brings it up (`Rtl8139::start`). Logs what it set up.
    pub fn new(function: &PciFunctionInfo) -> Result<Rtl8139<PciChip>, StartError> {
        let io_base = function.io_base().ok_or(StartError::NoRegisterBar)?;
        let irq = function.irq().ok_or(StartError::NoInterruptLine)?;
        pci::enable_bus_master(function.address);
        let rx_buffer = DmaRegion::allocate(RX_BUFFER_LEN, DMA_ALIGN)?;
        // SAFETY: the ring's RX_RING_LEN bytes lie inside rx_buffer, which PciChip owns for
        // as long as it owns this view of it.
        let rx_ring = unsafe { VolatileRing::new(rx_buffer.as_ptr(), RX_RING_LEN) };
        let chip = PciChip {
            io_base,
            rx_buffer,
            rx_ring,
            tx_buffers: [
                DmaRegion::allocate(MAX_TX_FRAME_LEN, DMA_ALIGN)?,
                DmaRegion::allocate(MAX_TX_FRAME_LEN, DMA_ALIGN)?,
                DmaRegion::allocate(MAX_TX_FRAME_LEN, DMA_ALIGN)?,
                DmaRegion::allocate(MAX_TX_FRAME_LEN, DMA_ALIGN)?,
            ],
        };
        let ring_address = chip.rx_buffer.physical_address();
        let nic = Rtl8139::start(chip)?;
        let link = if nic.link_up() { "up" } else { "down" };
        log::info!(
            "rtl8139: {} I/O {io_base:#x} IRQ {irq}, MAC {}, link {link}, \
             {} KiB receive ring at {ring_address:#x}",
            function.address,
            MacAddress(nic.mac()),
            RX_RING_LEN / 1024,
        );
        Ok(nic)
    }

    /// For the self-tests: overwrites the status of the next unread packet with 0, as a
    /// confused chip or a stray DMA write might, so that the driver's next drain sees a bad
    /// header. Returns false if the ring holds no unread packet.
    pub fn damage_next_header(&mut self) -> bool {
        if self.ring_is_empty() {
            return false;
        }
        let offset = self.rx_read_offset();
        let header = self.chip_mut().rx_buffer.as_ptr().wrapping_add(offset);
        // SAFETY: the read offset is below RX_RING_LEN, so the two bytes lie inside
        // rx_buffer; the packet there is complete (the ring is not empty), so the chip does
        // not write it.
        unsafe { core::ptr::write_volatile(header.cast::<u16>(), 0) };
        true
    }
}

impl ChipIo for PciChip {
    type Ring = VolatileRing;

    fn read8(&mut self, register: u16) -> u8 {
        let value: u8;
        // SAFETY: the port lies in the RTL8139's I/O BAR (io_base plus a datasheet offset
        // below 0x100), which this driver owns; none of its registers clears on read.
        // No `nomem`: see the module comment of src/drivers/rtl8139/mod.rs.
        unsafe {
            asm!("in al, dx", out("al") value, in("dx") self.io_base + register,
                 options(nostack, preserves_flags));
        }
        value
    }

    fn read16(&mut self, register: u16) -> u16 {
        let value: u16;
        // SAFETY: as in read8.
        unsafe {
            asm!("in ax, dx", out("ax") value, in("dx") self.io_base + register,
                 options(nostack, preserves_flags));
        }
        value
    }

    fn read32(&mut self, register: u16) -> u32 {
        let value: u32;
        // SAFETY: as in read8.
        unsafe {
            asm!("in eax, dx", out("eax") value, in("dx") self.io_base + register,
                 options(nostack, preserves_flags));
        }
        value
    }

    fn write8(&mut self, register: u16, value: u8) {
        // SAFETY: the port lies in the RTL8139's I/O BAR, which this driver owns; the values
        // written follow the datasheet's programming sequence.
        unsafe {
            asm!("out dx, al", in("dx") self.io_base + register, in("al") value,
                 options(nostack, preserves_flags));
        }
    }

    fn write16(&mut self, register: u16, value: u16) {
        // SAFETY: as in write8.
        unsafe {
            asm!("out dx, ax", in("dx") self.io_base + register, in("ax") value,
                 options(nostack, preserves_flags));
        }
    }

    fn write32(&mut self, register: u16, value: u32) {
        // SAFETY: as in write8.
        unsafe {
            asm!("out dx, eax", in("dx") self.io_base + register, in("eax") value,
                 options(nostack, preserves_flags));
        }
    }

    fn rx_ring(&self) -> &VolatileRing {
        &self.rx_ring
    }

    fn rx_ring_address(&self) -> u32 {
        self.rx_buffer.physical_address()
    }

    fn tx_buffer_address(&self, slot: usize) -> u32 {
        self.tx_buffers[slot].physical_address()
    }

    fn fill_tx_buffer(
        &mut self,
        slot: usize,
        len: usize,
        padded_len: usize,
        fill: &mut dyn FnMut(&mut [u8]),
    ) {
        assert!(len <= padded_len && padded_len <= MAX_TX_FRAME_LEN);
        let buffer = self.tx_buffers[slot].as_ptr();
        // SAFETY: the buffer holds MAX_TX_FRAME_LEN >= padded_len bytes (asserted above) and
        // is PciChip's alone. The slot is the driver's (ChipIo's contract): the chip neither
        // reads nor writes it until the TSD write that follows, so for as long as this slice
        // lives, which ends before that write, nothing else touches these bytes. The TSD
        // write is ordered after the stores made through it (src/drivers/rtl8139/mod.rs).
        let padded = unsafe { core::slice::from_raw_parts_mut(buffer, padded_len) };
        // Zeros first: the buffer still holds an older frame's bytes, which would leak in the
        // padding or wherever `fill` writes nothing.
        padded.fill(0);
        fill(&mut padded[..len]);
    }

    fn now_ms(&self) -> u64 {
        crate::time::uptime_ms()
    }
}
