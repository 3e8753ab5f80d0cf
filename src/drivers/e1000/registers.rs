//! The e1000's registers, as byte offsets into its memory BAR, with the bits this driver uses.
//!
//! Names, offsets and bits follow Intel's "PCI/PCI-X Family of Gigabit Ethernet Controllers
//! Software Developer's Manual" (the 8254x manual; "SDM" below), section 13 "Register
//! Descriptions"; the 82574L keeps the same names and offsets for everything used here
//! (82574L datasheet, section 10), except EERD's field layout ([`EerdLayout`]). Every register
//! is 32 bits wide and must be accessed as a whole (SDM 13.3: no byte or word accesses).

/// CTRL: device control (SDM 13.4.1).
pub const CTRL: u32 = 0x0000;
/// STATUS: device status, read-only (SDM 13.4.2).
pub const STATUS: u32 = 0x0008;
/// EERD: EEPROM read, one 16-bit word at a time (SDM 13.4.4).
pub const EERD: u32 = 0x0014;
/// ICR: interrupt cause read; reading clears it, and so does writing 1b (SDM 13.4.17).
pub const ICR: u32 = 0x00c0;
/// IMS: interrupt mask set/read: writing 1b unmasks a cause (SDM 13.4.20).
pub const IMS: u32 = 0x00d0;
/// IMC: interrupt mask clear: writing 1b masks a cause (SDM 13.4.21).
pub const IMC: u32 = 0x00d8;
/// RCTL: receive control (SDM 13.4.22).
pub const RCTL: u32 = 0x0100;
/// TCTL: transmit control (SDM 13.4.33).
pub const TCTL: u32 = 0x0400;
/// TIPG: transmit inter-packet gap (SDM 13.4.34).
pub const TIPG: u32 = 0x0410;
/// RDBAL, RDBAH: receive descriptor ring base, low and high 32 bits (SDM 13.4.26-27).
pub const RDBAL: u32 = 0x2800;
pub const RDBAH: u32 = 0x2804;
/// RDLEN: the receive ring's length in bytes, a multiple of 128 (SDM 13.4.28).
pub const RDLEN: u32 = 0x2808;
/// RDH: receive descriptor head, the next descriptor the device fills (SDM 13.4.29).
pub const RDH: u32 = 0x2810;
/// RDT: receive descriptor tail, one past the last descriptor handed to the device (SDM 13.4.30).
pub const RDT: u32 = 0x2818;
/// TDBAL, TDBAH: transmit descriptor ring base (SDM 13.4.38-39).
pub const TDBAL: u32 = 0x3800;
pub const TDBAH: u32 = 0x3804;
/// TDLEN: the transmit ring's length in bytes, a multiple of 128 (SDM 13.4.40).
pub const TDLEN: u32 = 0x3808;
/// TDH: transmit descriptor head, the next descriptor the device sends (SDM 13.4.41).
pub const TDH: u32 = 0x3810;
/// TDT: transmit descriptor tail, one past the last descriptor queued (SDM 13.4.42).
pub const TDT: u32 = 0x3818;
/// MPC: missed packets count: frames lost because the receive FIFO was full; clears on
/// read (SDM 13.7.4).
pub const MPC: u32 = 0x4010;
/// RNBC: receive no buffers count: frames that found no free receive descriptor; clears on
/// read (SDM 13.7.33).
pub const RNBC: u32 = 0x40a0;
/// MTA: the multicast table array, 128 registers of 32 bits (SDM 13.5.1).
pub const MTA: u32 = 0x5200;
/// How many registers the multicast table has.
pub const MTA_ENTRIES: u32 = 128;
/// RAL0, RAH0: receive address 0, the station address (SDM 13.5.2-3).
pub const RAL0: u32 = 0x5400;
pub const RAH0: u32 = 0x5404;

/// CTRL bit 5, ASDE: auto-speed detection (the PHY negotiates the speed; SDM 13.4.1).
pub const CTRL_ASDE: u32 = 1 << 5;
/// CTRL bit 6, SLU: set link up; the MAC follows the PHY's link (SDM 13.4.1, 14.3).
pub const CTRL_SLU: u32 = 1 << 6;
/// CTRL bit 26, RST: device reset; self-clearing once the reset is done (SDM 13.4.1).
pub const CTRL_RST: u32 = 1 << 26;
/// CTRL bit 30, VME: VLAN mode; left off (SDM 13.4.1).
pub const CTRL_VME: u32 = 1 << 30;
/// CTRL bit 31, PHY_RST: PHY reset; must be 0 for the link to come up (SDM 13.4.1).
pub const CTRL_PHY_RST: u32 = 1 << 31;

/// STATUS bit 1, LU: link up (SDM 13.4.2).
pub const STATUS_LU: u32 = 1 << 1;

/// ICR/IMS/IMC bit 0, TXDW: a transmit descriptor with RS was written back (SDM 13.4.17).
pub const INT_TXDW: u32 = 1 << 0;
/// Bit 1, TXQE: the transmit queue ran empty.
pub const INT_TXQE: u32 = 1 << 1;
/// Bit 2, LSC: the link status changed.
pub const INT_LSC: u32 = 1 << 2;
/// Bit 4, RXDMT0: free receive descriptors fell to the minimum threshold (RCTL.RDMTS).
pub const INT_RXDMT0: u32 = 1 << 4;
/// Bit 6, RXO: receiver overrun: the receive FIFO was full, frames were dropped.
pub const INT_RXO: u32 = 1 << 6;
/// Bit 7, RXT0: receiver timer: a frame was stored (at once, with RDTR = 0).
pub const INT_RXT0: u32 = 1 << 7;
/// The receive causes.
pub const INT_RX_EVENTS: u32 = INT_RXT0 | INT_RXO | INT_RXDMT0;
/// The transmit causes.
pub const INT_TX_EVENTS: u32 = INT_TXDW | INT_TXQE;
/// Everything this driver unmasks in IMS.
pub const INT_HANDLED: u32 = INT_RX_EVENTS | INT_TX_EVENTS | INT_LSC;
/// Every cause, for IMC: mask them all.
pub const INT_ALL: u32 = 0xffff_ffff;

/// RCTL bit 1, EN: receiver enable (SDM 13.4.22).
pub const RCTL_EN: u32 = 1 << 1;
/// RCTL bit 2, SBP: store bad packets; left clear, so damaged frames never reach the ring.
pub const RCTL_SBP: u32 = 1 << 2;
/// RCTL bit 3, UPE: unicast promiscuous; left clear.
pub const RCTL_UPE: u32 = 1 << 3;
/// RCTL bit 5, LPE: long packets (> 1522 bytes); left clear, so a frame fits one buffer.
pub const RCTL_LPE: u32 = 1 << 5;
/// RCTL bits 9:8, RDMTS = 00: RXDMT0 fires when the descriptors the device still owns fall
/// to half of the ring.
pub const RCTL_RDMTS_HALF: u32 = 0b00 << 8;
/// RCTL bit 15, BAM: accept broadcast frames (ARP and DHCP need them).
pub const RCTL_BAM: u32 = 1 << 15;
/// RCTL bits 17:16, BSIZE = 00 with BSEX = 0: 2048-byte receive buffers.
pub const RCTL_BSIZE_2048: u32 = 0b00 << 16;
/// RCTL bit 25, BSEX: buffer size extension (x16); left clear.
pub const RCTL_BSEX: u32 = 1 << 25;
/// RCTL bit 26, SECRC: strip the Ethernet CRC before storing the frame.
pub const RCTL_SECRC: u32 = 1 << 26;

/// TCTL bit 1, EN: transmitter enable (SDM 13.4.33).
pub const TCTL_EN: u32 = 1 << 1;
/// TCTL bit 3, PSP: pad short packets to 64 bytes (with CRC). The driver pads in software
/// as well: see `MIN_TX_FRAME_LEN` in chip.rs.
pub const TCTL_PSP: u32 = 1 << 3;
/// TCTL bits 11:4, CT: collision threshold, 0Fh as the manual recommends (SDM 13.4.33).
pub const TCTL_CT_RECOMMENDED: u32 = 0x0f << 4;
/// TCTL bits 21:12, COLD: collision distance, 40h (64-byte times) for full duplex.
pub const TCTL_COLD_FULL_DUPLEX: u32 = 0x40 << 12;

/// TIPG for the copper (IEEE 802.3) PHYs: IPGT = 10 in bits 9:0, IPGR1 = 8 in bits 19:10,
/// IPGR2 = 6 in bits 29:20 (SDM 13.4.34, table 13-77: 82540EP/EM copper values).
pub const TIPG_COPPER: u32 = 10 | 8 << 10 | 6 << 20;

/// RAH bit 31, AV: the address in RAL/RAH is valid and used by the receive filter (SDM 13.5.3).
pub const RAH_AV: u32 = 1 << 31;

/// The RCTL value: receiver on, our MAC and broadcast, 2 KiB buffers, CRC stripped, bad
/// frames dropped by the card, no promiscuous mode, no long frames, no loopback.
pub const fn receive_control() -> u32 {
    RCTL_EN | RCTL_BAM | RCTL_BSIZE_2048 | RCTL_SECRC | RCTL_RDMTS_HALF
}

/// The TCTL value: transmitter on, short frames padded, the recommended collision values.
pub const fn transmit_control() -> u32 {
    TCTL_EN | TCTL_PSP | TCTL_CT_RECOMMENDED | TCTL_COLD_FULL_DUPLEX
}

/// EERD is laid out two ways: the 8254x puts DONE in bit 4 and the word address in bits 15:8
/// (SDM 13.4.4); the 82541/82547 and the 82574L put DONE in bit 1 and the address in bits
/// 15:2 (82574L datasheet 10.2.2.4). START is bit 0 and the data bits 31:16 in both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EerdLayout {
    /// 82540EM, 82545EM.
    Pci,
    /// 82574L.
    PciExpress,
}

impl EerdLayout {
    const START: u32 = 1 << 0;

    /// The layout of the card with this PCI device ID: the 82574L's \[8086:10d3\] uses the
    /// PCI Express one, the 8254x the original.
    pub fn for_device(device_id: u16) -> EerdLayout {
        match device_id {
            0x10d3 => EerdLayout::PciExpress,
            _ => EerdLayout::Pci,
        }
    }

    fn done_bit(self) -> u32 {
        match self {
            EerdLayout::Pci => 1 << 4,
            EerdLayout::PciExpress => 1 << 1,
        }
    }

    fn address_shift(self) -> u32 {
        match self {
            EerdLayout::Pci => 8,
            EerdLayout::PciExpress => 2,
        }
    }

    /// The value to write to EERD to start reading EEPROM word `word`.
    pub fn request(self, word: u8) -> u32 {
        Self::START | u32::from(word) << self.address_shift()
    }

    /// The word read, once EERD says DONE.
    pub fn data(self, eerd: u32) -> Option<u16> {
        (eerd & self.done_bit() != 0).then_some((eerd >> 16) as u16)
    }
}

/// EEPROM words 00h-02h hold the Ethernet address, low byte first (SDM 5.6.1, table 5-2).
pub const EEPROM_ETHERNET_ADDRESS_WORDS: u8 = 3;

/// The station address from RAL0 and RAH0 (the address is stored low byte first), if RAH0
/// says it is valid.
pub fn mac_from_receive_address(ral: u32, rah: u32) -> Option<[u8; 6]> {
    let [a, b, c, d] = ral.to_le_bytes();
    let [e, f, _, _] = rah.to_le_bytes();
    (rah & RAH_AV != 0).then_some([a, b, c, d, e, f])
}

/// The station address from EEPROM words 0-2.
pub fn mac_from_eeprom(words: [u16; 3]) -> [u8; 6] {
    let [a, b] = words[0].to_le_bytes();
    let [c, d] = words[1].to_le_bytes();
    let [e, f] = words[2].to_le_bytes();
    [a, b, c, d, e, f]
}

/// RAL0 and RAH0 (with AV) for a station address.
pub fn receive_address(mac: [u8; 6]) -> (u32, u32) {
    let ral = u32::from_le_bytes([mac[0], mac[1], mac[2], mac[3]]);
    let rah = u32::from_le_bytes([mac[4], mac[5], 0, 0]) | RAH_AV;
    (ral, rah)
}

#[cfg(test)]
mod tests {
    use super::*;

    const QEMU_MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

    #[test]
    fn receive_control_strips_the_crc_and_takes_no_long_or_bad_frames() {
        let rctl = receive_control();
        assert_ne!(rctl & RCTL_SECRC, 0);
        assert_eq!(rctl & (RCTL_LPE | RCTL_SBP | RCTL_UPE | RCTL_BSEX), 0);
        assert_eq!(rctl, 0x0400_8002);
    }

    #[test]
    fn transmit_control_pads_short_frames() {
        assert_eq!(transmit_control(), 0x0004_00fa);
        assert_eq!(TIPG_COPPER, 0x0060_200a);
    }

    #[test]
    fn the_mac_address_round_trips_through_ral_and_rah() {
        let (ral, rah) = receive_address(QEMU_MAC);
        assert_eq!((ral, rah), (0x1200_5452, 0x8000_5634));
        assert_eq!(mac_from_receive_address(ral, rah), Some(QEMU_MAC));
        assert_eq!(mac_from_receive_address(ral, rah & !RAH_AV), None);
    }

    #[test]
    fn the_mac_address_from_eeprom_words() {
        assert_eq!(mac_from_eeprom([0x5452, 0x1200, 0x5634]), QEMU_MAC);
    }

    #[test]
    fn eerd_in_both_layouts() {
        assert_eq!(EerdLayout::Pci.request(2), 0x0201);
        assert_eq!(EerdLayout::PciExpress.request(2), 0x0009);
        assert_eq!(EerdLayout::Pci.data(0x5634_0211), Some(0x5634));
        assert_eq!(
            EerdLayout::Pci.data(0x5634_0201),
            None,
            "DONE (bit 4) clear"
        );
        assert_eq!(EerdLayout::PciExpress.data(0x5634_000b), Some(0x5634));
        assert_eq!(
            EerdLayout::PciExpress.data(0x5634_0009),
            None,
            "DONE (bit 1) clear"
        );
    }

    #[test]
    fn the_82574l_uses_the_pci_express_eerd() {
        assert_eq!(EerdLayout::for_device(0x10d3), EerdLayout::PciExpress);
        assert_eq!(EerdLayout::for_device(0x100e), EerdLayout::Pci);
    }

    #[test]
    fn interrupt_groups_are_disjoint() {
        assert_eq!(INT_RX_EVENTS & INT_TX_EVENTS, 0);
        assert_eq!(INT_HANDLED, 0xd7);
    }
}
