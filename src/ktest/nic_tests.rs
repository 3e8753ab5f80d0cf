//! Self-tests of PCI and the network card on QEMU's emulated hardware, through the NIC
//! interface (src/drivers/nic/), so they test whichever card the boot chose; a test of one
//! driver's own behaviour runs only on that driver's card. They pass with a note when no
//! supported card is present (a boot with `-nic none`).
//!
//! The end-to-end ones talk to QEMU's user-mode network (slirp), which answers ARP for its
//! gateway 10.0.2.2 itself: an ARP request sent through the driver and a reply received
//! through it prove both directions without any network stack.

use super::KernelTest;
use crate::drivers::e1000::E1000;
use crate::drivers::nic::{self, MacAddress, NetworkCard, TxError};
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
        name: "rtl8139::bad_header_resets_receiver",
        run: bad_header_resets_receiver,
    },
    KernelTest {
        name: "e1000::eeprom_agrees_with_the_receive_address",
        run: eeprom_agrees_with_the_receive_address,
    },
    KernelTest {
        name: "e1000::heads_meet_the_rings_after_wrapping",
        run: heads_meet_the_rings_after_wrapping,
    },
    KernelTest {
        name: "nic::rx_overflow_recovers",
        run: rx_overflow_recovers,
    },
];

/// The address slirp gives the guest, and slirp's gateway (QEMU docs, "Network emulation").
const GUEST_IP: [u8; 4] = [10, 0, 2, 15];
const GATEWAY_IP: [u8; 4] = [10, 0, 2, 2];
const ETHERTYPE_ARP: [u8; 2] = [0x08, 0x06];
const ARP_REQUEST: u16 = 1;
/// How long a reply from slirp may take. QEMU's 82540EM holds every received frame back for
/// one second after RCTL is written (hw/net/e1000.c: its flush timer), and the first tests
/// run within that second.
const REPLY_WAIT_MS: u64 = 2000;
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
        // The card reports the frame sent: the RTL8139 raises no interrupt for it while it
        // has free slots, but its stats() counts what the chip has finished.
        let sent = wait_until(500, || nic::stats().tx_packets > before.tx_packets);
        let after = nic::stats();
        ktest_assert!(sent, "not reported sent within 500 ms: {after:?}");
        ktest_assert!(
            after.tx_bytes >= before.tx_bytes + 42,
            "tx_bytes {} -> {}",
            before.tx_bytes,
            after.tx_bytes
        );
        Ok(())
    })
}

/// Sends "who has 10.0.2.2?" and waits for slirp's answer; returns the gateway's MAC.
fn ask_gateway(mac: [u8; 6]) -> Result<[u8; 6], String> {
    nic::discard_received();
    nic::transmit(&arp_request(mac, GATEWAY_IP)).map_err(|e| alloc::format!("{e:?}"))?;
    let mut answer = None;
    wait_until(REPLY_WAIT_MS, || {
        let mut frame = [0u8; 1514];
        while let Some(len) = nic::receive(&mut frame) {
            answer = answer.or(arp_answer(&frame[..len], mac, GATEWAY_IP));
        }
        answer.is_some()
    });
    answer
        .ok_or_else(|| alloc::format!("no ARP reply within {REPLY_WAIT_MS} ms: {:?}", nic::stats()))
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

/// Sends `count` ARP requests for the gateway as fast as the card takes them, with
/// interrupts off if `interrupts_off` (the driver then cannot empty its receive ring);
/// returns how many went out.
fn send_arp_burst(mac: [u8; 6], count: usize, interrupts_off: bool) -> usize {
    let request = arp_request(mac, GATEWAY_IP);
    let send = || {
        let mut sent = 0;
        for _ in 0..count * 100 {
            match nic::transmit(&request) {
                Ok(()) => sent += 1,
                Err(TxError::Busy) => core::hint::spin_loop(),
                Err(_) => break,
            }
            if sent == count {
                break;
            }
        }
        sent
    };
    if interrupts_off {
        x86_64::instructions::interrupts::without_interrupts(send)
    } else {
        send()
    }
}

/// Every ARP request draws a reply from slirp, delivered into the card at once. With
/// interrupts off the driver cannot empty the ring, so 800 requests overflow any ring: the
/// RTL8139's 32 KiB (455 replies of 72 bytes) and the e1000's 64 descriptors alike. Then the
/// card must have said so in the way it can, and reception must go on:
/// - RTL8139: it raises RXOVW, which the driver counts;
/// - e1000: it owns no descriptor any more (RDH caught up with RDT). A real chip then drops
///   and counts (MPC, RNBC); QEMU's holds the frames back until descriptors come back.
fn rx_overflow_recovers() -> Result<(), String> {
    const REQUESTS: usize = 800;
    with_nic(|| {
        let mac = nic::mac_address().ok_or("no MAC")?;
        let before = nic::stats();
        let (sent, e1000_ring_full) = x86_64::instructions::interrupts::without_interrupts(|| {
            let sent = send_arp_burst(mac, REQUESTS, true);
            (
                sent,
                nic::with_driver(|card: &mut E1000| card.rx_ring_full()),
            )
        });
        ktest_assert!(
            sent == REQUESTS,
            "only {sent} of {REQUESTS} requests went out"
        );
        match e1000_ring_full {
            Some(full) => ktest_assert!(full, "the e1000 still owns receive descriptors"),
            None => {
                let overflowed = wait_until(1000, || {
                    nic::stats().rx_ring_overflows > before.rx_ring_overflows
                });
                ktest_assert!(overflowed, "no ring overflow reported: {:?}", nic::stats());
            }
        }
        let gateway = ask_gateway(mac)?;
        ktest_assert!(gateway != [0; 6], "gateway MAC is zero");
        let after = nic::stats();
        log::info!(
            "ktest: overflow: {} frames received, {} missed by the chip, {} dropped by the queue",
            after.rx_packets - before.rx_packets,
            after.rx_missed - before.rx_missed,
            after.rx_dropped - before.rx_dropped
        );
        ktest_assert!(
            after.rx_bad_headers == before.rx_bad_headers,
            "the overflow corrupted a header"
        );
        Ok(())
    })
}

/// RTL8139 only: a packet whose header is damaged in the ring (before the driver reads it)
/// must be dropped and counted, the receiver reset, and reception go on.
fn bad_header_resets_receiver() -> Result<(), String> {
    with_driver_card::<Rtl8139Card>("RTL8139", || {
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

/// Runs `test` on the card if its driver is `D`; otherwise passes with a note.
fn with_driver_card<D: NetworkCard + 'static>(
    driver: &str,
    test: impl FnOnce() -> Result<(), String>,
) -> Result<(), String> {
    with_nic(|| {
        if nic::with_driver(|_: &mut D| ()).is_none() {
            log::info!("ktest: the card is no {driver}, nothing to test");
            return Ok(());
        }
        test()
    })
}

/// e1000 only: the station address read from the EEPROM through EERD (whose layout differs
/// between the 8254x and the 82574L) is the one the card loaded into RAL0/RAH0 at reset.
fn eeprom_agrees_with_the_receive_address() -> Result<(), String> {
    with_driver_card::<E1000>("e1000", || {
        let (eeprom, receive_address) =
            nic::with_driver(|card: &mut E1000| (card.eeprom_mac(), card.receive_address_mac()))
                .ok_or("no e1000")?;
        let eeprom = eeprom.ok_or("EERD never said DONE")?;
        ktest_assert!(
            Some(eeprom) == receive_address,
            "EEPROM {} but RAL0/RAH0 {:?}",
            MacAddress(eeprom),
            receive_address.map(MacAddress)
        );
        ktest_assert!(
            Some(eeprom) == nic::mac_address(),
            "the driver uses another address"
        );
        Ok(())
    })
}

/// e1000 only: after 200 requests and their replies (three laps of both 64-descriptor rings),
/// the card's heads stand where the driver's bookkeeping says: TDH at the last TDT written
/// (everything queued was sent) and RDH at the next descriptor the driver reads (everything
/// received was taken). A driver and a card that disagree about ownership fail here.
fn heads_meet_the_rings_after_wrapping() -> Result<(), String> {
    const REQUESTS: usize = 200;
    with_driver_card::<E1000>("e1000", || {
        let mac = nic::mac_address().ok_or("no MAC")?;
        nic::discard_received();
        let before = nic::stats();
        // One at a time, each reply awaited: a burst would overflow the receive ring, which
        // is rx_overflow_recovers's business.
        let mut answered = 0;
        for _ in 0..REQUESTS {
            let received = nic::stats().rx_packets;
            if nic::transmit(&arp_request(mac, GATEWAY_IP)).is_err() {
                break;
            }
            if !wait_until(REPLY_WAIT_MS, || {
                nic::discard_received();
                nic::stats().rx_packets > received
            }) {
                break;
            }
            answered += 1;
        }
        ktest_assert!(
            answered == REQUESTS,
            "only {answered} of {REQUESTS} requests answered: {:?}",
            nic::stats()
        );
        let mut heads = (0, 0, 0, 0);
        let met = wait_until(1000, || {
            nic::discard_received();
            nic::can_transmit();
            heads = nic::with_driver(|card: &mut E1000| card.heads()).unwrap_or_default();
            let (rdh, next, tdh, tail) = heads;
            rdh == next && tdh == tail && nic::stats().tx_packets >= before.tx_packets + 200
        });
        let after = nic::stats();
        ktest_assert!(
            met,
            "(RDH, next, TDH, TDT) = {heads:?}; {} sent, {} received",
            after.tx_packets - before.tx_packets,
            after.rx_packets - before.rx_packets
        );
        ktest_assert!(
            after.rx_packets >= before.rx_packets + REQUESTS as u64,
            "only {} replies received",
            after.rx_packets - before.rx_packets
        );
        Ok(())
    })
}
