//! The figures the API reports. The HTTP layer sits on top of every other layer, but it does
//! not reach into them: kmain hands it a [`KernelProbe`] that gathers plain data
//! ([`SchedulerInfo`], [`MemoryInfo`], ...), and the server counts its own work in
//! [`HttpCounters`]. So this module, and the JSON built from it, is pure and host-tested.

use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// One thread, as the scheduler describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadInfo {
    pub id: u64,
    pub name: String,
    /// "running", "ready", "blocked", "sleeping", "finished"...: the scheduler's words.
    pub state: &'static str,
    /// Timer ticks (milliseconds) spent running.
    pub ticks: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchedulerInfo {
    pub context_switches: u64,
    pub threads: Vec<ThreadInfo>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryInfo {
    pub frames_total: u64,
    pub frames_free: u64,
    pub heap_bytes: u64,
    pub heap_used_bytes: u64,
}

/// The network interface: the card, its address, and its counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NicInfo {
    pub model: &'static str,
    /// The driver that runs the card ("rtl8139", "e1000"), empty without a card.
    pub driver: &'static str,
    /// "52:54:00:12:34:56".
    pub mac: String,
    pub irq: u8,
    /// "10.0.2.15/24", or empty while DHCP has not answered.
    pub address: String,
    pub rx_packets: u64,
    pub tx_packets: u64,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub rx_errors: u64,
    /// Frames lost under load: the ring was full (RXOVW interrupts), the chip's FIFO
    /// overflowed, the chip missed them (MPC), or the queue to the stack was full.
    pub rx_ring_overflows: u64,
    pub rx_fifo_overflows: u64,
    pub rx_missed: u64,
    pub rx_dropped: u64,
    /// Times the driver paused its receive interrupts because the stack was behind.
    pub rx_pauses: u64,
    /// Receiver resets after a damaged or stalled ring header.
    pub receiver_resets: u64,
    /// Frames lost on the way out (aborted, underrun, in flight at a reset).
    pub tx_errors: u64,
    /// Watchdog resets of the card: a transmit buffer held far too long.
    pub tx_timeouts: u64,
    /// Frames that waited for a transmit buffer, and those dropped when none came free.
    pub tx_backlogged: u64,
    pub tx_dropped: u64,
    pub interrupts: u64,
    pub link_up: bool,
    /// TCP sockets in use and the most there can be.
    pub tcp_sockets_used: u64,
    pub tcp_sockets_max: u64,
    /// Sockets given back and still finishing their close (src/net/stack.rs: `reap_closed`).
    pub tcp_sockets_closing: u64,
    /// Half-open connections (SYN received, never ACKed) given up since boot.
    pub half_open_expired: u64,
}

/// One PCI function.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PciDeviceInfo {
    pub bus: u8,
    pub device: u8,
    pub function: u8,
    pub vendor_id: u16,
    pub device_id: u16,
    pub class: u8,
    pub subclass: u8,
    /// The legacy interrupt line, if the function uses one.
    pub irq: Option<u8>,
    /// What the kernel knows it to be ("RTL8139 network controller"), or the class name.
    pub description: String,
    /// Its implemented Base Address Registers, in slot order.
    pub bars: Vec<PciBarInfo>,
}

/// One Base Address Register of a PCI function: a range of ports or of physical addresses
/// where the function's registers answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PciBarInfo {
    /// Which of the six BARs, 0 to 5.
    pub slot: u8,
    /// `true`: I/O ports; `false`: memory (physical addresses).
    pub is_io: bool,
    pub address: u64,
    /// Ports or bytes.
    pub size: u64,
    /// Memory BARs only: a 64-bit BAR (one that also takes the next slot).
    pub is_64_bit: bool,
    /// Memory BARs only: reads have no side effects, so the range may be cached.
    pub prefetchable: bool,
}

/// Where the API's figures come from. kmain implements it over the real layers; the tests
/// implement it with fixed numbers.
pub trait KernelProbe: Sync {
    fn uptime_ms(&self) -> u64;
    fn scheduler(&self) -> SchedulerInfo;
    fn memory(&self) -> MemoryInfo;
    fn nic(&self) -> NicInfo;
    fn pci_devices(&self) -> Vec<PciDeviceInfo>;
}

/// The server's own counters, updated by the connections as they go. Some are gauges (what
/// is true now: open, parked, waiting, busy), the rest count events since boot.
#[derive(Debug, Default)]
pub struct HttpCounters {
    pub connections_accepted: AtomicU64,
    /// Open connections: parked, with the poller, waiting for a worker or at one.
    pub connections_active: AtomicU64,
    /// Connections answered 503 at once: their client address held too many, or the
    /// server had no connection to spare.
    pub connections_rejected: AtomicU64,
    /// Open connections parked, waiting for the network or a deadline (no thread holds them).
    pub connections_parked: AtomicU64,
    /// Connections with a complete request head waiting for a worker.
    pub requests_waiting: AtomicU64,
    /// Connections reset because the client stopped taking the response.
    pub connections_aborted: AtomicU64,
    pub requests: AtomicU64,
    pub responses_2xx: AtomicU64,
    pub responses_4xx: AtomicU64,
    pub responses_5xx: AtomicU64,
    pub bytes_sent: AtomicU64,
    pub workers_busy: AtomicU64,
}

/// A copy of [`HttpCounters`] at one moment, plus the pool size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HttpInfo {
    pub connections_accepted: u64,
    pub connections_active: u64,
    pub connections_rejected: u64,
    pub connections_parked: u64,
    pub requests_waiting: u64,
    pub connections_aborted: u64,
    pub requests: u64,
    pub responses_2xx: u64,
    pub responses_4xx: u64,
    pub responses_5xx: u64,
    pub bytes_sent: u64,
    pub workers_busy: u64,
    pub workers: u64,
}

impl HttpCounters {
    pub const fn new() -> HttpCounters {
        HttpCounters {
            connections_accepted: AtomicU64::new(0),
            connections_active: AtomicU64::new(0),
            connections_rejected: AtomicU64::new(0),
            connections_parked: AtomicU64::new(0),
            requests_waiting: AtomicU64::new(0),
            connections_aborted: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            responses_2xx: AtomicU64::new(0),
            responses_4xx: AtomicU64::new(0),
            responses_5xx: AtomicU64::new(0),
            bytes_sent: AtomicU64::new(0),
            workers_busy: AtomicU64::new(0),
        }
    }

    /// Counts one response with this status code in its class. The 3xx answers (304 to a
    /// revalidation) have no counter of their own: counting them is exercise 10.2.
    pub fn count_response(&self, code: u16) {
        let counter = match code {
            200..=299 => &self.responses_2xx,
            400..=499 => &self.responses_4xx,
            500..=599 => &self.responses_5xx,
            _ => return,
        };
        counter.fetch_add(1, Relaxed);
    }

    pub fn snapshot(&self, workers: u64) -> HttpInfo {
        HttpInfo {
            connections_accepted: self.connections_accepted.load(Relaxed),
            connections_active: self.connections_active.load(Relaxed),
            connections_rejected: self.connections_rejected.load(Relaxed),
            connections_parked: self.connections_parked.load(Relaxed),
            requests_waiting: self.requests_waiting.load(Relaxed),
            connections_aborted: self.connections_aborted.load(Relaxed),
            requests: self.requests.load(Relaxed),
            responses_2xx: self.responses_2xx.load(Relaxed),
            responses_4xx: self.responses_4xx.load(Relaxed),
            responses_5xx: self.responses_5xx.load(Relaxed),
            bytes_sent: self.bytes_sent.load(Relaxed),
            workers_busy: self.workers_busy.load(Relaxed),
            workers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_response_counts_in_its_own_class_and_a_304_is_not_an_error() {
        let counters = HttpCounters::new();
        for code in [200, 206, 304, 404, 413, 503] {
            counters.count_response(code);
        }
        let info = counters.snapshot(8);
        assert_eq!(info.responses_2xx, 2);
        assert_eq!(info.responses_4xx, 2);
        assert_eq!(info.responses_5xx, 1);
    }
}
