//! The counters every network-card driver keeps, for the status page and the tests. Each
//! driver maps its chip's events onto them (the RTL8139's RXOVW and the e1000's "receive
//! descriptors ran out" are both a full ring); a counter a chip has no event for stays 0.

use core::fmt;

/// What the driver has seen since it started. A snapshot: `nic::stats` copies it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NicStats {
    /// Frames taken from the card (including those the queue then dropped).
    pub rx_packets: u64,
    pub rx_bytes: u64,
    /// Frames the card reported sent.
    pub tx_packets: u64,
    pub tx_bytes: u64,
    /// Received frames dropped because the queue to the network stack was full.
    pub rx_dropped: u64,
    /// Receive descriptors or headers with an impossible status or length (RTL8139: each
    /// followed by a receiver reset; e1000: a fragment or a bad length, the descriptor recycled).
    pub rx_bad_headers: u64,
    /// The card saw a damaged frame (RTL8139: RER interrupts; e1000: a descriptor's error bits).
    pub rx_errors: u64,
    /// The receive ring was full and the card dropped frames (RTL8139: RXOVW interrupts;
    /// e1000: RNBC, frames that found no free descriptor).
    pub rx_ring_overflows: u64,
    /// The card's receive FIFO overflowed (RTL8139: FOVW interrupts; e1000: RXO interrupts).
    pub rx_fifo_overflows: u64,
    /// Frames the card could not store (its missed-packet counter, MPC on both).
    pub rx_missed: u64,
    /// Receiver resets (after bad headers).
    pub receiver_resets: u64,
    /// Frames the card failed to send (RTL8139: TABT or TUN; e1000: STA.EC or STA.LC).
    pub tx_errors: u64,
    /// Frames refused because every transmit buffer (RTL8139) or descriptor (e1000) was busy.
    pub tx_dropped_full: u64,
    /// Frames refused because they were longer than a transmit buffer.
    pub tx_dropped_too_long: u64,
    /// Interrupts in which the card had something to report.
    pub interrupts: u64,
    /// The link state the card last reported.
    pub link_up: bool,
}

impl fmt::Display for NicStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let link = if self.link_up { "up" } else { "down" };
        writeln!(f, "link: {link}")?;
        writeln!(
            f,
            "rx: {} packets, {} bytes",
            self.rx_packets, self.rx_bytes
        )?;
        writeln!(
            f,
            "tx: {} packets, {} bytes",
            self.tx_packets, self.tx_bytes
        )?;
        writeln!(
            f,
            "rx drops: {} queue full, {} missed by the chip",
            self.rx_dropped, self.rx_missed
        )?;
        writeln!(
            f,
            "rx faults: {} errors, {} bad headers, {} receiver resets, {} ring overflows, {} FIFO overflows",
            self.rx_errors,
            self.rx_bad_headers,
            self.receiver_resets,
            self.rx_ring_overflows,
            self.rx_fifo_overflows
        )?;
        writeln!(
            f,
            "tx faults: {} errors, {} dropped (slots busy), {} dropped (too long)",
            self.tx_errors, self.tx_dropped_full, self.tx_dropped_too_long
        )?;
        writeln!(f, "interrupts: {}", self.interrupts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_counter() {
        let stats = NicStats {
            rx_packets: 3,
            tx_bytes: 120,
            rx_ring_overflows: 1,
            link_up: true,
            ..NicStats::default()
        };
        let text = stats.to_string();
        assert!(text.starts_with("link: up\n"));
        assert!(text.contains("rx: 3 packets, 0 bytes"));
        assert!(text.contains("tx: 0 packets, 120 bytes"));
        assert!(text.contains("1 ring overflows"));
        assert_eq!(text.lines().count(), 7);
    }
}
