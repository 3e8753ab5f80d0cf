//! The counters every network-card driver keeps, for the status page and the tests. Each
//! driver maps its chip's events onto them (the RTL8139's RXOVW and the e1000's "receive
//! descriptors ran out" are both a full ring); a counter a chip has no event for stays 0.
//! The transmit backlog's two counters are added by src/drivers/nic/active.rs
//! (`TxBacklog::add_counts`): a driver leaves them at 0.

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
    /// Times the driver stopped taking frames from the card (receive interrupts masked)
    /// because the queue to the network stack was full; the card then holds or drops what
    /// arrives, at no cost to the CPU, until the stack catches up.
    pub rx_pauses: u64,
    /// Receive descriptors or headers with an impossible status or length (RTL8139: each
    /// followed by a receiver reset; e1000: a fragment or a bad length, the descriptor recycled).
    pub rx_bad_headers: u64,
    /// Receive headers the card never finished writing (a stalled DMA), each followed by a
    /// receiver reset.
    pub rx_stalls: u64,
    /// The card saw a damaged frame (RTL8139: RER interrupts; e1000: a descriptor's error bits).
    pub rx_errors: u64,
    /// The receive ring was full and the card dropped frames (RTL8139: RXOVW interrupts;
    /// e1000: RNBC, frames that found no free descriptor).
    pub rx_ring_overflows: u64,
    /// The card's receive FIFO overflowed (RTL8139: FOVW interrupts; e1000: RXO interrupts).
    pub rx_fifo_overflows: u64,
    /// Frames the card could not store (its missed-packet counter, MPC on both).
    pub rx_missed: u64,
    /// Receiver resets (after bad or stalled headers).
    pub receiver_resets: u64,
    /// Frames the card failed to send and that are lost (RTL8139: TUN, TABT after the
    /// retries, frames in flight when the chip was reset; e1000: STA.EC or STA.LC).
    pub tx_errors: u64,
    /// Aborted transmissions the card was told to try again (RTL8139: TABT, then CLRABT).
    pub tx_aborts_retried: u64,
    /// Transmit FIFO underruns (RTL8139: TUN); each raises the early-transmit threshold.
    pub tx_underruns: u64,
    /// Watchdog resets: a transmit buffer stayed with the card far longer than a frame takes.
    pub tx_timeouts: u64,
    /// Frames that waited in the transmit backlog because every transmit buffer (RTL8139) or
    /// descriptor (e1000) was busy.
    pub tx_backlogged: u64,
    /// Frames dropped because every transmit buffer and the backlog were full.
    pub tx_dropped_full: u64,
    /// Frames refused because they were longer than a transmit buffer.
    pub tx_dropped_too_long: u64,
    /// Interrupts in which the card had something to report.
    pub interrupts: u64,
    /// Interrupts whose handler stopped at its bound of rounds with events still pending
    /// (the line stays raised, and the next interrupt goes on).
    pub interrupt_round_limits: u64,
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
            "rx drops: {} queue full, {} missed by the chip, {} pauses",
            self.rx_dropped, self.rx_missed, self.rx_pauses
        )?;
        writeln!(
            f,
            "rx faults: {} errors, {} bad headers, {} stalled headers, {} receiver resets, \
             {} ring overflows, {} FIFO overflows",
            self.rx_errors,
            self.rx_bad_headers,
            self.rx_stalls,
            self.receiver_resets,
            self.rx_ring_overflows,
            self.rx_fifo_overflows
        )?;
        writeln!(
            f,
            "tx faults: {} errors, {} aborts retried, {} underruns, {} timeouts",
            self.tx_errors, self.tx_aborts_retried, self.tx_underruns, self.tx_timeouts
        )?;
        writeln!(
            f,
            "tx backlog: {} waited, {} dropped (buffers and backlog full), {} dropped (too long)",
            self.tx_backlogged, self.tx_dropped_full, self.tx_dropped_too_long
        )?;
        writeln!(
            f,
            "interrupts: {} ({} stopped at the round limit)",
            self.interrupts, self.interrupt_round_limits
        )
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
            tx_timeouts: 2,
            tx_backlogged: 5,
            link_up: true,
            ..NicStats::default()
        };
        let text = stats.to_string();
        assert!(text.starts_with("link: up\n"));
        assert!(text.contains("rx: 3 packets, 0 bytes"));
        assert!(text.contains("tx: 0 packets, 120 bytes"));
        assert!(text.contains("1 ring overflows"));
        assert!(text.contains("2 timeouts"));
        assert!(text.contains("tx backlog: 5 waited"));
        assert_eq!(text.lines().count(), 8);
    }
}
