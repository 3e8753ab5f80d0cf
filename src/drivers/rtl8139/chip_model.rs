//! A model of the RTL8139 for the host tests: registers, receive ring and transmit slots that
//! behave as the datasheet (and QEMU's rtl8139.c) describe, plus the faults QEMU never
//! produces: a transmission aborted or underrun, a transmitter that hangs, a receive header
//! left unfinished, ISR bits that will not clear, a chip that reads all ones.
//!
//! It implements [`ChipIo`], so the tests run the driver's own code (src/drivers/rtl8139/chip.rs)
//! against it, and they read what the driver did from its fields.

use super::chip::RX_RING_LEN;
use super::chip_io::ChipIo;
use super::registers::*;
use super::rx_ring::{CRC_LEN, LENGTH_STILL_COPYING, RX_HEADER_LEN, RX_STATUS_OK, ring_model};
use super::tx_slots::TX_SLOT_COUNT;

/// What the model does with a frame handed to a transmit slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxBehaviour {
    /// Sends it: OWN and TOK set, TOK raised.
    Send,
    /// Aborts it this many more times (TABT, TER raised) before sending it; each abort waits
    /// for TCR.CLRABT.
    Abort(u32),
    /// Underruns every frame: OWN and TUN set, TER raised.
    Underrun,
    /// Never finishes: the slot stays the chip's.
    Hang,
}

/// Something the chip does at a moment a test chooses (see `ChipModel::on_capr_write`).
pub type ChipAction = Box<dyn FnOnce(&mut ChipModel) + Send>;

pub struct ChipModel {
    pub mac: [u8; 6],
    pub now_ms: u64,
    /// The ring as the chip writes it (the 16 bytes of slack after it are not modelled).
    pub ring: Vec<u8>,
    /// The chip's write offset (CBR) and its idea of the driver's read offset (CAPR + 16).
    pub write_offset: usize,
    pub read_offset: usize,
    pub isr: u16,
    pub imr: u16,
    pub receiver_on: bool,
    pub transmitter_on: bool,
    pub tcr: u32,
    pub mpc: u32,
    pub link_up: bool,
    pub tsd: [u32; TX_SLOT_COUNT],
    pub tx_buffers: [Vec<u8>; TX_SLOT_COUNT],
    /// The slot the chip serves next (it serves them strictly in turn), and the slots handed
    /// to it and not finished.
    pub current_tx: usize,
    pub handed: [bool; TX_SLOT_COUNT],
    pub tx_behaviour: TxBehaviour,
    /// Frames that went out, in order.
    pub sent: Vec<Vec<u8>>,
    /// ISR bits that read as set whatever is written (a chip stuck raising an event).
    pub stuck_isr: u16,
    /// The chip is gone: every read returns all ones.
    pub gone: bool,
    /// Register accesses made after the chip was gone.
    pub accesses_while_gone: usize,
    /// A frame the chip receives at the moment the driver writes ISR, before the write takes
    /// effect: the race between the last BUFE check and the acknowledgement.
    pub receive_on_isr_write: Option<Vec<u8>>,
    /// What the chip does the next time the driver writes CAPR (after the write): frames
    /// that arrive, or a packet finished, while the driver works through a batch.
    pub on_capr_write: Option<ChipAction>,
    /// Where `receive_unfinished` left a packet half written.
    unfinished_at: Option<usize>,
    /// Every register write, in order: (register, value).
    pub writes: Vec<(u16, u32)>,
    /// Every register read, in order.
    pub reads: Vec<u16>,
    /// Software resets (CR.RST) and receiver resets (RCR writes after the first).
    pub chip_resets: usize,
    pub rcr_writes: usize,
    /// A frame was written into a transmit buffer the chip still owned.
    pub busy_buffer_overwritten: bool,
}

impl ChipModel {
    /// A chip just powered on: link up, every slot owned by the host.
    pub fn new() -> ChipModel {
        ChipModel {
            mac: [0x52, 0x54, 0x00, 0x12, 0x34, 0x56],
            now_ms: 1_000,
            ring: vec![0; RX_RING_LEN],
            write_offset: 0,
            read_offset: 0,
            isr: 0,
            imr: 0,
            receiver_on: false,
            transmitter_on: false,
            tcr: 0,
            mpc: 0,
            link_up: true,
            tsd: [TSD_OWN; TX_SLOT_COUNT],
            tx_buffers: core::array::from_fn(|_| vec![0; 1792]),
            current_tx: 0,
            handed: [false; TX_SLOT_COUNT],
            tx_behaviour: TxBehaviour::Send,
            sent: Vec::new(),
            stuck_isr: 0,
            gone: false,
            accesses_while_gone: 0,
            receive_on_isr_write: None,
            on_capr_write: None,
            unfinished_at: None,
            writes: Vec::new(),
            reads: Vec::new(),
            chip_resets: 0,
            rcr_writes: 0,
            busy_buffer_overwritten: false,
        }
    }

    /// Bytes of the ring the chip may still write before it reaches unread data.
    fn room(&self) -> usize {
        let unread = (self.write_offset + RX_RING_LEN - self.read_offset) % RX_RING_LEN;
        RX_RING_LEN - unread - 1
    }

    /// The chip receives `frame` from the wire: written to the ring with ROK raised, or
    /// counted as missed with RXOVW raised when the ring has no room. Returns whether it was
    /// stored.
    pub fn receive(&mut self, frame: &[u8]) -> bool {
        if !self.receiver_on || self.gone {
            return false;
        }
        let needed = (RX_HEADER_LEN + frame.len() + CRC_LEN + 3) & !3;
        if needed > self.room() {
            self.isr |= INT_RX_BUFFER_OVERFLOW;
            self.mpc += 1;
            return false;
        }
        self.write_offset = ring_model::receive(&mut self.ring, self.write_offset, frame);
        self.isr |= INT_RX_OK;
        true
    }

    /// The chip starts a packet of `frame_len` bytes and stops after its header, which says
    /// "still copying" (0xfff0) if `still_copying`, else the packet's length; CBR moves by
    /// `written` bytes. ROK is raised, as early receive would.
    pub fn receive_unfinished(&mut self, frame_len: usize, still_copying: bool, written: usize) {
        let length = if still_copying {
            LENGTH_STILL_COPYING
        } else {
            (frame_len + CRC_LEN) as u16
        };
        let at = self.write_offset;
        self.unfinished_at = Some(at);
        self.ring[at..at + 2].copy_from_slice(&RX_STATUS_OK.to_le_bytes());
        self.ring[at + 2..at + 4].copy_from_slice(&length.to_le_bytes());
        self.write_offset = (at + written) % RX_RING_LEN;
        self.isr |= INT_RX_OK;
    }

    /// A transmitter that hung (`TxBehaviour::Hang`) gets going again: it sends every slot
    /// handed to it, raising TOK for each.
    pub fn resume_sending(&mut self) {
        self.tx_behaviour = TxBehaviour::Send;
        self.serve_slots();
    }

    /// How many times `register` was read.
    pub fn reads_of(&self, register: u16) -> usize {
        self.reads.iter().filter(|&&read| read == register).count()
    }

    /// How many times `register` was written.
    pub fn writes_to(&self, register: u16) -> usize {
        self.writes
            .iter()
            .filter(|&&(written, _)| written == register)
            .count()
    }

    /// TSAD (0x60) as QEMU's rtl8139.c computes it from the four TSD registers.
    fn transmit_summary(&self) -> u32 {
        let mut summary = 0;
        for (slot, tsd) in self.tsd.iter().enumerate() {
            for (group, bit) in [
                (3, TSD_TX_OK),
                (2, TSD_UNDERRUN),
                (1, TSD_ABORTED),
                (0, TSD_OWN),
            ] {
                if tsd & bit != 0 {
                    summary |= 1 << (group * 4 + slot);
                }
            }
        }
        summary
    }

    /// The chip finishes the packet `receive_unfinished` started, as `frame`.
    pub fn finish_unfinished(&mut self, frame: &[u8]) {
        let at = self
            .unfinished_at
            .take()
            .expect("a packet was left unfinished");
        self.write_offset = ring_model::receive(&mut self.ring, at, frame);
        self.isr |= INT_RX_OK;
    }

    fn reset(&mut self) {
        self.chip_resets += 1;
        self.isr = 0;
        self.imr = 0;
        self.receiver_on = false;
        self.transmitter_on = false;
        self.tcr = 0;
        self.write_offset = 0;
        self.read_offset = 0;
        self.tsd = [TSD_OWN; TX_SLOT_COUNT];
        self.current_tx = 0;
        self.handed = [false; TX_SLOT_COUNT];
    }

    /// The chip sends the handed slots in turn, from the current one, until one does not
    /// finish (aborted, hung) or none is left.
    fn serve_slots(&mut self) {
        while self.transmitter_on && self.handed[self.current_tx] {
            let slot = self.current_tx;
            if !self.transmit(slot) {
                return;
            }
            self.handed[slot] = false;
            self.current_tx = (slot + 1) % TX_SLOT_COUNT;
        }
    }

    /// The chip works on `slot`, as `tx_behaviour` says; returns whether it is done with it.
    fn transmit(&mut self, slot: usize) -> bool {
        let len = (self.tsd[slot] & TSD_SIZE_MASK) as usize;
        match self.tx_behaviour {
            TxBehaviour::Send => {
                self.sent.push(self.tx_buffers[slot][..len].to_vec());
                self.tsd[slot] |= TSD_OWN | TSD_TX_OK;
                self.isr |= INT_TX_OK;
                true
            }
            TxBehaviour::Abort(0) => {
                self.tx_behaviour = TxBehaviour::Send;
                self.transmit(slot)
            }
            TxBehaviour::Abort(times) => {
                self.tx_behaviour = TxBehaviour::Abort(times - 1);
                self.tsd[slot] |= TSD_ABORTED;
                self.isr |= INT_TX_ERROR;
                false
            }
            TxBehaviour::Underrun => {
                self.tsd[slot] |= TSD_OWN | TSD_UNDERRUN;
                self.isr |= INT_TX_ERROR;
                true
            }
            TxBehaviour::Hang => false,
        }
    }

    fn read(&mut self, register: u16, width: u32) -> u32 {
        if self.gone {
            self.accesses_while_gone += 1;
            return u32::MAX >> (32 - width);
        }
        self.reads.push(register);
        match register {
            _ if (IDR0..IDR0 + 6).contains(&register) => {
                u32::from(self.mac[usize::from(register - IDR0)])
            }
            _ if (TSD0..TSD0 + 16).contains(&register) => {
                self.tsd[usize::from(register - TSD0) / 4]
            }
            CR => {
                let empty = self.write_offset == self.read_offset;
                let bit = |on: bool, bit: u8| if on { bit } else { 0 };
                u32::from(
                    bit(empty, CR_BUFFER_EMPTY)
                        | bit(self.receiver_on, CR_RECEIVER_ENABLE)
                        | bit(self.transmitter_on, CR_TRANSMITTER_ENABLE),
                )
            }
            CBR => self.write_offset as u32,
            TX_SUMMARY => self.transmit_summary(),
            ISR => u32::from(self.isr | self.stuck_isr),
            IMR => u32::from(self.imr),
            MPC => self.mpc,
            BMSR => u32::from(u16::from(self.link_up) * BMSR_LINK_UP),
            _ => 0,
        }
    }

    fn write(&mut self, register: u16, value: u32) {
        if self.gone {
            self.accesses_while_gone += 1;
            return;
        }
        self.writes.push((register, value));
        match register {
            _ if (TSD0..TSD0 + 16).contains(&register) => {
                let slot = usize::from(register - TSD0) / 4;
                assert!(!self.handed[slot], "slot {slot} handed over twice");
                // Writing SIZE with OWN clear hands the slot over.
                self.tsd[slot] = value & !(TSD_OWN | TSD_TX_OK | TSD_UNDERRUN | TSD_ABORTED);
                self.handed[slot] = true;
                self.serve_slots();
            }
            CR => {
                if value as u8 & CR_RESET != 0 {
                    self.reset();
                } else {
                    self.receiver_on = value as u8 & CR_RECEIVER_ENABLE != 0;
                    self.transmitter_on = value as u8 & CR_TRANSMITTER_ENABLE != 0;
                }
            }
            CAPR => {
                self.read_offset = usize::from((value as u16).wrapping_add(16)) % RX_RING_LEN;
                if let Some(then) = self.on_capr_write.take() {
                    then(self);
                }
            }
            ISR => {
                if let Some(frame) = self.receive_on_isr_write.take() {
                    self.receive(&frame);
                }
                self.isr &= !(value as u16);
            }
            IMR => self.imr = value as u16,
            TCR => {
                self.tcr = value & !TCR_CLEAR_ABORT;
                let slot = self.current_tx;
                if value & TCR_CLEAR_ABORT != 0 && self.tsd[slot] & TSD_ABORTED != 0 {
                    self.tsd[slot] &= !TSD_ABORTED;
                    self.serve_slots();
                }
            }
            RCR => {
                // QEMU: writing RCR puts both ring offsets back to 0.
                self.rcr_writes += 1;
                self.write_offset = 0;
                self.read_offset = 0;
            }
            MPC => self.mpc = 0,
            _ => {}
        }
    }

    /// Whether the ISR writes so far acknowledged ROK only after a CAPR write: the order the
    /// datasheet asks for.
    pub fn rok_acknowledged_after_capr(&self) -> bool {
        let mut capr_seen = false;
        for &(register, value) in &self.writes {
            match register {
                CAPR => capr_seen = true,
                ISR if value as u16 & INT_RX_OK != 0 && !capr_seen => return false,
                _ => {}
            }
        }
        true
    }
}

impl ChipIo for ChipModel {
    type Ring = [u8];

    fn read8(&mut self, register: u16) -> u8 {
        self.read(register, 8) as u8
    }

    fn read16(&mut self, register: u16) -> u16 {
        self.read(register, 16) as u16
    }

    fn read32(&mut self, register: u16) -> u32 {
        self.read(register, 32)
    }

    fn write8(&mut self, register: u16, value: u8) {
        self.write(register, u32::from(value));
    }

    fn write16(&mut self, register: u16, value: u16) {
        self.write(register, u32::from(value));
    }

    fn write32(&mut self, register: u16, value: u32) {
        self.write(register, value);
    }

    fn rx_ring(&self) -> &[u8] {
        &self.ring
    }

    fn rx_ring_address(&self) -> u32 {
        0x10_0000
    }

    fn tx_buffer_address(&self, slot: usize) -> u32 {
        0x20_0000 + 0x1000 * slot as u32
    }

    fn fill_tx_buffer(
        &mut self,
        slot: usize,
        len: usize,
        padded_len: usize,
        fill: &mut dyn FnMut(&mut [u8]),
    ) {
        let owned_by_host = self.tsd[slot] & TSD_OWN != 0;
        if !owned_by_host {
            self.busy_buffer_overwritten = true;
        }
        self.tx_buffers[slot][..padded_len].fill(0);
        fill(&mut self.tx_buffers[slot][..len]);
    }

    fn now_ms(&self) -> u64 {
        self.now_ms
    }
}
