//! The RTL8139's registers, as offsets into its I/O BAR, with the bits this driver uses.
//! Names and offsets follow the Realtek RTL8139(A/B/C) datasheet, section 5 "Register
//! Descriptions" (Linux's 8139too calls some of them differently: CR is ChipCmd, CAPR is
//! RxBufPtr, CBR is RxBufAddr, TSD is TxStatus, TSAD is TxAddr).

/// IDR0-5: the station (MAC) address, loaded from the EEPROM at reset.
pub const IDR0: u16 = 0x00;
/// TSD0-3: transmit status of descriptor 0-3 (4 bytes each).
pub const TSD0: u16 = 0x10;
/// TSAD0-3: transmit start address of descriptor 0-3, a 32-bit physical address.
pub const TSAD0: u16 = 0x20;
/// RBSTART: receive buffer start address, a 32-bit physical address.
pub const RBSTART: u16 = 0x30;
/// CR: command register.
pub const CR: u16 = 0x37;
/// CAPR: current address of packet read, kept 16 bytes behind the real read offset.
pub const CAPR: u16 = 0x38;
/// CBR: current buffer address, the chip's write offset in the receive ring.
pub const CBR: u16 = 0x3a;
/// IMR: interrupt mask register.
pub const IMR: u16 = 0x3c;
/// ISR: interrupt status register, write 1 to clear a bit.
pub const ISR: u16 = 0x3e;
/// TCR: transmit configuration register.
pub const TCR: u16 = 0x40;
/// RCR: receive configuration register.
pub const RCR: u16 = 0x44;
/// MPC: missed packet counter (packets lost because the receive FIFO was full).
pub const MPC: u16 = 0x4c;
/// 9346CR: EEPROM command register; its mode bits unlock the CONFIG registers.
pub const CR9346: u16 = 0x50;
/// CONFIG1: power management and LED configuration.
pub const CONFIG1: u16 = 0x52;
/// TSAD (0x60, not to be confused with TSAD0-3 at 0x20): the transmit status of all four
/// descriptors in one 16-bit read; Linux calls it TxSummary. See [`tsd_from_summary`].
pub const TX_SUMMARY: u16 = 0x60;
/// BMSR: basic mode status register of the built-in PHY (IEEE 802.3 register 1).
pub const BMSR: u16 = 0x64;

/// CR bit 4, RST: resets the chip; reads 1 until the reset is done.
pub const CR_RESET: u8 = 1 << 4;
/// CR bit 3, RE: receiver enable.
pub const CR_RECEIVER_ENABLE: u8 = 1 << 3;
/// CR bit 2, TE: transmitter enable.
pub const CR_TRANSMITTER_ENABLE: u8 = 1 << 2;
/// CR bit 0, BUFE: the receive ring is empty (read-only).
pub const CR_BUFFER_EMPTY: u8 = 1 << 0;

/// ISR/IMR bit 0, ROK: a packet was received.
pub const INT_RX_OK: u16 = 1 << 0;
/// ISR/IMR bit 1, RER: a packet had a receive error.
pub const INT_RX_ERROR: u16 = 1 << 1;
/// ISR/IMR bit 2, TOK: a transmission completed.
pub const INT_TX_OK: u16 = 1 << 2;
/// ISR/IMR bit 3, TER: a transmission failed (aborted or underrun).
pub const INT_TX_ERROR: u16 = 1 << 3;
/// ISR/IMR bit 4, RXOVW: the receive ring was full, packets were dropped.
pub const INT_RX_BUFFER_OVERFLOW: u16 = 1 << 4;
/// ISR/IMR bit 5, PUN/LinkChg: packet underrun or link change.
pub const INT_LINK_CHANGE: u16 = 1 << 5;
/// ISR/IMR bit 6, FOVW: the receive FIFO overflowed.
pub const INT_RX_FIFO_OVERFLOW: u16 = 1 << 6;
/// The events of the receive path: acknowledged only after the ring has been drained and
/// CAPR moved, and masked together while the queue to the network stack is full.
pub const INT_RX_EVENTS: u16 =
    INT_RX_OK | INT_RX_ERROR | INT_RX_BUFFER_OVERFLOW | INT_RX_FIFO_OVERFLOW;
/// Everything this driver handles. RXOVW is unmasked on purpose while the driver takes
/// frames: with it masked, QEMU stops delivering when the ring is full instead of reporting
/// the overflow, which hides bugs. While the queue is full it is masked with the other
/// receive events, and QEMU's holding back is what the driver wants then.
pub const INT_HANDLED: u16 = INT_RX_EVENTS | INT_TX_OK | INT_TX_ERROR | INT_LINK_CHANGE;
/// What every register of a device reads once it is gone (surprise removal, a dead link):
/// the bus returns all ones. ISR cannot be 0xFFFF otherwise: bits 7-12 are reserved, 0.
pub const ISR_DEVICE_GONE: u16 = 0xffff;

/// TSD bits 12:0, SIZE: the number of bytes to send; writing it starts the DMA.
pub const TSD_SIZE_MASK: u32 = 0x1fff;
/// TSD bit 13, OWN: the chip has finished copying the frame into its FIFO.
pub const TSD_OWN: u32 = 1 << 13;
/// TSD bit 14, TUN: the FIFO ran empty during transmission (underrun).
pub const TSD_UNDERRUN: u32 = 1 << 14;
/// TSD bit 15, TOK: the frame went out.
pub const TSD_TX_OK: u32 = 1 << 15;
/// TSD bits 21:16, ERTXTH: start sending once this many 32-byte units are in the FIFO
/// (src/drivers/rtl8139/tx_slots.rs: `EarlyTxThreshold`).
pub const TSD_EARLY_TX_THRESHOLD_SHIFT: u32 = 16;
/// TSD bit 30, TABT: the transmission was aborted (excessive collisions).
pub const TSD_ABORTED: u32 = 1 << 30;

/// TCR bit 0, CLRABT: after a transmit abort (TSD.TABT), the chip sends the aborted
/// descriptor again. Allowed only in the abort state.
pub const TCR_CLEAR_ABORT: u32 = 1 << 0;
/// TCR bits 25:24, IFG: 11 = the standard 9.6 µs inter-frame gap (802.3).
pub const TCR_IFG_STANDARD: u32 = 0b11 << 24;
/// TCR bits 10:8, MXDMA: 110 = 1024-byte DMA bursts.
pub const TCR_MAX_DMA_1024: u32 = 0b110 << 8;

/// RCR bit 1, APM: accept frames sent to our MAC address.
pub const RCR_ACCEPT_PHYSICAL_MATCH: u32 = 1 << 1;
/// RCR bit 3, AB: accept broadcast frames (ARP and DHCP need them).
pub const RCR_ACCEPT_BROADCAST: u32 = 1 << 3;
/// RCR bit 7, WRAP: 0 = a frame that reaches the end of the ring continues at its start.
pub const RCR_WRAP: u32 = 1 << 7;
/// RCR bits 10:8, MXDMA: 111 = unlimited DMA burst.
pub const RCR_MAX_DMA_UNLIMITED: u32 = 0b111 << 8;
/// RCR bits 12:11, RBLEN: ring size 8K << RBLEN (plus 16 bytes).
pub const RCR_RING_LENGTH_SHIFT: u32 = 11;
/// RCR bits 15:13, RXFTH: 111 = no threshold, copy a frame to RAM once it is complete.
pub const RCR_FIFO_THRESHOLD_NONE: u32 = 0b111 << 13;

/// 9346CR bits 7:6 (EEM) = 11: configuration registers writable.
pub const CR9346_CONFIG_WRITE: u8 = 0b11 << 6;
/// 9346CR bits 7:6 (EEM) = 00: normal operation, configuration registers locked.
pub const CR9346_NORMAL: u8 = 0;

/// MPC holds a 24-bit count; the top byte is reserved.
pub const MPC_COUNT_MASK: u32 = 0x00ff_ffff;

/// BMSR bit 2: the link is up.
pub const BMSR_LINK_UP: u16 = 1 << 2;

/// Slot `slot`'s bits of the transmit summary register (TSAD at 0x60), as the TSD bits they
/// mirror. The datasheet packs one bit per descriptor in four groups: TOK3-0 in bits 15:12,
/// TUN3-0 in 11:8, TABT3-0 in 7:4 and OWN3-0 in 3:0. One read tells the state of all four
/// slots where reading TSD0-3 takes one read each, and each port access is a trip out of
/// the guest under emulation.
pub fn tsd_from_summary(summary: u16, slot: usize) -> u32 {
    let bit = |group: usize| summary >> (group * 4 + slot) & 1 != 0;
    let mut tsd = 0;
    for (group, tsd_bit) in [
        (3, TSD_TX_OK),
        (2, TSD_UNDERRUN),
        (1, TSD_ABORTED),
        (0, TSD_OWN),
    ] {
        if bit(group) {
            tsd |= tsd_bit;
        }
    }
    tsd
}

/// The RCR value for a ring of `8 KiB << size_code` bytes, without WRAP: a frame that
/// crosses the end of the ring is split, the driver joins the two pieces.
pub const fn receive_config(size_code: u32) -> u32 {
    RCR_ACCEPT_PHYSICAL_MATCH
        | RCR_ACCEPT_BROADCAST
        | RCR_MAX_DMA_UNLIMITED
        | RCR_FIFO_THRESHOLD_NONE
        | size_code << RCR_RING_LENGTH_SHIFT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receive_config_for_a_32k_ring() {
        let rcr = receive_config(2);
        assert_eq!(
            rcr & RCR_WRAP,
            0,
            "WRAP must stay clear: the driver joins split frames"
        );
        assert_eq!((rcr >> RCR_RING_LENGTH_SHIFT) & 0b11, 2);
        assert_eq!(rcr, 0xf70a);
    }

    #[test]
    fn summary_bits_map_to_each_slots_tsd() {
        // Slot 0: OWN alone (in the FIFO, not sent yet); slot 1: OWN and TOK (sent);
        // slot 2: OWN and TUN (underrun); slot 3: TABT (aborted).
        let summary = (1 << 0) | (1 << 13) | (1 << 1) | (1 << 10) | (1 << 2) | (1 << 7);
        assert_eq!(tsd_from_summary(summary, 0), TSD_OWN);
        assert_eq!(tsd_from_summary(summary, 1), TSD_OWN | TSD_TX_OK);
        assert_eq!(tsd_from_summary(summary, 2), TSD_OWN | TSD_UNDERRUN);
        assert_eq!(tsd_from_summary(summary, 3), TSD_ABORTED);
        assert_eq!(
            tsd_from_summary(0xffff, 2),
            TSD_OWN | TSD_TX_OK | TSD_UNDERRUN | TSD_ABORTED
        );
    }

    #[test]
    fn rx_events_and_tx_events_are_disjoint() {
        assert_eq!(INT_RX_EVENTS & (INT_TX_OK | INT_TX_ERROR), 0);
        assert_eq!(INT_HANDLED, 0x7f);
    }
}
