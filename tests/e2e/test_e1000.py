"""The e1000 end to end (docs/07-e1000.md): one boot on QEMU's plain `-M pc` with its default
card, the Intel 82540EM, as `qemu-system-x86_64 -cdrom ... -nic user,...` gives it, then:

- the boot log and the API name the card and its driver;
- the home page, the API, /big.bin byte for byte, 50 keep-alive requests, 32 clients at once;
- the link taken down and up through the QEMU monitor while a client waits;
- UDP floods that overflow the receive ring (the card counts what it drops), after each of
  which the server still answers;
- every short frame the kernel sent zero-padded (the traffic is captured).
The self-tests on the e1000 (pc and q35) run in test_nic.py, with the two-card boots.
"""

import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import load  # noqa: E402
import pcap  # noqa: E402
from qemu import BUILD, Qemu, build_iso, free_udp_port  # noqa: E402

GUEST_MAC = bytes.fromhex("525400123456")
BIG = bytes(i % 251 for i in range(1 << 20))

vm = None
address = None
capture = os.path.join(BUILD, "e1000.pcap")


def setup_module():
    global vm, address
    os.makedirs(BUILD, exist_ok=True)
    if os.path.exists(capture):
        os.remove(capture)
    vm = Qemu(build_iso(""), nic_model=None, pcap=capture, udp_forward=free_udp_port(),
              timeout=600).start()
    vm.wait_for(r"READY", timeout=90)
    address = ("127.0.0.1", vm.port)


def teardown_module():
    if vm:
        vm.kill()


def nic():
    return load.stats(address)["nic"]


def test_boot_log_names_the_card_and_its_driver():
    # Waited for, not read once: the network thread logs the DHCP address after it set it,
    # so READY (printed by kmain once the address is there) may come first.
    for line in (r"pci: 00:03\.0 Ethernet controller \[0200\]: Intel 82540EM[^\n]*\[8086:100e\]",
                 r"nic: 0000:00:03\.0 82540EM \(e1000 driver\): the first supported card on the bus",
                 r"e1000: 0000:00:03\.0 MMIO 0x[0-9a-f]+ IRQ 11, MAC 52:54:00:12:34:56, link up, "
                 r"64 receive and 64 transmit descriptors",
                 r"net: DHCP: address 10\.0\.2\.15/24"):
        vm.wait_for(line, timeout=30)


def test_home_page_and_api():
    code, body = load.get(address, "/")
    assert code == 200 and b"<!DOCTYPE html>" in body
    card = nic()
    assert (card["model"], card["driver"], card["mac"]) == ("82540EM", "e1000", "52:54:00:12:34:56"), card
    assert card["link_up"] is True and card["rx_packets"] > 0 and card["interrupts"] > 0, card
    code, body = load.get(address, "/api/pci")
    assert code == 200
    assert any(d["vendor_id"] == "8086" and d["device_id"] == "100e" for d in json.loads(body)["devices"])


def test_big_file_arrives_intact():
    for _ in range(3):
        start = time.monotonic()
        code, body = load.get(address, "/big.bin", timeout=60)
        seconds = time.monotonic() - start
        assert code == 200 and len(body) == len(BIG)
        assert body == BIG, "/big.bin differs from its pattern"
        print(f"    /big.bin over the e1000: {len(body) / seconds / 1e6:.1f} MB/s")


def test_fifty_requests_on_one_keep_alive_connection():
    with load.connect(address) as s:
        leftover = b""
        for i in range(50):
            s.sendall(f"GET /api/stats?n={i} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
            code, body, leftover = load.read_response(s, leftover)
            assert code == 200, (i, code)
            json.loads(body)


def test_thirty_two_concurrent_clients():
    # QEMU's user network accepts the host's connections with a backlog of 1: the clients that
    # do not fit are made to retry by the host's TCP after 1, 3, 7, 15, 31 s, whatever the
    # card (test_http.py's twin says more). Each may wait through five of those rounds.
    results, errors = [], []

    def client(i):
        try:
            results.append(load.get(address, f"/api/stats?client={i}", timeout=60)[0])
        except Exception as error:  # reported below
            errors.append(repr(error))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(70)
    assert not errors, errors
    assert sorted(results) == [200] * 32, results


def test_link_down_and_up_while_a_client_waits():
    downs = vm.log().count("e1000: link down")
    with load.connect(address) as kept:
        kept.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert load.read_response(kept)[0] == 200
        vm.monitor("set_link n0 off")
        vm.wait_for(r"e1000: link down", timeout=10)
        assert vm.log().count("e1000: link down") == downs + 1
        # A request sent while the link is down waits in TCP's retransmissions...
        kept.settimeout(30)
        kept.sendall(b"GET /api/threads HTTP/1.1\r\nHost: t\r\n\r\n")
        time.sleep(2)
        vm.monitor("set_link n0 on")
        vm.wait_for(r"e1000: link up", timeout=10)
        # ...and is answered once the link is back, on the same connection.
        code, body, _ = load.read_response(kept)
        assert code == 200 and json.loads(body)["threads"]
    assert nic()["link_up"] is True
    vm.assert_no_fatal()


def test_udp_floods_leave_the_server_answering():
    before = nic()
    bursts = []
    for _ in range(3):
        start = nic()
        # More arrives than the network thread takes: the ring fills, and the card must say so.
        bursts.append(load.flood_udp_until(
            vm.udp_forward, lambda: nic()["rx_missed"] > start["rx_missed"]))
        assert bursts[-1], ("8 bursts of 3000 datagrams never filled the ring", start, nic())
        assert load.get(address, "/")[0] == 200
    after = nic()
    print(f"    3 floods of 3000 x 1400 bytes (bursts {bursts}): "
          f"rx_packets +{after['rx_packets'] - before['rx_packets']}, "
          f"no-descriptor (RNBC) +{after['rx_ring_overflows'] - before['rx_ring_overflows']}, "
          f"missed (MPC) +{after['rx_missed'] - before['rx_missed']}, "
          f"overruns (RXO) +{after['rx_fifo_overflows'] - before['rx_fifo_overflows']}")
    assert after["rx_packets"] > before["rx_packets"] + 100, (before, after)
    vm.assert_no_fatal()


def test_short_frames_are_zero_padded():
    frames = list(pcap.read_frames(capture))
    checked, problems = pcap.padding_problems(frames, GUEST_MAC)
    print(f"    {len(frames)} frames captured, {checked} short frames from the kernel checked")
    assert checked > 50, checked
    assert not problems, problems[:5]


def test_serial_log_is_clean():
    vm.assert_no_fatal()
