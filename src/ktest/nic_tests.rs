//! Self-tests of PCI and the network card on QEMU's emulated hardware, through the NIC
//! interface (src/drivers/nic/), so they test whichever card the boot chose; a test of one
//! driver's own behaviour runs only on that driver's card. They pass with a note when no
//! supported card is present (a boot with `-nic none`).
//!
//! The end-to-end ones talk to QEMU's user-mode network (slirp), which answers ARP for its
//! gateway 10.0.2.2 itself: an ARP request sent through the driver and a reply received
//! through it prove both directions without any network stack.

use super::KernelTest;
use crate::drivers::nic::{self, MacAddress, TxError};
use crate::drivers::rtl8139::Rtl8139Card;
use crate::ktest_assert;
use crate::pci;
use alloc::string::String;

pub const TESTS: &[KernelTest] = &[
    KernelTest {
        name: "pci::finds_the_host_bridge",
        run: finds_the_host_bridge,
    },
    KernelTest {
        name: "nic::driver_started_on_a_supported_card",
        run: driver_started_on_a_supported_card,
    },
    KernelTest {
        name: "nic::mac_is_not_zero",
        run: mac_is_not_zero,
    },
    KernelTest {
        name: "nic::transmit_completes",
        run: transmit_completes,
    },
    KernelTest {
        name: "nic::arp_reply_from_slirp",
        run: arp_reply_from_slirp,
    },
    KernelTest {
        name: "nic::smoltcp_pings_the_gateway",
        run: smoltcp_pings_the_gateway,
    },
    KernelTest {
        name: "nic::rx_overflow_recovers",
        run: rx_overflow_recovers,
    },
    KernelTest {
        name: "rtl8139::bad_header_resets_receiver",
        run: bad_header_resets_receiver,
    },
];

/// The address slirp gives the guest, and slirp's gateway (QEMU docs, "Network emulation").
const GUEST_IP: [u8; 4] = [10, 0, 2, 15];
const GATEWAY_IP: [u8; 4] = [10, 0, 2, 2];
const ETHERTYPE_ARP: [u8; 2] = [0x08, 0x06];
const ARP_REQUEST: u16 = 1;
const ARP_REPLY: u16 = 2;

fn finds_the_host_bridge() -> Result<(), String> {
    let first = pci::devices().first().ok_or("the scan found nothing")?;
    ktest_assert!(
        first.address == pci::PciAddress::new(0, 0, 0, 0),
        "first function at {}",
        first.address
    );
    ktest_assert!(
        (first.class, first.subclass) == (0x06, 0x00),
        "00:00.0 is class {:02x}{:02x}, not a host bridge",
        first.class,
        first.subclass
    );
    Ok(())
}

/// Runs `test` only when a supported card is on the bus (and then its driver must be running).
fn with_nic(test: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    if nic::supported::choose(pci::devices(), None).is_err() {
        log::info!("ktest: no supported network card on the bus, nothing to test");
        return Ok(());
    }
    ktest_assert!(
        nic::is_present(),
        "a supported card is on the bus but no driver started"
    );
    test()
}

fn driver_started_on_a_supported_card() -> Result<(), String> {
    with_nic(|| {
        let card = nic::info().ok_or("no card information")?;
        let function = pci::devices()
            .iter()
            .find(|f| f.address == card.address)
            .ok_or("the card is not in the PCI scan")?;
        ktest_assert!(
            function.class == 0x02,
            "class {:02x}, not network",
            function.class
        );
        ktest_assert!(
            function.irq() == Some(card.irq),
            "IRQ {} is not the function's {:?}",
            card.irq,
            function.irq()
        );
        Ok(())
    })
}

fn mac_is_not_zero() -> Result<(), String> {
    with_nic(|| {
        let mac = nic::mac_address().ok_or("no MAC")?;
        ktest_assert!(mac != [0; 6], "MAC is all zeros");
        ktest_assert!(
            mac[0] & 1 == 0,
            "MAC {} is a multicast address",
            MacAddress(mac)
        );
        Ok(())
    })
}

/// "Who has `target`? Tell `GUEST_IP`", broadcast: 42 bytes (the driver pads to 60).
fn arp_request(mac: [u8; 6], target: [u8; 4]) -> [u8; 42] {
    let mut frame = [0u8; 42];
    frame[0..6].fill(0xff);
    frame[6..12].copy_from_slice(&mac);
    frame[12..14].copy_from_slice(&ETHERTYPE_ARP);
    // Hardware type 1 (Ethernet), protocol 0x0800 (IPv4), lengths 6 and 4 (RFC 826).
    frame[14..20].copy_from_slice(&[0x00, 0x01, 0x08, 0x00, 6, 4]);
    frame[20..22].copy_from_slice(&ARP_REQUEST.to_be_bytes());
    frame[22..28].copy_from_slice(&mac);
    frame[28..32].copy_from_slice(&GUEST_IP);
    frame[38..42].copy_from_slice(&target);
    frame
}

/// If `frame` is an ARP reply to us saying where `asked` is, that MAC address.
fn arp_answer(frame: &[u8], mac: [u8; 6], asked: [u8; 4]) -> Option<[u8; 6]> {
    let is_answer = frame.len() >= 42
        && frame[0..6] == mac
        && frame[12..14] == ETHERTYPE_ARP
        && frame[20..22] == ARP_REPLY.to_be_bytes()
        && frame[28..32] == asked
        && frame[38..42] == GUEST_IP;
    is_answer.then(|| frame[22..28].try_into().unwrap_or_default())
}

/// Waits up to `ms` milliseconds (interrupts on) for `done`.
fn wait_until(ms: u64, mut done: impl FnMut() -> bool) -> bool {
    let deadline = crate::time::uptime_ms() + ms;
    while crate::time::uptime_ms() < deadline {
        if done() {
            return true;
        }
        crate::cpu::halt_until_interrupt();
    }
    done()
}

fn transmit_completes() -> Result<(), String> {
    with_nic(|| {
        let mac = nic::mac_address().ok_or("no MAC")?;
        let before = nic::stats();
        nic::transmit(&arp_request(mac, GATEWAY_IP)).map_err(|e| alloc::format!("{e:?}"))?;
        let sent = wait_until(500, || nic::stats().tx_packets > before.tx_packets);
        let after = nic::stats();
        ktest_assert!(sent, "no TOK within 500 ms: {after:?}");
        ktest_assert!(
            after.tx_bytes >= before.tx_bytes + 42,
            "tx_bytes {} -> {}",
            before.tx_bytes,
            after.tx_bytes
        );
        ktest_assert!(after.interrupts > before.interrupts, "no interrupt counted");
        Ok(())
    })
}

/// Sends "who has 10.0.2.2?" and waits for slirp's answer; returns the gateway's MAC.
fn ask_gateway(mac: [u8; 6]) -> Result<[u8; 6], String> {
    nic::discard_received();
    nic::transmit(&arp_request(mac, GATEWAY_IP)).map_err(|e| alloc::format!("{e:?}"))?;
    let mut answer = None;
    wait_until(1000, || {
        let mut frame = [0u8; 1514];
        while let Some(len) = nic::receive(&mut frame) {
            answer = answer.or(arp_answer(&frame[..len], mac, GATEWAY_IP));
        }
        answer.is_some()
    });
    answer.ok_or_else(|| alloc::format!("no ARP reply within 1 s: {:?}", nic::stats()))
}

fn arp_reply_from_slirp() -> Result<(), String> {
    with_nic(|| {
        let mac = nic::mac_address().ok_or("no MAC")?;
        let gateway = ask_gateway(mac)?;
        log::info!("ktest: ARP: 10.0.2.2 is at {}", MacAddress(gateway));
        ktest_assert!(gateway != [0; 6], "gateway MAC is zero");
        Ok(())
    })
}

/// Every ARP request draws a reply from slirp, delivered into the ring at once. With
/// interrupts off the driver cannot empty the ring, so 800 requests (800 × 72 bytes in the
/// ring) overflow a 32 KiB ring. Afterwards the driver must count the overflow, empty the
/// ring, and still receive.
fn rx_overflow_recovers() -> Result<(), String> {
    const REQUESTS: usize = 800;
    with_nic(|| {
        let mac = nic::mac_address().ok_or("no MAC")?;
        let request = arp_request(mac, GATEWAY_IP);
        let before = nic::stats();
        let sent = x86_64::instructions::interrupts::without_interrupts(|| {
            let mut sent = 0;
            for _ in 0..REQUESTS * 100 {
                match nic::transmit(&request) {
                    Ok(()) => sent += 1,
                    Err(TxError::Busy) => core::hint::spin_loop(),
                    Err(_) => break,
                }
                if sent == REQUESTS {
                    break;
                }
            }
            sent
        });
        ktest_assert!(
            sent == REQUESTS,
            "only {sent} of {REQUESTS} requests went out"
        );
        let overflowed = wait_until(1000, || {
            nic::stats().rx_ring_overflows > before.rx_ring_overflows
        });
        let after = nic::stats();
        ktest_assert!(overflowed, "no ring overflow reported: {after:?}");
        log::info!(
            "ktest: overflow: {} frames received, {} missed by the chip, {} dropped by the queue",
            after.rx_packets - before.rx_packets,
            after.rx_missed - before.rx_missed,
            after.rx_dropped - before.rx_dropped
        );
        let gateway = ask_gateway(mac)?;
        ktest_assert!(gateway != [0; 6], "gateway MAC is zero");
        ktest_assert!(
            nic::stats().rx_bad_headers == before.rx_bad_headers,
            "the overflow corrupted a header"
        );
        Ok(())
    })
}

/// RTL8139 only: a packet whose header is damaged in the ring (before the driver reads it)
/// must be dropped and counted, the receiver reset, and reception go on.
fn bad_header_resets_receiver() -> Result<(), String> {
    with_nic(|| {
        if nic::with_driver(|_: &mut Rtl8139Card| ()).is_none() {
            log::info!("ktest: the card is no RTL8139, nothing to test");
            return Ok(());
        }
        let mac = nic::mac_address().ok_or("no MAC")?;
        let before = nic::stats();
        let damaged = x86_64::instructions::interrupts::without_interrupts(|| {
            // slirp's reply lands in the ring during the transmit; the handler cannot run yet.
            nic::transmit(&arp_request(mac, GATEWAY_IP)).is_ok()
                && nic::with_driver(Rtl8139Card::damage_next_header) == Some(true)
        });
        ktest_assert!(damaged, "no reply in the ring to damage");
        let reset = wait_until(500, || {
            nic::stats().receiver_resets > before.receiver_resets
        });
        let after = nic::stats();
        ktest_assert!(reset, "no receiver reset: {after:?}");
        ktest_assert!(
            after.rx_bad_headers == before.rx_bad_headers + 1,
            "bad headers {} -> {}",
            before.rx_bad_headers,
            after.rx_bad_headers
        );
        let gateway = ask_gateway(mac)?;
        ktest_assert!(gateway != [0; 6], "gateway MAC is zero");
        Ok(())
    })
}

/// The driver under smoltcp, through its phy::Device: an interface with slirp's guest address
/// pings the gateway. smoltcp resolves 10.0.2.2 with ARP, sends the echo request, and the
/// reply must come back through an ICMP socket.
fn smoltcp_pings_the_gateway() -> Result<(), String> {
    use alloc::vec;
    use smoltcp::iface::{Config, Interface, SocketSet};
    use smoltcp::phy::Device;
    use smoltcp::socket::icmp;
    use smoltcp::time::Instant;
    use smoltcp::wire::{EthernetAddress, Icmpv4Packet, Icmpv4Repr, IpAddress, IpCidr};

    const IDENT: u16 = 0x8139;
    const PAYLOAD: &[u8] = b"micro-kernel ping";
    with_nic(|| {
        let mac = nic::mac_address().ok_or("no MAC")?;
        let mut device = nic::NicDevice::new().ok_or("no device")?;
        let checksums = device.capabilities().checksum;
        ktest_assert!(
            device.capabilities().max_burst_size == Some(nic::transmit_queue_len()),
            "burst size {:?}",
            device.capabilities().max_burst_size
        );
        let now = || Instant::from_millis(crate::time::uptime_ms() as i64);
        let config = Config::new(EthernetAddress(mac).into());
        let mut iface = Interface::new(config, &mut device, now());
        iface.update_ip_addrs(|addresses| {
            let _ = addresses.push(IpCidr::new(
                IpAddress::from(core::net::Ipv4Addr::from(GUEST_IP)),
                24,
            ));
        });
        let buffer = || icmp::PacketBuffer::new(vec![icmp::PacketMetadata::EMPTY; 2], vec![0; 256]);
        let mut sockets = SocketSet::new(vec![]);
        let handle = sockets.add(icmp::Socket::new(buffer(), buffer()));
        sockets
            .get_mut::<icmp::Socket>(handle)
            .bind(icmp::Endpoint::Ident(IDENT))
            .map_err(|e| alloc::format!("bind: {e:?}"))?;
        nic::discard_received();
        let gateway = IpAddress::from(core::net::Ipv4Addr::from(GATEWAY_IP));
        let (mut sent, mut answered) = (false, false);
        wait_until(2000, || {
            iface.poll(now(), &mut device, &mut sockets);
            let socket = sockets.get_mut::<icmp::Socket>(handle);
            if !sent && socket.can_send() {
                let request = Icmpv4Repr::EchoRequest {
                    ident: IDENT,
                    seq_no: 1,
                    data: PAYLOAD,
                };
                if let Ok(bytes) = socket.send(request.buffer_len(), gateway) {
                    request.emit(&mut Icmpv4Packet::new_unchecked(bytes), &checksums);
                    sent = true;
                }
            }
            while let Ok((bytes, from)) = socket.recv() {
                let reply = Icmpv4Packet::new_checked(bytes)
                    .and_then(|packet| Icmpv4Repr::parse(&packet, &checksums));
                answered |= from == gateway
                    && matches!(reply, Ok(Icmpv4Repr::EchoReply { ident: IDENT, seq_no: 1, data }) if data == PAYLOAD);
            }
            iface.poll(now(), &mut device, &mut sockets);
            answered
        });
        ktest_assert!(sent, "smoltcp never sent the echo request");
        ktest_assert!(answered, "no echo reply from 10.0.2.2: {:?}", nic::stats());
        log::info!("ktest: smoltcp: 10.0.2.2 answered a ping through the network card");
        Ok(())
    })
}
