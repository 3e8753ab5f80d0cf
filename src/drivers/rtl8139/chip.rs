//! The RTL8139 driver's logic: bring-up, the interrupt handler's work, reception with a
//! bounded intake, transmission, and the recovery of each. Every access to the hardware goes
//! through [`ChipIo`], so this file runs unchanged on the chip (src/drivers/rtl8139/pci_chip.rs)
//! and against the host tests' model of it (src/drivers/rtl8139/chip_model.rs).
//!
//! ```text
//!   interrupt ──> service_interrupt: loop (bounded) { read ISR; ISR & IMR == 0? done
//!                   transmit/link bits: acknowledge, then reclaim slots / read BMSR
//!                   receive bits: drain the ring into the queue (one CBR read and one CAPR
//!                                 write per batch), acknowledge after CAPR moved
//!                                 queue full? mask the receive interrupts (pause) }
//!   stack ──> receive: paused and the queue half empty? drain again; the ring empty? unmask
//!   stack ──> transmit: all four slots busy? reclaim (one TSAD read), still busy? unmask TOK;
//!             claim the next slot, fill it, write TSD (hands it over)
//!   network thread ──> watchdog: a slot held too long? reset the chip; a stuck header? reset
//!                                the receiver
//! ```

use super::chip_io::ChipIo;
use super::registers::*;
use super::rx_ring::{
    ETHERNET_HEADER_LEN, MAX_FRAME_LEN, RX_STALL_TIMEOUT_MS, RxError, RxRing, StallClock,
};
use super::tx_slots::{EarlyTxThreshold, TX_ABORT_RETRIES, TX_SLOT_COUNT, TxEvent, TxSlots};
use crate::drivers::nic::frame_queue::{FRAME_BYTES, FrameQueue};
use crate::drivers::nic::{NetworkCard, NicStats, StartError, TxError};
use crate::trace::{self, Step};
use core::any::Any;

/// RBLEN = 2: a 32 KiB ring, room for about twenty full-size frames.
pub const RX_RING_SIZE_CODE: u32 = 2;
/// The ring's length in bytes.
pub const RX_RING_LEN: usize = 8192 << RX_RING_SIZE_CODE;
/// The datasheet asks for 16 bytes beyond the ring (RCR, RBLEN: "8K + 16 byte").
pub const RX_BUFFER_LEN: usize = RX_RING_LEN + 16;
/// Frames buffered between the interrupt handler and the network stack.
pub const RX_QUEUE_FRAMES: usize = 64;
/// The largest frame a transmit descriptor takes (TSD SIZE, datasheet: up to 1792 bytes).
pub const MAX_TX_FRAME_LEN: usize = 1792;
/// Ethernet's minimum frame without CRC. The chip does not pad short frames itself.
const MIN_TX_FRAME_LEN: usize = 60;
/// Reads of CR before giving up on a reset (QEMU finishes at once, real chips in µs).
const RESET_POLLS: u32 = 1_000_000;
/// Rounds of the interrupt handler's loop. Each round reads ISR and serves what it says; a
/// chip that keeps raising events past this many rounds is served again at the next
/// interrupt (the line stays raised), so one handler call cannot run for ever.
pub const MAX_SERVICE_ROUNDS: usize = 8;
/// The transmit configuration: the standard inter-frame gap, 1024-byte DMA bursts.
const TX_CONFIG: u32 = TCR_IFG_STANDARD | TCR_MAX_DMA_1024;

const _: () = assert!(
    MAX_FRAME_LEN <= FRAME_BYTES,
    "a received frame fits a queue buffer"
);

/// Why a drain of the ring stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drained {
    /// The chip says the ring is empty (CR.BUFE).
    Empty,
    /// The queue to the stack is full: the rest stays in the ring.
    QueueFull,
    /// The next header is not complete yet; its stall clock runs.
    Waiting,
    /// A bad or stalled header: the receiver was reset, the ring is empty.
    Reset,
}

/// The driver: the chip behind its [`ChipIo`], and the bookkeeping of ring, queue and slots.
pub struct Rtl8139<C: ChipIo> {
    chip: C,
    mac: [u8; 6],
    rx_ring: RxRing,
    rx_stall: StallClock,
    rx_queue: FrameQueue,
    /// Receive interrupts are masked because `rx_queue` was full: the stack's next
    /// `receive` calls take frames from the ring directly until it is empty.
    rx_paused: bool,
    /// `enable_interrupts` has run: IMR may unmask events.
    interrupts_on: bool,
    tx_slots: TxSlots,
    /// TOK is unmasked: only while all four slots are busy (see `reclaim_when_full`).
    tx_interrupt_armed: bool,
    tx_threshold: EarlyTxThreshold,
    /// ISR read all ones: the chip is gone, and the driver no longer touches it.
    gone: bool,
    stats: NicStats,
}

impl<C: ChipIo> Rtl8139<C> {
    /// Powers on and resets the chip, reads its MAC address and starts the receiver and
    /// transmitter with interrupts still masked (see `NetworkCard::enable_interrupts`).
    pub fn start(chip: C) -> Result<Rtl8139<C>, StartError> {
        let mut nic = Rtl8139 {
            chip,
            mac: [0; 6],
            rx_ring: RxRing::new(RX_RING_LEN),
            rx_stall: StallClock::default(),
            rx_queue: FrameQueue::new(RX_QUEUE_FRAMES),
            rx_paused: false,
            interrupts_on: false,
            tx_slots: TxSlots::new(),
            tx_interrupt_armed: false,
            tx_threshold: EarlyTxThreshold::new(),
            gone: false,
            stats: NicStats::default(),
        };
        // CONFIG1 = 0 clears LWAKE/LWPTN and takes the chip out of its low-power state. The
        // CONFIG registers accept writes only while 9346CR is in config-write mode.
        nic.chip.write8(CR9346, CR9346_CONFIG_WRITE);
        nic.chip.write8(CONFIG1, 0);
        nic.chip.write8(CR9346, CR9346_NORMAL);
        nic.reset()?;
        for i in 0..6 {
            nic.mac[i] = nic.chip.read8(IDR0 + i as u16);
        }
        nic.program();
        Ok(nic)
    }

    /// Whether the PHY reported the link up when last asked.
    pub fn link_up(&self) -> bool {
        self.stats.link_up
    }

    /// Software reset (CR.RST): the chip clears the bit when its registers are back to
    /// their defaults.
    fn reset(&mut self) -> Result<(), StartError> {
        self.chip.write8(CR, CR_RESET);
        for _ in 0..RESET_POLLS {
            if self.chip.read8(CR) & CR_RESET == 0 {
                return Ok(());
            }
            core::hint::spin_loop();
        }
        Err(StartError::ResetTimeout)
    }

    /// Programs the ring and the transmit buffers, enables receiver and transmitter, and
    /// unmasks the interrupts the driver wants now. Run after every reset, which forgets all
    /// of it: the ring starts over at offset 0, every slot is free.
    fn program(&mut self) {
        let ring = self.chip.rx_ring_address();
        self.chip.write32(RBSTART, ring);
        for slot in 0..TX_SLOT_COUNT {
            let address = self.chip.tx_buffer_address(slot);
            self.chip.write32(tsd_address_register(slot), address);
        }
        // TE and RE first: the chip (and QEMU) ignores TCR while the transmitter is off.
        self.chip
            .write8(CR, CR_TRANSMITTER_ENABLE | CR_RECEIVER_ENABLE);
        self.chip.write32(TCR, TX_CONFIG);
        self.chip.write32(RCR, receive_config(RX_RING_SIZE_CODE));
        self.chip.write32(MPC, 0);
        self.rx_ring.reset();
        self.rx_stall.clear();
        self.rx_paused = false;
        self.chip.write16(CAPR, self.rx_ring.capr());
        self.tx_slots = TxSlots::new();
        self.tx_interrupt_armed = false;
        self.update_link();
        let mask = self.interrupt_mask();
        self.chip.write16(IMR, mask);
    }

    /// The recovery of last resort, for a transmitter that stopped: reset the whole chip and
    /// program it again. The frames in the slots are lost (TCP sends them again); those in
    /// the receive queue stay. A chip that does not come back from the reset is given up.
    fn restart(&mut self) {
        self.stats.tx_errors += self.tx_slots.busy() as u64;
        if self.reset().is_err() {
            log::error!("rtl8139: the chip did not come back from its reset; giving up on it");
            self.gone = true;
            self.stats.link_up = false;
            return;
        }
        self.program();
    }

    /// The events IMR lets through: none before `enable_interrupts`; no receive events while
    /// receiving is paused; TOK only while all four transmit slots are busy.
    ///
    /// Why TOK is masked otherwise: a completion interrupt per sent frame is what a driver
    /// that reclaims slots only from its interrupt handler needs, and this one does not. It
    /// reclaims when it needs a slot (`reclaim_when_full`), and the only one waiting for a
    /// completion is a sender that found all four busy, for whom TOK is then unmasked. Under
    /// emulation the interrupt per frame (ISR read and write, TSD reads, two end-of-interrupts,
    /// the network thread woken) cost more than the frame's own transmission. TER stays
    /// unmasked: a failed transmission is handled at once (docs/06-rtl8139.md).
    fn interrupt_mask(&self) -> u16 {
        if !self.interrupts_on {
            return 0;
        }
        let mut mask = INT_HANDLED;
        if self.rx_paused {
            mask &= !INT_RX_EVENTS;
        }
        if !self.tx_interrupt_armed {
            mask &= !INT_TX_OK;
        }
        mask
    }

    /// One round of the interrupt handler, for the events in `pending` (ISR & IMR).
    fn serve(&mut self, pending: u16) {
        // Transmit and link events: acknowledge first, then handle. A completion that comes
        // after the acknowledgement sets its bit again, and the next round sees it.
        self.acknowledge(pending & !INT_RX_EVENTS);
        if pending & (INT_TX_OK | INT_TX_ERROR) != 0 {
            self.reclaim_tx();
            if self.tx_interrupt_armed && !self.tx_slots.is_full() {
                // A slot is free again: the sender that waited can go on, and TOK goes back
                // to being masked.
                self.tx_interrupt_armed = false;
                let mask = self.interrupt_mask();
                self.chip.write16(IMR, mask);
            }
        }
        if pending & INT_LINK_CHANGE != 0 {
            self.link_changed();
        }
        if !self.gone && pending & INT_RX_EVENTS != 0 {
            self.take_received(pending & INT_RX_EVENTS);
        }
    }

    /// Writes `bits` to ISR, which clears them (write-1-to-clear).
    fn acknowledge(&mut self, bits: u16) {
        if bits != 0 {
            self.chip.write16(ISR, bits);
        }
    }

    /// The receive path, from the interrupt handler or from `receive` while paused. Counts
    /// the error events in `status` (ISR's receive bits, just read), moves frames from the
    /// ring to the queue, acknowledges `status` once CAPR has moved, then pauses or resumes
    /// the receive interrupts according to the queue.
    fn take_received(&mut self, status: u16) {
        self.count_receive_events(status);
        let mut drained = self.drain_ring();
        // Acknowledged only now: the datasheet's order (and Linux 8139too's, in rtl8139_rx)
        // is CAPR first, then ROK. Cleared before the drain, ROK would come straight back
        // for the packets still in the ring.
        self.acknowledge(status);
        if trace::expects(Step::Interrupt) {
            trace::step(
                Step::Interrupt,
                "src/drivers/rtl8139/chip.rs Rtl8139::take_received",
                format_args!(
                    "ISR {status:#06x}: drain_ring copied the frame into the frame queue \
                     ({} waiting), moved CAPR, then acknowledged ROK",
                    self.rx_queue.len()
                ),
            );
        }
        if drained == Drained::Empty && !self.ring_is_empty() {
            // A packet that arrived between the last BUFE check and the acknowledgement had
            // its ROK cleared by it: no interrupt would announce it. Take it now.
            drained = self.drain_ring();
        }
        match drained {
            Drained::QueueFull => self.pause_receiving(),
            _ if self.rx_paused => self.resume_receiving(),
            _ => {}
        }
    }

    fn count_receive_events(&mut self, status: u16) {
        if status & INT_RX_ERROR != 0 {
            self.stats.rx_errors += 1;
        }
        if status & INT_RX_FIFO_OVERFLOW != 0 {
            self.stats.rx_fifo_overflows += 1;
        }
        if status & INT_RX_BUFFER_OVERFLOW != 0 {
            // Nothing to repair: the chip dropped what did not fit. Emptying the ring makes
            // room, and CAPR tells the chip so.
            self.stats.rx_ring_overflows += 1;
            self.stats.rx_missed += u64::from(self.chip.read32(MPC) & MPC_COUNT_MASK);
            self.chip.write32(MPC, 0);
        }
    }

    /// Moves complete packets from the ring to the queue until the ring is empty, the queue is
    /// full, or a header needs waiting or a reset.
    ///
    /// The chip is asked once per batch, not once per packet: CBR is read, every packet
    /// before it is taken, then CAPR is written once for all of them and CBR read again. The
    /// ring is empty when the read offset has caught up with a CBR read made after the last
    /// packet was taken (what CR.BUFE says, without a CR read per packet). Under emulation
    /// each port access is a trip out of the guest into QEMU's device model, and a download's
    /// ACKs arrive a few at a time: a CR read, a CBR read and a CAPR write per packet cost
    /// more than copying the packet (docs/09-network.md has the figures).
    ///
    /// A header that looks incomplete against a CBR read made before the last packet was
    /// taken may simply be newer than that read: CBR is read again before the header's stall
    /// clock starts, so only a header incomplete against a fresh CBR is waited on (and reset
    /// after `RX_STALL_TIMEOUT_MS`). Ends within 2 × `RX_QUEUE_FRAMES` + 2 rounds: every
    /// round queues a frame, reads CBR again after one, or returns.
    fn drain_ring(&mut self) -> Drained {
        // Reading CBR is the acquire: what the chip wrote before it moved CBR is in RAM, and
        // the reads of the ring come after this port read (src/drivers/rtl8139/mod.rs).
        let mut write_offset = usize::from(self.chip.read16(CBR));
        // `write_offset` was read after the last packet taken (or none was taken).
        let mut fresh = true;
        // Packets were taken since CAPR was last written.
        let mut capr_behind = false;
        let drained = loop {
            if self.rx_ring.read_offset() == write_offset {
                if fresh {
                    self.rx_stall.clear();
                    break Drained::Empty;
                }
                write_offset = self.next_batch(&mut capr_behind);
                fresh = true;
                continue;
            }
            if self.rx_queue.is_full() {
                break Drained::QueueFull;
            }
            let offset = self.rx_ring.read_offset();
            match self.rx_ring.next_packet(self.chip.rx_ring(), write_offset) {
                Ok(packet) => {
                    self.rx_stall.clear();
                    self.stats.rx_packets += 1;
                    self.stats.rx_bytes += packet.len() as u64;
                    let ring = self.chip.rx_ring();
                    // Cannot fail: the queue had room (checked above).
                    let _ = self.rx_queue.push(packet.len(), |buffer| {
                        packet.copy_to(ring, buffer);
                        if trace::expects(Step::Dma) && trace::is_request_frame(buffer) {
                            trace_received(buffer.len(), offset);
                        }
                    });
                    capr_behind = true;
                    fresh = false;
                }
                Err(RxError::Empty | RxError::Incomplete) if !fresh => {
                    write_offset = self.next_batch(&mut capr_behind);
                    fresh = true;
                }
                Err(RxError::Empty) => {
                    self.rx_stall.clear();
                    break Drained::Empty;
                }
                Err(RxError::Incomplete) => {
                    if !self.rx_stall.expired(self.chip.now_ms()) {
                        break Drained::Waiting;
                    }
                    log::warn!(
                        "rtl8139: the packet at ring offset {:#x} is still incomplete after \
                         {RX_STALL_TIMEOUT_MS} ms (chip at {write_offset:#x}), resetting the receiver",
                        self.rx_ring.read_offset()
                    );
                    self.stats.rx_stalls += 1;
                    self.reset_receiver();
                    return Drained::Reset;
                }
                Err(error) => {
                    log::warn!(
                        "rtl8139: {error:?} at ring offset {:#x} (chip at {write_offset:#x}), \
                         resetting the receiver",
                        self.rx_ring.read_offset()
                    );
                    self.stats.rx_bad_headers += 1;
                    self.reset_receiver();
                    return Drained::Reset;
                }
            }
        };
        self.give_back(&mut capr_behind);
        drained
    }

    /// The batch read so far is taken: gives its space back, then asks how far the chip has
    /// written meanwhile (CBR, the acquire for the next batch).
    fn next_batch(&mut self, capr_behind: &mut bool) -> usize {
        self.give_back(capr_behind);
        usize::from(self.chip.read16(CBR))
    }

    /// Writes CAPR if packets were taken since it was last written. Only after their copies:
    /// from this write on, the chip may overwrite their bytes.
    fn give_back(&mut self, capr_behind: &mut bool) {
        if *capr_behind {
            self.chip.write16(CAPR, self.rx_ring.capr());
            *capr_behind = false;
        }
    }

    pub(super) fn ring_is_empty(&mut self) -> bool {
        self.chip.read8(CR) & CR_BUFFER_EMPTY != 0
    }

    /// After a bad or stalled header the packet boundaries are lost. Turning the receiver off
    /// and on and rewriting RCR puts the chip's ring offsets back to 0; ours follows. Frames
    /// already queued stay valid.
    fn reset_receiver(&mut self) {
        self.stats.receiver_resets += 1;
        self.chip.write8(CR, CR_TRANSMITTER_ENABLE);
        self.chip
            .write8(CR, CR_TRANSMITTER_ENABLE | CR_RECEIVER_ENABLE);
        self.chip.write32(RCR, receive_config(RX_RING_SIZE_CODE));
        self.rx_ring.reset();
        self.rx_stall.clear();
        self.chip.write16(CAPR, self.rx_ring.capr());
    }

    /// The queue is full: stop the receive interrupts. The chip keeps what it can in its ring
    /// and then drops (QEMU, with RXOVW masked, holds frames back), which costs the CPU
    /// nothing; the stack catches up and `receive` starts again. This is Linux's NAPI in
    /// miniature: under a flood the CPU does only the work the stack can use.
    fn pause_receiving(&mut self) {
        if !self.rx_paused {
            self.rx_paused = true;
            self.stats.rx_pauses += 1;
            let mask = self.interrupt_mask();
            self.chip.write16(IMR, mask);
        }
    }

    fn resume_receiving(&mut self) {
        self.rx_paused = false;
        let mask = self.interrupt_mask();
        self.chip.write16(IMR, mask);
    }

    /// Frees the slots the chip has finished with, oldest first, counts them, and recovers
    /// from what went wrong: an abort is retried, an underrun raises the early-transmit
    /// threshold, an abort past its retries resets the chip. One read of the transmit
    /// summary (TSAD at 0x60) tells the state of every slot; none if no slot is busy.
    fn reclaim_tx(&mut self) {
        if self.tx_slots.busy() == 0 {
            return;
        }
        let summary = self.chip.read16(TX_SUMMARY);
        while let Some(slot) = self.tx_slots.oldest_busy() {
            match self
                .tx_slots
                .complete_oldest(tsd_from_summary(summary, slot))
            {
                None | Some(TxEvent::InFlight) => return,
                Some(TxEvent::Sent { len }) => {
                    self.stats.tx_packets += 1;
                    self.stats.tx_bytes += len as u64;
                    if trace::expects(Step::TransmitDone) && trace::mark() == slot {
                        trace::step(
                            Step::TransmitDone,
                            "src/drivers/rtl8139/chip.rs Rtl8139::reclaim_tx",
                            format_args!(
                                "the transmit summary ({summary:#06x}) says slot {slot} is done, \
                                 OWN and TOK: the frame is sent, the slot is free again"
                            ),
                        );
                    }
                }
                Some(TxEvent::RetryAborted) => {
                    // CLRABT: the chip sends the aborted descriptor again; it stays the chip's.
                    self.stats.tx_aborts_retried += 1;
                    self.chip.write32(TCR, TX_CONFIG | TCR_CLEAR_ABORT);
                    return;
                }
                Some(TxEvent::GaveUp { .. }) => {
                    self.stats.tx_errors += 1;
                    log::warn!(
                        "rtl8139: slot {slot} aborted {} times in a row, resetting the chip",
                        TX_ABORT_RETRIES + 1
                    );
                    self.restart();
                    return;
                }
                Some(TxEvent::Underrun { .. }) => {
                    self.stats.tx_errors += 1;
                    self.stats.tx_underruns += 1;
                    if self.tx_threshold.raise() {
                        log::info!(
                            "rtl8139: transmit underrun, early-transmit threshold raised to {} bytes",
                            self.tx_threshold.bytes()
                        );
                    }
                }
            }
        }
    }

    /// Makes room for a frame: when all four slots are busy, takes back those the chip has
    /// finished with; when it still holds all four, unmasks TOK, so that the completion
    /// interrupts and wakes whoever waits for a slot (smoltcp, or the transmit backlog).
    /// Slots are not reclaimed before they are needed: four frames' completions cost one
    /// summary read instead of an interrupt each.
    fn reclaim_when_full(&mut self) {
        if !self.tx_slots.is_full() {
            return;
        }
        self.reclaim_tx();
        if self.gone || !self.tx_slots.is_full() || self.tx_interrupt_armed {
            return;
        }
        // ISR.TOK is set by every completion, masked or not, so it is set now for frames
        // long reclaimed: clear it before unmasking, or it would interrupt at once for
        // nothing. A slot finishing between that write and the unmask sets TOK again and
        // interrupts; one finishing before it is found by the second look here.
        self.acknowledge(INT_TX_OK);
        self.reclaim_tx();
        if !self.gone && self.tx_slots.is_full() {
            self.tx_interrupt_armed = true;
            let mask = self.interrupt_mask();
            self.chip.write16(IMR, mask);
        }
    }

    fn link_changed(&mut self) {
        let was_up = self.stats.link_up;
        self.update_link();
        if self.stats.link_up != was_up {
            let state = if self.stats.link_up { "up" } else { "down" };
            log::info!("rtl8139: link {state}");
        }
    }

    fn update_link(&mut self) {
        self.stats.link_up = self.chip.read16(BMSR) & BMSR_LINK_UP != 0;
    }

    /// ISR read all ones: the chip no longer answers. Said once; from now on the driver
    /// leaves it alone (every call returns at once), and the frames it queued can still be
    /// read.
    fn vanished(&mut self) {
        if !self.gone {
            self.gone = true;
            self.stats.link_up = false;
            log::error!(
                "rtl8139: the chip reads all ones (removed, or dead): no longer touching it"
            );
        }
    }

    /// The chip behind the driver, for the self-tests and the host tests.
    #[cfg(any(test, target_os = "none"))]
    pub(super) fn chip_mut(&mut self) -> &mut C {
        &mut self.chip
    }

    /// Where the next packet's header starts in the ring.
    #[cfg(target_os = "none")]
    pub(super) fn rx_read_offset(&self) -> usize {
        self.rx_ring.read_offset()
    }
}

/// The request trace's first step (src/trace.rs): the frame the chip wrote at `offset`.
fn trace_received(len: usize, offset: usize) {
    trace::step(
        Step::Dma,
        "src/drivers/rtl8139/rx_ring.rs RxRing::next_packet",
        format_args!(
            "the chip wrote a {len}-byte frame (TCP to port 80, with data) by DMA into the RX \
             ring at offset {offset:#x}, and raised ROK and its interrupt line"
        ),
    );
}

/// TSD0-3: the status register of transmit slot `slot` (written to hand a frame over; the
/// driver reads the slots' status through the summary register instead).
fn tsd_register(slot: usize) -> u16 {
    TSD0 + 4 * slot as u16
}

/// TSAD0-3: the buffer address register of transmit slot `slot`.
fn tsd_address_register(slot: usize) -> u16 {
    TSAD0 + 4 * slot as u16
}

/// The RTL8139 behind the interface the network stack uses (src/drivers/nic/card.rs).
impl<C: ChipIo + Send + 'static> NetworkCard for Rtl8139<C> {
    fn mac(&self) -> [u8; 6] {
        self.mac
    }

    fn enable_interrupts(&mut self) {
        if self.gone {
            return;
        }
        self.interrupts_on = true;
        let mask = self.interrupt_mask();
        self.chip.write16(IMR, mask);
    }

    /// Loops until `ISR & IMR == 0`, at most [`MAX_SERVICE_ROUNDS`] times. The PCI line is
    /// level-triggered: a bit left set and unmasked would interrupt again right after the
    /// end-of-interrupt.
    fn service_interrupt(&mut self) -> bool {
        if self.gone {
            return false;
        }
        let mut handled = false;
        for _ in 0..MAX_SERVICE_ROUNDS {
            let status = self.chip.read16(ISR);
            if status == ISR_DEVICE_GONE {
                self.vanished();
                return handled;
            }
            let pending = status & self.interrupt_mask();
            if pending == 0 {
                if handled {
                    self.stats.interrupts += 1;
                }
                return handled;
            }
            handled = true;
            self.serve(pending);
            if self.gone {
                return true;
            }
        }
        self.stats.interrupts += 1;
        self.stats.interrupt_round_limits += 1;
        true
    }

    fn can_transmit(&mut self) -> bool {
        if self.gone {
            return false;
        }
        self.reclaim_when_full();
        !self.gone && !self.tx_slots.is_full()
    }

    /// Lends the next slot's own buffer to `fill`, which writes the frame there (smoltcp
    /// builds it in place: src/drivers/nic/device.rs), zero-pads it and starts its
    /// transmission. `fill` runs only once the slot is claimed, so a refusal leaves the
    /// caller its frame to make.
    fn transmit_with(
        &mut self,
        len: usize,
        fill: &mut dyn FnMut(&mut [u8]),
    ) -> Result<(), TxError> {
        if self.gone {
            return Err(TxError::NoCard);
        }
        if len > MAX_TX_FRAME_LEN {
            self.stats.tx_dropped_too_long += 1;
            return Err(TxError::TooLong);
        }
        if len < ETHERNET_HEADER_LEN {
            return Err(TxError::TooShort);
        }
        self.reclaim_when_full();
        if self.gone {
            return Err(TxError::NoCard);
        }
        let now = self.chip.now_ms();
        let Some(slot) = self.tx_slots.claim(len, now) else {
            return Err(TxError::Busy);
        };
        let padded_len = len.max(MIN_TX_FRAME_LEN);
        let mut traced = false;
        self.chip
            .fill_tx_buffer(slot, len, padded_len, &mut |buffer: &mut [u8]| {
                fill(buffer);
                traced = trace::expects(Step::Transmit) && trace::is_answer_frame(buffer);
            });
        // Writing SIZE (with OWN clear) hands the slot to the chip and starts its DMA. This
        // port write is the release: the frame written above is in RAM before it happens.
        self.chip.write32(
            tsd_register(slot),
            padded_len as u32 | self.tx_threshold.tsd_bits(),
        );
        if traced {
            trace::set_mark(slot);
            trace::step(
                Step::Transmit,
                "src/drivers/rtl8139/chip.rs Rtl8139::transmit_with",
                format_args!(
                    "smoltcp wrote the answer's first {len}-byte frame into TX slot {slot}, the \
                     driver wrote its length to TSD{slot}: the chip starts the DMA"
                ),
            );
        }
        Ok(())
    }

    fn transmit_queue_len(&self) -> usize {
        TX_SLOT_COUNT
    }

    /// While receiving is paused, a queue half empty is refilled from the ring first; the
    /// ring found empty, the receive interrupts come back on.
    fn receive(&mut self, out: &mut [u8]) -> Option<usize> {
        if self.rx_paused && !self.gone && self.rx_queue.len() <= self.rx_queue.capacity() / 2 {
            let status = self.chip.read16(ISR);
            if status == ISR_DEVICE_GONE {
                self.vanished();
            } else {
                self.take_received(status & INT_RX_EVENTS);
            }
        }
        self.rx_queue.pop(|frame| {
            let len = frame.len().min(out.len());
            out[..len].copy_from_slice(&frame[..len]);
            len
        })
    }

    fn discard_received(&mut self) {
        self.rx_queue.clear();
    }

    /// The counters, with the slots the chip has finished so far counted as sent (they are
    /// otherwise taken back only when needed).
    fn stats(&mut self) -> NicStats {
        if !self.gone {
            self.reclaim_tx();
        }
        self.stats
    }

    /// A transmit slot held past `TX_TIMEOUT_MS`: the chip is reset. A receive header stuck
    /// past `RX_STALL_TIMEOUT_MS` with no interrupt to notice it: the receiver is reset. The
    /// answer is the nearer of the two deadlines still running.
    fn watchdog(&mut self) -> Option<u64> {
        if self.gone {
            return None;
        }
        let now = self.chip.now_ms();
        self.reclaim_tx();
        if !self.gone && self.tx_slots.timed_out(now) {
            self.stats.tx_timeouts += 1;
            log::warn!(
                "rtl8139: transmit timeout: slot {} held by the chip for {} ms, resetting the chip",
                self.tx_slots.oldest_busy().unwrap_or(0),
                super::tx_slots::TX_TIMEOUT_MS
            );
            self.restart();
        }
        if !self.gone && self.rx_stall.deadline_ms().is_some_and(|due| now >= due) {
            self.take_received(0);
        }
        if self.gone {
            return None;
        }
        [self.tx_slots.deadline_ms(), self.rx_stall.deadline_ms()]
            .into_iter()
            .flatten()
            .min()
            .map(|deadline| deadline.saturating_sub(now))
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

#[cfg(test)]
mod tests;
