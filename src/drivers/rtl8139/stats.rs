//! The driver's counters, for the status page and the tests.

use core::fmt;

/// What the driver has seen since it started. A snapshot: [`super::stats`] copies it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NicStats {
    /// Frames taken out of the receive ring (including those the queue then dropped).
    pub rx_packets: u64,
    pub rx_bytes: u64,
    /// Frames handed to the chip that it reported sent (TOK).
    pub tx_packets: u64,
    pub tx_bytes: u64,
    /// Received frames dropped because the queue to the network stack was full.
    pub rx_dropped: u64,
    /// Headers with an impossible status or length, each followed by a receiver reset.
    pub rx_bad_headers: u64,
    /// RER interrupts: the chip saw a damaged frame.
    pub rx_errors: u64,
    /// RXOVW interrupts: the ring was full and the chip dropped frames.
    pub rx_ring_overflows: u64,
    /// FOVW interrupts: the chip's receive FIFO overflowed.
    pub rx_fifo_overflows: u64,
    /// Frames the chip could not store, from its MPC register.
    pub rx_missed: u64,
    /// Receiver resets (after bad headers).
    pub receiver_resets: u64,
    /// Frames the chip failed to send (TABT or TUN).
    pub tx_errors: u64,
    /// Frames refused because all four transmit slots were busy.
    pub tx_dropped_full: u64,
    /// Frames refused because they were longer than a transmit buffer.
    pub tx_dropped_too_long: u64,
    /// Interrupts in which the chip had something to report.
    pub interrupts: u64,
    /// From the PHY's basic mode status register.
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
