//! The JSON API: `/api/stats`, `/api/threads` and `/api/pci`, built from plain data.
//! The dashboard (www/dashboard.js) polls `/api/stats` once a second.

use super::json::JsonWriter;
use super::stats::{
    HttpInfo, MemoryInfo, NicInfo, PciBarInfo, PciDeviceInfo, SchedulerInfo, ThreadInfo,
};
use alloc::format;
use alloc::string::String;

/// Everything `/api/stats` reports, gathered at one moment.
pub struct StatsDocument<'a> {
    pub uptime_ms: u64,
    pub scheduler: &'a SchedulerInfo,
    pub memory: &'a MemoryInfo,
    pub nic: &'a NicInfo,
    pub http: &'a HttpInfo,
}

/// `/api/stats`: `{"uptime_ms", "scheduler", "memory", "nic", "http"}`.
pub fn stats_json(doc: &StatsDocument<'_>) -> String {
    let mut json = JsonWriter::new();
    json.begin_object().field("uptime_ms", doc.uptime_ms);
    json.key("scheduler").begin_object();
    json.field("context_switches", doc.scheduler.context_switches);
    json.field("thread_count", doc.scheduler.threads.len() as u64);
    write_threads(&mut json, &doc.scheduler.threads);
    json.end_object();
    write_memory(&mut json, doc.memory);
    write_nic(&mut json, doc.nic);
    write_http(&mut json, doc.http);
    json.end_object();
    json.finish()
}

/// `/api/threads`: `{"context_switches", "threads": [...]}`.
pub fn threads_json(scheduler: &SchedulerInfo) -> String {
    let mut json = JsonWriter::new();
    json.begin_object()
        .field("context_switches", scheduler.context_switches);
    write_threads(&mut json, &scheduler.threads);
    json.end_object();
    json.finish()
}

/// `/api/pci`: `{"devices": [...]}`, ids in hexadecimal as `lspci` shows them, each device
/// with its BARs: `{"slot", "space": "io" | "memory", "address", "size"}`, and for memory
/// BARs `"bits": 32 | 64` and `"prefetchable"`.
pub fn pci_json(devices: &[PciDeviceInfo]) -> String {
    let mut json = JsonWriter::new();
    json.begin_object().key("devices").begin_array();
    for device in devices {
        json.begin_object()
            .field_str(
                "address",
                &format!(
                    "{:02x}:{:02x}.{}",
                    device.bus, device.device, device.function
                ),
            )
            .field_str("vendor_id", &format!("{:04x}", device.vendor_id))
            .field_str("device_id", &format!("{:04x}", device.device_id))
            .field_str(
                "class",
                &format!("{:02x}{:02x}", device.class, device.subclass),
            )
            .key("irq");
        match device.irq {
            Some(irq) => json.number(u64::from(irq)),
            None => json.null(),
        };
        json.field_str("description", &device.description);
        write_bars(&mut json, &device.bars);
        json.end_object();
    }
    json.end_array().end_object();
    json.finish()
}

fn write_bars(json: &mut JsonWriter, bars: &[PciBarInfo]) {
    json.key("bars").begin_array();
    for bar in bars {
        json.begin_object()
            .field("slot", u64::from(bar.slot))
            .field_str("space", if bar.is_io { "io" } else { "memory" })
            .field_str("address", &format!("{:#x}", bar.address))
            .field("size", bar.size);
        if !bar.is_io {
            json.field("bits", if bar.is_64_bit { 64 } else { 32 })
                .key("prefetchable")
                .boolean(bar.prefetchable);
        }
        json.end_object();
    }
    json.end_array();
}

fn write_threads(json: &mut JsonWriter, threads: &[ThreadInfo]) {
    json.key("threads").begin_array();
    for thread in threads {
        json.begin_object()
            .field("id", thread.id)
            .field_str("name", &thread.name)
            .field_str("state", thread.state)
            .field("ticks", thread.ticks)
            .end_object();
    }
    json.end_array();
}

fn write_memory(json: &mut JsonWriter, memory: &MemoryInfo) {
    json.key("memory")
        .begin_object()
        .field("frames_total", memory.frames_total)
        .field("frames_free", memory.frames_free)
        .field("heap_bytes", memory.heap_bytes)
        .field("heap_used_bytes", memory.heap_used_bytes)
        .end_object();
}

fn write_nic(json: &mut JsonWriter, nic: &NicInfo) {
    json.key("nic")
        .begin_object()
        .field_str("model", nic.model)
        .field_str("driver", nic.driver)
        .field_str("mac", &nic.mac)
        .field("irq", u64::from(nic.irq))
        .field_str("address", &nic.address)
        .field("rx_packets", nic.rx_packets)
        .field("tx_packets", nic.tx_packets)
        .field("rx_bytes", nic.rx_bytes)
        .field("tx_bytes", nic.tx_bytes)
        .field("rx_errors", nic.rx_errors)
        .field("rx_ring_overflows", nic.rx_ring_overflows)
        .field("rx_fifo_overflows", nic.rx_fifo_overflows)
        .field("rx_missed", nic.rx_missed)
        .field("rx_dropped", nic.rx_dropped)
        .field("rx_pauses", nic.rx_pauses)
        .field("receiver_resets", nic.receiver_resets)
        .field("tx_errors", nic.tx_errors)
        .field("tx_timeouts", nic.tx_timeouts)
        .field("tx_backlogged", nic.tx_backlogged)
        .field("tx_dropped", nic.tx_dropped)
        .field("interrupts", nic.interrupts)
        .key("link_up")
        .boolean(nic.link_up)
        .field("tcp_sockets_used", nic.tcp_sockets_used)
        .field("tcp_sockets_max", nic.tcp_sockets_max)
        .field("tcp_sockets_closing", nic.tcp_sockets_closing)
        .field("half_open_expired", nic.half_open_expired)
        .end_object();
}

fn write_http(json: &mut JsonWriter, http: &HttpInfo) {
    json.key("http")
        .begin_object()
        .field("connections_accepted", http.connections_accepted)
        .field("connections_active", http.connections_active)
        .field("connections_rejected", http.connections_rejected)
        .field("connections_parked", http.connections_parked)
        .field("requests_waiting", http.requests_waiting)
        .field("connections_aborted", http.connections_aborted)
        .field("requests", http.requests)
        .field("responses_2xx", http.responses_2xx)
        .field("responses_4xx", http.responses_4xx)
        .field("responses_5xx", http.responses_5xx)
        .field("bytes_sent", http.bytes_sent)
        .field("workers_busy", http.workers_busy)
        .field("workers", http.workers)
        .end_object();
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn stats_document_shape() {
        let scheduler = SchedulerInfo {
            context_switches: 42,
            threads: vec![ThreadInfo {
                id: 1,
                name: "net \"poll\"".to_string(),
                state: "blocked",
                ticks: 7,
            }],
        };
        let nic = NicInfo {
            model: "82540EM",
            driver: "e1000",
            mac: "52:54:00:12:34:56".to_string(),
            address: "10.0.2.15/24".to_string(),
            ..NicInfo::default()
        };
        let json = stats_json(&StatsDocument {
            uptime_ms: 1500,
            scheduler: &scheduler,
            memory: &MemoryInfo::default(),
            nic: &nic,
            http: &HttpInfo::default(),
        });
        assert!(json.starts_with(r#"{"uptime_ms":1500,"scheduler":{"context_switches":42,"thread_count":1,"threads":[{"id":1,"name":"net \"poll\"","state":"blocked","ticks":7}]},"memory":{"#));
        assert!(json.contains(r#""model":"82540EM","driver":"e1000","mac":"52:54:00:12:34:56""#));
        assert!(json.contains(r#""address":"10.0.2.15/24""#));
        assert!(
            json.contains(r#""rx_missed":0,"rx_dropped":0,"rx_pauses":0,"receiver_resets":0,"#)
        );
        assert!(json.contains(
            r#""tx_timeouts":0,"tx_backlogged":0,"tx_dropped":0,"interrupts":0,"link_up":false,"#
        ));
        assert!(json.ends_with(r#""workers":0}}"#));
    }

    #[test]
    fn pci_document() {
        let json = pci_json(&[PciDeviceInfo {
            bus: 0,
            device: 3,
            function: 0,
            vendor_id: 0x10ec,
            device_id: 0x8139,
            class: 2,
            subclass: 0,
            irq: Some(11),
            description: "RTL8139".to_string(),
            bars: vec![
                PciBarInfo {
                    slot: 0,
                    is_io: true,
                    address: 0xc000,
                    size: 256,
                    ..PciBarInfo::default()
                },
                PciBarInfo {
                    slot: 1,
                    is_io: false,
                    address: 0xfebf_1000,
                    size: 256,
                    is_64_bit: false,
                    prefetchable: false,
                },
            ],
        }]);
        assert_eq!(
            json,
            concat!(
                r#"{"devices":[{"address":"00:03.0","vendor_id":"10ec","device_id":"8139","#,
                r#""class":"0200","irq":11,"description":"RTL8139","bars":["#,
                r#"{"slot":0,"space":"io","address":"0xc000","size":256},"#,
                r#"{"slot":1,"space":"memory","address":"0xfebf1000","size":256,"#,
                r#""bits":32,"prefetchable":false}]}]}"#
            )
        );
    }
}
