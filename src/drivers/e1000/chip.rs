//! The e1000 itself: bring-up, the interrupt handler's work, receiving and transmitting.
//! Every register and DMA access of the driver is in this file, and each follows the ordering
//! rule of src/drivers/e1000/mod.rs; the rings' bookkeeping is pure logic in rx_ring.rs and
//! tx_ring.rs.

use super::bar;
use super::descriptors::{DESCRIPTOR_LEN, DescriptorRing, STATUS_DD, STATUS_OFFSET};
use super::registers::*;
use super::rx_ring::{MAX_FRAME_LEN, MIN_FRAME_LEN, RxDrop, RxEvent, RxRing};
use super::tx_ring::TxRing;
use crate::drivers::nic::{MacAddress, NetworkCard, NicStats, StartError, TxError};
use crate::memory::dma::DmaRegion;
use crate::pci::{self, PciFunctionInfo};
use crate::sched;
use core::any::Any;
use core::sync::atomic::{Ordering, fence};

/// Receive descriptors: 64 frames can wait in the ring for the network stack, as many as the
/// RTL8139's queue holds.
const RX_DESCRIPTORS: usize = 64;
/// Transmit descriptors: up to 63 frames on their way (one always stays free).
const TX_DESCRIPTORS: usize = 64;
/// Every buffer is 2 KiB, the size RCTL.BSIZE selects: a whole frame fits in one.
const BUFFER_LEN: usize = 2048;
/// Ethernet's minimum frame without CRC. Shorter frames are padded with zeros here: the
/// 8254x's own padding (TCTL.PSP) is not trusted (Linux's e1000 pads in software because
/// the hardware may corrupt short frames while padding them) and QEMU's model ignores PSP.
const MIN_TX_FRAME_LEN: usize = 60;
/// Descriptor rings must start on a 16-byte boundary (SDM 13.4.26); a whole frame is more.
const RING_ALIGN: usize = 4096;
/// How long the card gets for its reset (SDM 13.4.1: RST clears itself when done; Linux
/// waits a few milliseconds for the EEPROM to be reloaded).
const RESET_WAIT_MS: u64 = 10;
/// How many times RST is checked before giving up, RESET_WAIT_MS apart.
const RESET_CHECKS: u32 = 10;
/// Reads of EERD before an EEPROM word counts as unreadable.
const EEPROM_POLLS: u32 = 100_000;
/// The most passes over ICR in one interrupt: an event arriving during a pass is seen by the
/// next; past the bound the handler returns and the line (level-triggered) brings it back.
const MAX_INTERRUPT_PASSES: usize = 4;
/// What a read of a device that has gone (surprise removal, a dead link) returns.
const DEVICE_GONE: u32 = 0xffff_ffff;

/// The card's registers: BAR0, identity-mapped and uncached.
struct Registers {
    base: usize,
}

impl Registers {
    fn read(&self, register: u32) -> u32 {
        let address = (self.base + register as usize) as *const u32;
        // SAFETY: base is BAR0, checked by bar::register_base to lie below 4 GiB where the
        // identity map covers device memory uncached; every register offset used is below
        // bar::REGISTER_SPACE_LEN and 4-aligned. Reads of ICR, MPC and RNBC clear them, which
        // is what the callers want.
        unsafe { core::ptr::read_volatile(address) }
    }

    fn write(&mut self, register: u32, value: u32) {
        let address = (self.base + register as usize) as *mut u32;
        // SAFETY: as in `read`; the card's registers belong to this driver alone.
        unsafe { core::ptr::write_volatile(address, value) }
    }
}

/// A descriptor ring in DMA memory: every access is volatile, and one that reads what the
/// device wrote follows rule 2 of the ordering rule.
struct DmaRing {
    memory: DmaRegion,
    len: usize,
}

impl DmaRing {
    fn allocate(len: usize) -> Result<DmaRing, StartError> {
        Ok(DmaRing {
            memory: DmaRegion::allocate(len * DESCRIPTOR_LEN, RING_ALIGN)?,
            len,
        })
    }

    fn descriptor(&self, index: usize) -> *mut u8 {
        assert!(index < self.len);
        self.memory.as_ptr().wrapping_add(index * DESCRIPTOR_LEN)
    }
}

impl DescriptorRing for DmaRing {
    fn len(&self) -> usize {
        self.len
    }

    fn read_done(&self, index: usize) -> Option<[u64; 2]> {
        let descriptor = self.descriptor(index);
        // SAFETY: the descriptor lies inside the ring's DMA region (index < len); a volatile
        // byte read cannot tear, whatever the device is writing.
        let status = unsafe { core::ptr::read_volatile(descriptor.add(STATUS_OFFSET)) };
        if status & STATUS_DD == 0 {
            return None;
        }
        // Rule 2: nothing below may be read before DD was seen set.
        fence(Ordering::Acquire);
        let words = descriptor.cast::<u64>();
        // SAFETY: 16-byte aligned words inside the region; with DD set the device has
        // finished writing this descriptor and does not touch it until it is handed back.
        Some(unsafe {
            [
                core::ptr::read_volatile(words),
                core::ptr::read_volatile(words.add(1)),
            ]
        })
    }

    fn write(&mut self, index: usize, words: [u64; 2]) {
        let descriptor = self.descriptor(index).cast::<u64>();
        // SAFETY: inside the region and aligned; the ring logic writes only descriptors the
        // device does not own (not yet handed over, or given back with DD set).
        unsafe {
            core::ptr::write_volatile(descriptor, words[0]);
            core::ptr::write_volatile(descriptor.add(1), words[1]);
        }
    }
}

/// The card's registers, its rings and buffers, and the driver's bookkeeping.
pub struct E1000 {
    registers: Registers,
    eerd: EerdLayout,
    mac: [u8; 6],
    rx_descriptors: DmaRing,
    rx_buffers: DmaRegion,
    rx_ring: RxRing,
    tx_descriptors: DmaRing,
    tx_buffers: DmaRegion,
    tx_ring: TxRing,
    stats: NicStats,
}

impl E1000 {
    /// Resets the card behind `function`, reads its MAC address, and sets up both rings with
    /// interrupts still masked (see `NetworkCard::enable_interrupts`). Logs what it set up.
    pub fn new(function: &PciFunctionInfo) -> Result<E1000, StartError> {
        let base = bar::register_base(&function.bars).map_err(|problem| {
            log::error!("e1000: {} BAR0 unusable: {problem:?}", function.address);
            StartError::NoRegisterBar
        })?;
        let irq = function.irq().ok_or(StartError::NoInterruptLine)?;
        pci::enable_bus_master(function.address);
        let rx_buffers = DmaRegion::allocate(RX_DESCRIPTORS * BUFFER_LEN, RING_ALIGN)?;
        let tx_buffers = DmaRegion::allocate(TX_DESCRIPTORS * BUFFER_LEN, RING_ALIGN)?;
        let mut nic = E1000 {
            registers: Registers {
                base: base as usize,
            },
            eerd: EerdLayout::for_device(function.device_id),
            mac: [0; 6],
            rx_descriptors: DmaRing::allocate(RX_DESCRIPTORS)?,
            rx_ring: RxRing::new(
                RX_DESCRIPTORS,
                u64::from(rx_buffers.physical_address()),
                BUFFER_LEN,
            ),
            rx_buffers,
            tx_descriptors: DmaRing::allocate(TX_DESCRIPTORS)?,
            tx_ring: TxRing::new(
                TX_DESCRIPTORS,
                u64::from(tx_buffers.physical_address()),
                BUFFER_LEN,
            ),
            tx_buffers,
            stats: NicStats::default(),
        };
        nic.reset()?;
        nic.mac = nic.station_address()?;
        nic.start_receiver();
        nic.start_transmitter();
        nic.update_link();
        let link = if nic.stats.link_up { "up" } else { "down" };
        log::info!(
            "e1000: {} MMIO {base:#x} IRQ {irq}, MAC {}, link {link}, \
             {RX_DESCRIPTORS} receive and {TX_DESCRIPTORS} transmit descriptors",
            function.address,
            MacAddress(nic.mac)
        );
        Ok(nic)
    }

    /// Quiets the card, resets it (CTRL.RST) and waits until the bit clears, then sets the
    /// link up as SDM 14.3 asks: ASDE and SLU set; PHY_RST and VME clear.
    fn reset(&mut self) -> Result<(), StartError> {
        // Nothing may interrupt or move data while the reset runs: mask every cause, stop
        // both directions, and give DMA already under way time to finish (as Linux does).
        self.registers.write(IMC, INT_ALL);
        self.registers.write(RCTL, 0);
        self.registers.write(TCTL, 0);
        sched::sleep_ms(RESET_WAIT_MS);
        let control = self.registers.read(CTRL);
        self.registers.write(CTRL, control | CTRL_RST);
        let mut reset_done = false;
        for _ in 0..RESET_CHECKS {
            sched::sleep_ms(RESET_WAIT_MS);
            if self.registers.read(CTRL) & CTRL_RST == 0 {
                reset_done = true;
                break;
            }
        }
        if !reset_done {
            return Err(StartError::ResetTimeout);
        }
        // The reset leaves IMS clear on a real chip; QEMU's 82574L keeps its registers, so
        // mask again, and read ICR to drop whatever was pending.
        self.registers.write(IMC, INT_ALL);
        self.registers.read(ICR);
        let control = self.registers.read(CTRL) & !(CTRL_PHY_RST | CTRL_VME);
        self.registers.write(CTRL, control | CTRL_ASDE | CTRL_SLU);
        Ok(())
    }

    /// The station address: RAL0/RAH0, which the card loads from its EEPROM at reset; if RAH0
    /// says they are not valid, the EEPROM's words 0-2 read through EERD, written into RAL0/
    /// RAH0 for the receive filter.
    fn station_address(&mut self) -> Result<[u8; 6], StartError> {
        if let Some(mac) = self.receive_address_mac() {
            return Ok(mac);
        }
        let mac = self.eeprom_mac().ok_or(StartError::ResetTimeout)?;
        let (ral, rah) = receive_address(mac);
        // SDM 13.5.3: write low before high.
        self.registers.write(RAL0, ral);
        self.registers.write(RAH0, rah);
        Ok(mac)
    }

    /// The address in RAL0/RAH0, if RAH0.AV says it is valid.
    pub fn receive_address_mac(&self) -> Option<[u8; 6]> {
        mac_from_receive_address(self.registers.read(RAL0), self.registers.read(RAH0))
    }

    /// The address in the EEPROM (words 0-2, read through EERD), if every read finished.
    pub fn eeprom_mac(&mut self) -> Option<[u8; 6]> {
        let mut words = [0u16; EEPROM_ETHERNET_ADDRESS_WORDS as usize];
        for (word, value) in words.iter_mut().enumerate() {
            *value = self.read_eeprom(word as u8)?;
        }
        Some(mac_from_eeprom(words))
    }

    fn read_eeprom(&mut self, word: u8) -> Option<u16> {
        self.registers.write(EERD, self.eerd.request(word));
        (0..EEPROM_POLLS).find_map(|_| self.eerd.data(self.registers.read(EERD)))
    }

    /// SDM 14.4: the multicast table cleared (we join no group), the ring's base, length,
    /// head and tail, then RCTL.
    fn start_receiver(&mut self) {
        for entry in 0..MTA_ENTRIES {
            self.registers.write(MTA + 4 * entry, 0);
        }
        let base = self.rx_descriptors.memory.physical_address();
        self.registers.write(RDBAL, base);
        self.registers.write(RDBAH, 0);
        self.registers
            .write(RDLEN, (RX_DESCRIPTORS * DESCRIPTOR_LEN) as u32);
        self.registers.write(RDH, 0);
        let tail = self.rx_ring.start(&mut self.rx_descriptors);
        self.hand_over(RDT, tail);
        self.registers.write(RCTL, receive_control());
    }

    /// SDM 14.5: the ring's base, length, head and tail, the inter-packet gap, then TCTL.
    fn start_transmitter(&mut self) {
        self.tx_ring.start(&mut self.tx_descriptors);
        let base = self.tx_descriptors.memory.physical_address();
        self.registers.write(TDBAL, base);
        self.registers.write(TDBAH, 0);
        self.registers
            .write(TDLEN, (TX_DESCRIPTORS * DESCRIPTOR_LEN) as u32);
        self.registers.write(TDH, 0);
        fence(Ordering::Release);
        self.registers.write(TDT, 0);
        self.registers.write(TIPG, TIPG_COPPER);
        self.registers.write(TCTL, transmit_control());
    }

    /// Hands the card the receive descriptors re-armed since RDT last moved, if any.
    fn hand_back_rx(&mut self) {
        if let Some(tail) = self.rx_ring.hand_back() {
            self.hand_over(RDT, tail);
        }
    }

    /// Rule 1 of the ordering rule: what was written to the ring and its buffers before this
    /// call reaches memory before the tail register tells the device about it.
    fn hand_over(&mut self, tail_register: u32, tail: u32) {
        fence(Ordering::Release);
        self.registers.write(tail_register, tail);
    }

    fn update_link(&mut self) {
        self.stats.link_up = self.registers.read(STATUS) & STATUS_LU != 0;
    }

    /// Frees the transmit descriptors the card has finished with, and counts them.
    fn reclaim_tx(&mut self) {
        let done = self.tx_ring.reclaim(&self.tx_descriptors);
        self.stats.tx_packets += done.sent;
        self.stats.tx_bytes += done.bytes;
        self.stats.tx_errors += done.failed;
    }

    /// The card's loss counters: MPC (receive FIFO full) and RNBC (no free descriptor). Both
    /// clear when read.
    fn collect_rx_losses(&mut self) {
        self.stats.rx_missed += u64::from(self.registers.read(MPC));
        self.stats.rx_ring_overflows += u64::from(self.registers.read(RNBC));
    }

    /// For the self-tests: whether the card owns no receive descriptor (RDH caught up with
    /// RDT), so that a frame arriving now finds no room.
    pub fn rx_ring_full(&self) -> bool {
        self.registers.read(RDH) == self.registers.read(RDT)
    }

    /// For the self-tests: the card's heads against the driver's bookkeeping, as
    /// (RDH, next receive descriptor, TDH, TDT as the driver last wrote it).
    pub fn heads(&self) -> (usize, usize, usize, usize) {
        (
            self.registers.read(RDH) as usize,
            self.rx_ring.next_index(),
            self.registers.read(TDH) as usize,
            self.tx_ring.tail(),
        )
    }
}

/// The e1000 behind the interface the network stack uses (src/drivers/nic/card.rs).
impl NetworkCard for E1000 {
    fn mac(&self) -> [u8; 6] {
        self.mac
    }

    fn enable_interrupts(&mut self) {
        self.registers.write(IMS, INT_HANDLED);
    }

    /// ICR holds the causes; reading it clears it on the 8254x (SDM 13.4.17), but on the
    /// 82574L only while IMS is 0 or with CTRL_EXT.IAME set, so the causes read are also
    /// written back (writing 1b clears a cause on both). Received frames stay in the ring:
    /// the network stack takes them from there (`receive`), so all this does for them is
    /// report that there is work. A cause that arrives during a pass is seen by the next one.
    fn service_interrupt(&mut self) -> bool {
        let mut ours = false;
        for _ in 0..MAX_INTERRUPT_PASSES {
            let causes = self.registers.read(ICR);
            if causes == DEVICE_GONE || causes & INT_HANDLED == 0 {
                break;
            }
            self.registers.write(ICR, causes);
            ours = true;
            self.stats.interrupts += 1;
            if causes & INT_TX_EVENTS != 0 {
                self.reclaim_tx();
            }
            if causes & INT_LSC != 0 {
                let was_up = self.stats.link_up;
                self.update_link();
                if self.stats.link_up != was_up {
                    let state = if self.stats.link_up { "up" } else { "down" };
                    log::info!("e1000: link {state}");
                }
            }
            if causes & INT_RXO != 0 {
                self.stats.rx_fifo_overflows += 1;
            }
            if causes & (INT_RXO | INT_RXDMT0) != 0 {
                self.collect_rx_losses();
            }
        }
        ours
    }

    fn can_transmit(&mut self) -> bool {
        self.reclaim_tx();
        !self.tx_ring.is_full()
    }

    /// Lends the next descriptor's buffer to `fill`, zeroed up to the padded length (an
    /// older frame's bytes would leak in the padding, or wherever `fill` writes nothing),
    /// then queues the frame. Refuses when every descriptor is in flight (the transmit
    /// backlog above keeps the frame, and counts what it must drop:
    /// src/drivers/nic/tx_backlog.rs), and then `fill` does not run.
    fn transmit_with(
        &mut self,
        len: usize,
        fill: &mut dyn FnMut(&mut [u8]),
    ) -> Result<(), TxError> {
        if len > MAX_FRAME_LEN {
            self.stats.tx_dropped_too_long += 1;
            return Err(TxError::TooLong);
        }
        if len < MIN_FRAME_LEN {
            return Err(TxError::TooShort);
        }
        self.reclaim_tx();
        let Some((index, _)) = self.tx_ring.next_buffer() else {
            return Err(TxError::Busy);
        };
        let padded_len = len.max(MIN_TX_FRAME_LEN);
        let buffer = self.tx_buffers.as_ptr().wrapping_add(index * BUFFER_LEN);
        // SAFETY: the descriptor is free (not in flight), so the card does not read its
        // buffer until `hand_over` below, after this slice is gone; the buffer holds
        // BUFFER_LEN >= padded_len bytes and is ours alone.
        let padded = unsafe { core::slice::from_raw_parts_mut(buffer, padded_len) };
        padded.fill(0);
        fill(&mut padded[..len]);
        let tail = self
            .tx_ring
            .submit(&mut self.tx_descriptors, padded_len as u16);
        self.hand_over(TDT, tail);
        Ok(())
    }

    fn transmit_queue_len(&self) -> usize {
        self.tx_ring.capacity()
    }

    /// Takes the oldest received frame straight from its descriptor's buffer and re-arms the
    /// descriptor; RDT moves once per quarter of the ring, and when no finished descriptor is
    /// left (rx_ring.rs says why). The network thread sleeps only after a call that found
    /// nothing, so the card owns every free descriptor whenever nobody is taking frames.
    /// Descriptors the card flagged are dropped and counted on the way (at most a ring's
    /// worth per call).
    fn receive(&mut self, out: &mut [u8]) -> Option<usize> {
        for _ in 0..RX_DESCRIPTORS {
            let Some(event) = self.rx_ring.poll(&self.rx_descriptors) else {
                self.hand_back_rx();
                return None;
            };
            let taken = match event {
                RxEvent::Frame { index, len } => {
                    let copied = len.min(out.len());
                    let buffer = self.rx_buffers.as_ptr().wrapping_add(index * BUFFER_LEN);
                    // SAFETY: poll saw DD set (with the acquire fence of rule 2), so the card
                    // has written these `len` <= BUFFER_LEN bytes and leaves the buffer alone
                    // until `recycle` hands it back below.
                    unsafe { core::ptr::copy_nonoverlapping(buffer, out.as_mut_ptr(), copied) };
                    self.stats.rx_packets += 1;
                    self.stats.rx_bytes += len as u64;
                    Some(copied)
                }
                RxEvent::Dropped(RxDrop::Errors(_)) => {
                    self.stats.rx_errors += 1;
                    None
                }
                RxEvent::Dropped(RxDrop::Fragment | RxDrop::BadLength(_)) => {
                    self.stats.rx_bad_headers += 1;
                    None
                }
            };
            if let Some(tail) = self.rx_ring.recycle(&mut self.rx_descriptors) {
                self.hand_over(RDT, tail);
            }
            if taken.is_some() {
                return taken;
            }
        }
        self.hand_back_rx();
        None
    }

    fn discard_received(&mut self) {
        let mut frame = [0u8; 0];
        // Each call takes one frame (copying none of it); the ring holds at most its length.
        for _ in 0..RX_DESCRIPTORS {
            if self.receive(&mut frame).is_none() {
                break;
            }
        }
    }

    fn stats(&mut self) -> NicStats {
        self.stats
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}
