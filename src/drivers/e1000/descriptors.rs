//! Legacy receive and transmit descriptors: 16 bytes each, in rings in RAM that the driver and
//! the device both read and write.
//!
//! ```text
//!  receive (SDM 3.2.3, table 3-1)            transmit, legacy (SDM 3.3.3, table 3-8)
//!  byte 0        buffer address (64 bit)     byte 0        buffer address (64 bit)
//!  byte 8  length (16) | checksum (16)       byte 8  length (16) | CSO (8) | CMD (8)
//!  byte 12 status (8)  | errors (8)          byte 12 STA (4), RSV (4) | CSS (8)
//!  byte 14 special (16)                      byte 14 special (16)
//! ```
//!
//! Both put the DD ("descriptor done") bit in bit 0 of byte 12: the device sets it when it has
//! written a received frame, or sent a frame whose descriptor asked for a report (RS). The
//! driver's pure logic (rx_ring.rs, tx_ring.rs) reaches a ring only through
//! [`DescriptorRing`], which the kernel implements over DMA memory with the ordering rule of
//! src/drivers/e1000/mod.rs and the host tests implement over a model of the hardware.

/// The size of one legacy descriptor.
pub const DESCRIPTOR_LEN: usize = 16;
/// Where the status byte (RX) or the STA field (TX) sits in a descriptor.
pub const STATUS_OFFSET: usize = 12;

/// Status bit 0, DD: descriptor done (RX: SDM 3.2.3.1; TX: STA, SDM 3.3.3.2).
pub const STATUS_DD: u8 = 1 << 0;
/// RX status bit 1, EOP: this descriptor holds the end of a frame (SDM 3.2.3.1).
pub const RX_STATUS_EOP: u8 = 1 << 1;
/// RX errors (SDM 3.2.3.2): CE (CRC), SE (symbol), SEQ (sequence), CXE (carrier extension),
/// RXE (data). With RCTL.SBP clear the device stores no such frame; one that shows up anyway
/// is dropped. TCPE and IPE (checksum offload) are not used: RXCSUM is left at its default
/// and smoltcp checks every checksum itself.
pub const RX_ERRORS_FRAME: u8 = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 4) | (1 << 7);

/// TX CMD bit 0, EOP: the last descriptor of a frame (SDM 3.3.3.1).
pub const TX_CMD_EOP: u8 = 1 << 0;
/// TX CMD bit 1, IFCS: the device appends the Ethernet CRC.
pub const TX_CMD_IFCS: u8 = 1 << 1;
/// TX CMD bit 3, RS: report status: the device sets DD once the frame is sent.
pub const TX_CMD_RS: u8 = 1 << 3;

/// A ring of descriptors as the ring logic sees it.
pub trait DescriptorRing {
    /// How many descriptors the ring holds.
    fn len(&self) -> usize;

    /// Whether the ring holds no descriptor (never, for a ring in use).
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Descriptor `index`, if the device has set its DD bit: its two 64-bit words, read only
    /// after DD was seen (the kernel's implementation orders the reads with an acquire fence).
    fn read_done(&self, index: usize) -> Option<[u64; 2]>;

    /// Overwrites descriptor `index` (the device does not own it at that moment).
    fn write(&mut self, index: usize, words: [u64; 2]);
}

/// What the device wrote back into a receive descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxWriteBack {
    pub length: u16,
    pub status: u8,
    pub errors: u8,
}

impl RxWriteBack {
    /// Decodes the second word of a receive descriptor.
    pub fn from_words(words: [u64; 2]) -> RxWriteBack {
        let word = words[1];
        RxWriteBack {
            length: word as u16,
            status: (word >> 32) as u8,
            errors: (word >> 40) as u8,
        }
    }

    /// The words of a receive descriptor as the device writes it back (for the models).
    pub fn to_words(self, buffer: u64) -> [u64; 2] {
        [
            buffer,
            u64::from(self.length) | u64::from(self.status) << 32 | u64::from(self.errors) << 40,
        ]
    }
}

/// A receive descriptor handed to the device: a buffer address, every other field 0 (the DD
/// bit in particular: the driver must see it clear until the device sets it).
pub fn empty_rx_descriptor(buffer: u64) -> [u64; 2] {
    [buffer, 0]
}

/// A transmit descriptor for one whole frame of `length` bytes at `buffer`: EOP (all of it),
/// IFCS (the device appends the CRC), RS (report when sent). CSO, CSS and special stay 0: no
/// checksum offload, no VLAN tag.
pub fn tx_descriptor(buffer: u64, length: u16) -> [u64; 2] {
    let command = TX_CMD_EOP | TX_CMD_IFCS | TX_CMD_RS;
    [buffer, u64::from(length) | u64::from(command) << 24]
}

/// A transmit descriptor as the driver wrote it: (buffer, length, CMD, STA).
pub fn decode_tx_descriptor(words: [u64; 2]) -> (u64, u16, u8, u8) {
    let word = words[1];
    (
        words[0],
        word as u16,
        (word >> 24) as u8,
        (word >> 32) as u8 & 0x0f,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rx_write_back_round_trips() {
        let back = RxWriteBack {
            length: 1514,
            status: STATUS_DD | RX_STATUS_EOP,
            errors: 0,
        };
        let words = back.to_words(0x12_3000);
        assert_eq!(words, [0x12_3000, 0x0000_0003_0000_05ea]);
        assert_eq!(RxWriteBack::from_words(words), back);
    }

    #[test]
    fn the_status_byte_is_byte_12_in_both_kinds() {
        // Bit 32 of the second word is bit 0 of byte 8 + 4 = 12, little-endian.
        let bytes = RxWriteBack {
            length: 0,
            status: STATUS_DD,
            errors: 0,
        }
        .to_words(0)[1]
            .to_le_bytes();
        assert_eq!(bytes[STATUS_OFFSET - 8], STATUS_DD);
        let sent = tx_descriptor(0, 60)[1] | u64::from(STATUS_DD) << 32;
        assert_eq!(sent.to_le_bytes()[STATUS_OFFSET - 8], STATUS_DD);
    }

    #[test]
    fn tx_descriptor_asks_for_crc_and_a_report() {
        let words = tx_descriptor(0xabc000, 60);
        assert_eq!(words, [0xabc000, 0x0b00_003c]);
        assert_eq!(
            decode_tx_descriptor(words),
            (0xabc000, 60, TX_CMD_EOP | TX_CMD_IFCS | TX_CMD_RS, 0)
        );
    }

    #[test]
    fn an_empty_rx_descriptor_is_not_done() {
        let words = empty_rx_descriptor(0x5000);
        assert_eq!(RxWriteBack::from_words(words).status & STATUS_DD, 0);
    }
}
