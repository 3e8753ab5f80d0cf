//! What the web API reports, gathered from every layer. The HTTP server only knows the
//! [`KernelProbe`] trait and plain data (src/http/stats.rs); this is where kmain's binary
//! fills that data from the scheduler, the memory manager, the driver, the stack and PCI.

use alloc::string::ToString;
use alloc::vec::Vec;
use kernel::drivers::nic::{self, MacAddress};
use kernel::http::stats::{
    KernelProbe, MemoryInfo, NicInfo, PciBarInfo, PciDeviceInfo, SchedulerInfo, ThreadInfo,
};
use kernel::{memory, net, pci, sched, time};

/// The probe kmain hands to `http::start`.
pub struct LiveKernel;

impl KernelProbe for LiveKernel {
    fn uptime_ms(&self) -> u64 {
        time::uptime_ms()
    }

    fn scheduler(&self) -> SchedulerInfo {
        SchedulerInfo {
            context_switches: sched::stats().context_switches,
            threads: sched::threads()
                .iter()
                .map(|thread| ThreadInfo {
                    id: thread.id,
                    name: thread.name.as_str().to_string(),
                    state: thread.state.as_str(),
                    ticks: thread.cpu_ticks,
                })
                .collect(),
        }
    }

    fn memory(&self) -> MemoryInfo {
        let memory = memory::stats();
        MemoryInfo {
            frames_total: memory.total_frames,
            frames_free: memory.free_frames,
            heap_bytes: memory.heap_bytes_total as u64,
            heap_used_bytes: memory.heap_bytes_used as u64,
        }
    }

    fn nic(&self) -> NicInfo {
        let driver = nic::stats();
        let stack = net::stats();
        let card = nic::info();
        NicInfo {
            model: card.map_or("", |card| card.model),
            driver: card.map_or("", |card| card.driver.name()),
            mac: card
                .map(|card| MacAddress(card.mac).to_string())
                .unwrap_or_default(),
            irq: card.map_or(0, |card| card.irq),
            address: stack.address.map(|a| a.to_string()).unwrap_or_default(),
            rx_packets: driver.rx_packets,
            tx_packets: driver.tx_packets,
            rx_bytes: driver.rx_bytes,
            tx_bytes: driver.tx_bytes,
            rx_errors: driver.rx_errors + driver.rx_bad_headers,
            rx_ring_overflows: driver.rx_ring_overflows,
            rx_fifo_overflows: driver.rx_fifo_overflows,
            rx_missed: driver.rx_missed,
            rx_dropped: driver.rx_dropped,
            rx_pauses: driver.rx_pauses,
            receiver_resets: driver.receiver_resets,
            tx_errors: driver.tx_errors,
            tx_timeouts: driver.tx_timeouts,
            tx_backlogged: driver.tx_backlogged,
            tx_dropped: driver.tx_dropped_full + driver.tx_dropped_too_long,
            interrupts: driver.interrupts,
            link_up: driver.link_up,
            tcp_sockets_used: stack.tcp_sockets_used as u64,
            tcp_sockets_max: stack.tcp_sockets_max as u64,
            tcp_sockets_closing: stack.tcp_sockets_closing as u64,
            half_open_expired: stack.half_open_expired,
        }
    }

    fn pci_devices(&self) -> Vec<PciDeviceInfo> {
        pci::devices()
            .iter()
            .map(|f| PciDeviceInfo {
                bus: f.address.bus(),
                device: f.address.device(),
                function: f.address.function(),
                vendor_id: f.vendor_id,
                device_id: f.device_id,
                class: f.class,
                subclass: f.subclass,
                irq: f.irq(),
                description: pci::device_name(f.vendor_id, f.device_id)
                    .unwrap_or_else(|| pci::class_name(f.class, f.subclass))
                    .to_string(),
                bars: bars(f),
            })
            .collect()
    }
}

/// A function's implemented BARs as plain data for `/api/pci`.
fn bars(function: &pci::PciFunctionInfo) -> Vec<PciBarInfo> {
    let slots = function.bars.iter().enumerate();
    slots
        .filter_map(|(slot, bar)| {
            let slot = slot as u8;
            Some(match (*bar)? {
                pci::Bar::Io { port, size } => PciBarInfo {
                    slot,
                    is_io: true,
                    address: u64::from(port),
                    size: u64::from(size),
                    ..PciBarInfo::default()
                },
                pci::Bar::Memory {
                    address,
                    size,
                    is_64_bit,
                    prefetchable,
                } => PciBarInfo {
                    slot,
                    is_io: false,
                    address,
                    size,
                    is_64_bit,
                    prefetchable,
                },
            })
        })
        .collect()
}
