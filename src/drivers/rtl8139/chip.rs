//! The RTL8139 itself: bring-up, the interrupt handler's work, and transmission. Every port
//! access of the driver is in this file; the ring, the queue and the slots it uses are
//! pure logic in their own files.

use super::registers::*;
use super::rx_queue::RxQueue;
use super::rx_ring::{ETHERNET_HEADER_LEN, MIN_PACKET_LEN, RX_HEADER_LEN, RxRing};
use super::tx_slots::{TX_SLOT_COUNT, TxOutcome, TxSlots};
use crate::drivers::nic::{MacAddress, NetworkCard, NicStats, StartError, TxError};
use crate::memory::dma::DmaRegion;
use crate::pci::{self, PciFunctionInfo};
use core::any::Any;
use x86_64::instructions::port::{Port, PortRead, PortWrite};

/// RBLEN = 2: a 32 KiB ring, room for about twenty full-size frames.
const RX_RING_SIZE_CODE: u32 = 2;
/// The ring's length in bytes.
const RX_RING_LEN: usize = 8192 << RX_RING_SIZE_CODE;
/// The datasheet asks for 16 bytes beyond the ring (RCR, RBLEN: "8K + 16 byte").
const RX_BUFFER_LEN: usize = RX_RING_LEN + 16;
/// Frames buffered between the interrupt handler and the network stack.
const RX_QUEUE_FRAMES: usize = 64;
/// The largest frame a transmit descriptor takes (TSD SIZE, datasheet: up to 1792 bytes).
const MAX_TX_FRAME_LEN: usize = 1792;
/// Ethernet's minimum frame without CRC. The chip does not pad short frames itself.
const MIN_TX_FRAME_LEN: usize = 60;
/// DMA buffers must start on a 32-bit boundary; 16 keeps them cache-line friendly too.
const DMA_ALIGN: usize = 16;
/// Reads of CR before giving up on a reset (QEMU finishes at once, real chips in µs).
const RESET_POLLS: u32 = 1_000_000;
/// The most packets one drain takes: a full ring of minimum-size packets. Bounds the time
/// spent in the interrupt handler even if the chip keeps writing.
const MAX_PACKETS_PER_DRAIN: usize = RX_RING_LEN / (RX_HEADER_LEN + MIN_PACKET_LEN);

/// The chip's registers, its DMA memory and the driver's bookkeeping.
pub struct Rtl8139 {
    io_base: u16,
    mac: [u8; 6],
    rx_buffer: DmaRegion,
    rx_ring: RxRing,
    rx_queue: RxQueue,
    tx_buffers: [DmaRegion; TX_SLOT_COUNT],
    tx_slots: TxSlots,
    stats: NicStats,
}

impl Rtl8139 {
    /// Powers on and resets the chip behind `function`, reads its MAC address and starts
    /// the receiver and transmitter with interrupts still masked (see
    /// `NetworkCard::enable_interrupts`). Logs what it set up.
    pub fn new(function: &PciFunctionInfo) -> Result<Rtl8139, StartError> {
        let io_base = function.io_base().ok_or(StartError::NoRegisterBar)?;
        let irq = function.irq().ok_or(StartError::NoInterruptLine)?;
        pci::enable_bus_master(function.address);
        let mut nic = Rtl8139 {
            io_base,
            mac: [0; 6],
            rx_buffer: DmaRegion::allocate(RX_BUFFER_LEN, DMA_ALIGN)?,
            rx_ring: RxRing::new(RX_RING_LEN),
            rx_queue: RxQueue::new(RX_QUEUE_FRAMES),
            tx_buffers: [
                DmaRegion::allocate(MAX_TX_FRAME_LEN, DMA_ALIGN)?,
                DmaRegion::allocate(MAX_TX_FRAME_LEN, DMA_ALIGN)?,
                DmaRegion::allocate(MAX_TX_FRAME_LEN, DMA_ALIGN)?,
                DmaRegion::allocate(MAX_TX_FRAME_LEN, DMA_ALIGN)?,
            ],
            tx_slots: TxSlots::new(),
            stats: NicStats::default(),
        };
        // CONFIG1 = 0 clears LWAKE/LWPTN and takes the chip out of its low-power state. The
        // CONFIG registers accept writes only while 9346CR is in config-write mode.
        nic.write8(CR9346, CR9346_CONFIG_WRITE);
        nic.write8(CONFIG1, 0);
        nic.write8(CR9346, CR9346_NORMAL);
        nic.reset()?;
        for (i, byte) in nic.mac.iter_mut().enumerate() {
            *byte = read_port::<u8>(io_base + IDR0 + i as u16);
        }
        nic.start();
        let link = if nic.stats.link_up { "up" } else { "down" };
        log::info!(
            "rtl8139: {} I/O {io_base:#x} IRQ {irq}, MAC {}, link {link}, \
             {} KiB receive ring at {:#x}",
            function.address,
            MacAddress(nic.mac),
            RX_RING_LEN / 1024,
            nic.rx_buffer.physical_address()
        );
        Ok(nic)
    }

    /// Software reset (CR.RST): the chip clears the bit when its registers are back to
    /// their defaults.
    fn reset(&mut self) -> Result<(), StartError> {
        self.write8(CR, CR_RESET);
        for _ in 0..RESET_POLLS {
            if self.read8(CR) & CR_RESET == 0 {
                return Ok(());
            }
            core::hint::spin_loop();
        }
        Err(StartError::ResetTimeout)
    }

    /// Programs the ring and the transmit buffers, then enables receiver and transmitter.
    fn start(&mut self) {
        self.write32(RBSTART, self.rx_buffer.physical_address());
        for slot in 0..TX_SLOT_COUNT {
            let address = self.tx_buffers[slot].physical_address();
            self.write32(TSAD0 + 4 * slot as u16, address);
        }
        // TE and RE first: the chip (and QEMU) ignores TCR while the transmitter is off.
        self.write8(CR, CR_TRANSMITTER_ENABLE | CR_RECEIVER_ENABLE);
        self.write32(TCR, TCR_IFG_STANDARD | TCR_MAX_DMA_1024);
        self.write32(RCR, receive_config(RX_RING_SIZE_CODE));
        self.write32(MPC, 0);
        self.rx_ring.reset();
        self.write16(CAPR, self.rx_ring.capr());
        self.tx_slots = TxSlots::new();
        self.update_link();
    }

    /// Moves every complete packet from the ring to the queue, until the chip says the ring
    /// is empty (CR.BUFE). One packet per interrupt would fall behind under load.
    fn drain_ring(&mut self) {
        for _ in 0..MAX_PACKETS_PER_DRAIN {
            if self.read8(CR) & CR_BUFFER_EMPTY != 0 {
                return;
            }
            let write_offset = usize::from(self.read16(CBR));
            // SAFETY: rx_buffer is ours and stays allocated. The chip writes only the part
            // of the ring between its write offset and CAPR + 16; next_packet reads only
            // packets before the write offset, which the chip has finished and leaves alone
            // until CAPR moves past them. The port read of CBR above orders these reads
            // after the chip's writes (port I/O is serialising and a compiler barrier).
            let memory =
                unsafe { core::slice::from_raw_parts(self.rx_buffer.as_ptr(), RX_RING_LEN) };
            match self.rx_ring.next_packet(memory, write_offset) {
                Ok(frame) => {
                    self.stats.rx_packets += 1;
                    self.stats.rx_bytes += frame.len() as u64;
                    if self.rx_queue.push(&frame).is_err() {
                        self.stats.rx_dropped += 1;
                    }
                    self.write16(CAPR, self.rx_ring.capr());
                }
                Err(error) if error.needs_receiver_reset() => {
                    log::warn!(
                        "rtl8139: {error:?} at ring offset {:#x} (chip at {write_offset:#x}), \
                         resetting the receiver",
                        self.rx_ring.read_offset()
                    );
                    self.stats.rx_bad_headers += 1;
                    self.reset_receiver();
                    return;
                }
                Err(_) => return,
            }
        }
    }

    /// After a bad header the packet boundaries are lost. Turning the receiver off and on
    /// and rewriting RCR puts the chip's ring offsets back to 0; ours follows. Frames
    /// already queued stay valid.
    fn reset_receiver(&mut self) {
        self.stats.receiver_resets += 1;
        self.write8(CR, CR_TRANSMITTER_ENABLE);
        self.write8(CR, CR_TRANSMITTER_ENABLE | CR_RECEIVER_ENABLE);
        self.write32(RCR, receive_config(RX_RING_SIZE_CODE));
        self.rx_ring.reset();
        self.write16(CAPR, self.rx_ring.capr());
    }

    /// Frees the slots the chip has finished with, oldest first, and counts them.
    fn reclaim_tx(&mut self) {
        while let Some(slot) = self.tx_slots.oldest_busy() {
            let tsd = self.read32(TSD0 + 4 * slot as u16);
            match TxOutcome::from_tsd(tsd) {
                TxOutcome::InFlight => return,
                TxOutcome::Sent => {
                    let len = self.tx_slots.retire_oldest().unwrap_or(0);
                    self.stats.tx_packets += 1;
                    self.stats.tx_bytes += len as u64;
                }
                TxOutcome::Failed => {
                    self.tx_slots.retire_oldest();
                    self.stats.tx_errors += 1;
                }
            }
        }
    }

    fn update_link(&mut self) {
        self.stats.link_up = self.read16(BMSR) & BMSR_LINK_UP != 0;
    }

    /// For the self-tests: overwrites the status of the next unread packet with 0, as a
    /// confused chip or a stray DMA write might, so that the driver's next drain sees a bad
    /// header. Returns false if the ring holds no unread packet.
    pub fn damage_next_header(&mut self) -> bool {
        if self.read8(CR) & CR_BUFFER_EMPTY != 0 {
            return false;
        }
        let header = self
            .rx_buffer
            .as_ptr()
            .wrapping_add(self.rx_ring.read_offset());
        // SAFETY: read_offset < RX_RING_LEN, so the two bytes lie inside rx_buffer; the
        // packet there is complete (the ring is not empty), so the chip does not write it.
        unsafe { core::ptr::write_volatile(header.cast::<u16>(), 0) };
        true
    }

    fn read8(&self, register: u16) -> u8 {
        read_port(self.io_base + register)
    }

    fn read16(&self, register: u16) -> u16 {
        read_port(self.io_base + register)
    }

    fn read32(&self, register: u16) -> u32 {
        read_port(self.io_base + register)
    }

    fn write8(&mut self, register: u16, value: u8) {
        write_port(self.io_base + register, value);
    }

    fn write16(&mut self, register: u16, value: u16) {
        write_port(self.io_base + register, value);
    }

    fn write32(&mut self, register: u16, value: u32) {
        write_port(self.io_base + register, value);
    }
}

/// The RTL8139 behind the interface the network stack uses (src/drivers/nic/card.rs).
impl NetworkCard for Rtl8139 {
    fn mac(&self) -> [u8; 6] {
        self.mac
    }

    fn enable_interrupts(&mut self) {
        self.write16(IMR, INT_HANDLED);
    }

    fn service_interrupt(&mut self) -> bool {
        let status = self.read16(ISR);
        if status == 0 {
            return false;
        }
        // Acknowledge first (ISR is write-1-to-clear): an event that arrives while we work
        // sets its bit again and raises the line again, so none is lost. The PCI line is
        // level-triggered: left set, it would interrupt again right after the EOI.
        self.write16(ISR, status);
        self.stats.interrupts += 1;
        if status & (INT_TX_OK | INT_TX_ERROR) != 0 {
            self.reclaim_tx();
        }
        if status & INT_LINK_CHANGE != 0 {
            let was_up = self.stats.link_up;
            self.update_link();
            if self.stats.link_up != was_up {
                let state = if self.stats.link_up { "up" } else { "down" };
                log::info!("rtl8139: link {state}");
            }
        }
        if status & INT_RX_ERROR != 0 {
            self.stats.rx_errors += 1;
        }
        if status & INT_RX_FIFO_OVERFLOW != 0 {
            self.stats.rx_fifo_overflows += 1;
        }
        if status & INT_RX_BUFFER_OVERFLOW != 0 {
            // Nothing to repair: the chip dropped what did not fit. Emptying the ring (below)
            // makes room, and CAPR tells the chip so.
            self.stats.rx_ring_overflows += 1;
            self.stats.rx_missed += u64::from(self.read32(MPC) & MPC_COUNT_MASK);
            self.write32(MPC, 0);
        }
        if status & INT_RX_EVENTS != 0 {
            self.drain_ring();
        }
        true
    }

    fn can_transmit(&mut self) -> bool {
        self.reclaim_tx();
        !self.tx_slots.is_full()
    }

    /// Copies `frame` (an Ethernet frame without CRC; the chip appends it) into the next
    /// slot and starts its transmission. Refuses, and counts, instead of overwriting a busy
    /// slot.
    fn transmit(&mut self, frame: &[u8]) -> Result<(), TxError> {
        if frame.len() > MAX_TX_FRAME_LEN {
            self.stats.tx_dropped_too_long += 1;
            return Err(TxError::TooLong);
        }
        if frame.len() < ETHERNET_HEADER_LEN {
            return Err(TxError::TooShort);
        }
        self.reclaim_tx();
        let Some(slot) = self.tx_slots.claim(frame.len()) else {
            self.stats.tx_dropped_full += 1;
            return Err(TxError::Busy);
        };
        let padded_len = frame.len().max(MIN_TX_FRAME_LEN);
        // SAFETY: the slot was free, so the chip has finished reading this buffer and will
        // not touch it until the TSD write below; the buffer holds MAX_TX_FRAME_LEN bytes.
        let buffer = unsafe {
            core::slice::from_raw_parts_mut(self.tx_buffers[slot].as_ptr(), MAX_TX_FRAME_LEN)
        };
        buffer[..frame.len()].copy_from_slice(frame);
        // Pad with zeros: the buffer still holds an older frame's bytes, which would leak.
        buffer[frame.len()..padded_len].fill(0);
        // Writing SIZE (with OWN clear) hands the slot to the chip and starts the DMA.
        self.write32(
            TSD0 + 4 * slot as u16,
            padded_len as u32 | TSD_EARLY_TX_THRESHOLD_256,
        );
        Ok(())
    }

    fn transmit_queue_len(&self) -> usize {
        TX_SLOT_COUNT
    }

    fn receive(&mut self, out: &mut [u8]) -> Option<usize> {
        self.rx_queue.pop(|frame| {
            let len = frame.len().min(out.len());
            out[..len].copy_from_slice(&frame[..len]);
            len
        })
    }

    fn discard_received(&mut self) {
        self.rx_queue.clear();
    }

    fn stats(&self) -> NicStats {
        self.stats
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

/// Reads a register in the chip's I/O window.
fn read_port<T: PortRead>(port: u16) -> T {
    // SAFETY: `port` lies in the RTL8139's I/O BAR (io_base plus a datasheet register
    // offset below 0x100); reading these registers has no effect beyond what the driver
    // expects (none of the registers read here clears on read).
    unsafe { Port::<T>::new(port).read() }
}

/// Writes a register in the chip's I/O window.
fn write_port<T: PortWrite>(port: u16, value: T) {
    // SAFETY: `port` lies in the RTL8139's I/O BAR, which this driver owns; the values
    // written follow the datasheet's programming sequence.
    unsafe { Port::<T>::new(port).write(value) }
}
