"""PCI enumeration and the network card end to end: the lspci-like boot log on QEMU's `pc`
and `q35` machines with each function's BARs (also in /api/pci), the NIC's bring-up line, the
in-kernel NIC tests on q35 (the `pc` ones run in test_boot's self-test boot), the ARP exchange
seen in a capture, link changes from the QEMU monitor, a boot without a NIC, and `nic=`
choosing among two cards."""

import json
import os
import re
import struct
import tempfile
import urllib.request

from qemu import EXIT_PASS, Qemu, build_iso, free_port

NIC_LINE = (r"rtl8139: 0000:{address} I/O 0x[0-9a-f]+ IRQ 11, MAC {mac}, link up, "
            r"32 KiB receive ring at 0x[0-9a-f]+")
# The MAC address QEMU gives the first card unless told otherwise.
QEMU_MAC = "52:54:00:12:34:56"
RTL8139_PCI = (r"pci: {address} Ethernet controller \[0200\]: Realtek [^\n]*\[10ec:8139\] "
               r"\(rev 20\), IRQ 11")
# Its two BARs below it: the same 256 registers in I/O and in memory space (chapter 5).
RTL8139_BARS = (r"[^\n]*pci:     BAR0: I/O ports at 0xc000 \[size=256\]\n"
                r"[^\n]*pci:     BAR1: memory at 0x[0-9a-f]+ \(32-bit, non-prefetchable\) \[size=256\]")


def test_pc_lspci_lines_and_nic_bring_up():
    with Qemu(build_iso(""), timeout=90) as vm:
        vm.wait_for(r"READY", timeout=60)
        log = vm.log()
        with urllib.request.urlopen(f"http://127.0.0.1:{vm.port}/api/pci", timeout=20) as reply:
            devices = json.loads(reply.read())["devices"]
    for pattern in (
        r"pci: 00:00\.0 Host bridge \[0600\]: Intel 440FX[^\n]*\[8086:1237\]",
        r"pci: 00:01\.0 ISA bridge \[0601\]: Intel [^\n]*\[8086:7000\]",
        r"pci: 00:01\.1 IDE interface \[0101\]: Intel [^\n]*\[8086:7010\]",
        r"pci: 00:02\.0 VGA compatible controller \[0300\]: QEMU [^\n]*\[1234:1111\]",
        RTL8139_PCI.format(address=r"00:03\.0") + r"\n" + RTL8139_BARS,
        r"pci: 6 functions found",
        NIC_LINE.format(address=r"00:03\.0", mac=QEMU_MAC),
    ):
        assert re.search(pattern, log), f"boot log lacks {pattern!r}:\n{log[-3000:]}"
    print("    " + "\n    ".join(l for l in log.splitlines() if "pci:" in l or "rtl8139:" in l))
    nic = next(d for d in devices if (d["vendor_id"], d["device_id"]) == ("10ec", "8139"))
    assert nic["bars"][0] == {"slot": 0, "space": "io", "address": "0xc000", "size": 256}, nic
    assert nic["bars"][1]["space"] == "memory" and nic["bars"][1]["size"] == 256, nic
    assert nic["bars"][1]["bits"] == 32 and nic["bars"][1]["prefetchable"] is False, nic
    logged = re.search(r"BAR1: memory at (0x[0-9a-f]+)", log.split("[10ec:8139]")[1]).group(1)
    assert nic["bars"][1]["address"] == logged, (nic, logged)


def test_an_unclaimed_card_is_listed_with_its_bars():
    """A second NIC that no driver claims (QEMU's e1000, the Intel 82540EM) is still scanned:
    its memory and I/O BARs are logged below it, with their sizes."""
    with Qemu(build_iso(""), extra_args=["-device", "e1000,id=spare"], timeout=90) as vm:
        vm.wait_for(r"READY", timeout=60)
        log = vm.log()
    pattern = (r"pci: 00:04\.0 Ethernet controller \[0200\]: Intel 82540EM [^\n]*\[8086:100e\] \(rev 03\), IRQ 11\n"
               r"[^\n]*pci:     BAR0: memory at 0x[0-9a-f]+ \(32-bit, non-prefetchable\) \[size=128K\]\n"
               r"[^\n]*pci:     BAR1: I/O ports at 0x[0-9a-f]+ \[size=64\]\n")
    assert re.search(pattern, log), f"boot log lacks the e1000 and its BARs:\n{log[-3000:]}"
    assert "pci: 7 functions found" in log


def test_q35_lspci_lines_and_nic_self_tests():
    with Qemu(build_iso("selftest"), machine="q35", timeout=200) as vm:
        status = vm.wait_exit(timeout=190)
        log = vm.log()
    for pattern in (
        r"pci: 00:00\.0 Host bridge \[0600\]: Intel [^\n]*\[8086:29c0\]",
        r"pci: 00:1f\.0 ISA bridge \[0601\]: Intel [^\n]*\[8086:2918\]",
        r"pci: 00:1f\.2 SATA controller \[0106\]: Intel [^\n]*\[8086:2922\]",
        r"pci: 00:1f\.3 SMBus \[0c05\]: Intel [^\n]*\[8086:2930\]",
        RTL8139_PCI.format(address=r"00:02\.0"),
        NIC_LINE.format(address=r"00:02\.0", mac=QEMU_MAC),
    ):
        assert re.search(pattern, log), f"q35 boot log lacks {pattern!r}:\n{log[-3000:]}"
    results = re.findall(r"^ktest: ((?:pci|nic|rtl8139)::\S+) \.\.\. (ok|FAILED.*)$", log, re.M)
    assert len(results) >= 7, f"NIC self-tests missing on q35:\n{log[-3000:]}"
    assert status == EXIT_PASS, f"exit status {status}:\n{log[-3000:]}"
    return [(f"q35 {name}", None if verdict == "ok" else verdict) for name, verdict in results]


def arp_frames(pcap_path):
    """(sender MAC, operation, sender IP) of every ARP frame in a pcap file."""
    with open(pcap_path, "rb") as f:
        data = f.read()
    frames, offset = [], 24  # global header
    while offset + 16 <= len(data):
        _, _, captured, _ = struct.unpack("<IIII", data[offset:offset + 16])
        frame = data[offset + 16:offset + 16 + captured]
        offset += 16 + captured
        if frame[12:14] == b"\x08\x06":
            frames.append((frame[22:28].hex(":"), int.from_bytes(frame[20:22], "big"),
                           ".".join(str(b) for b in frame[28:32])))
    return frames


def test_arp_exchange_appears_in_a_capture():
    """The self-test's ARP request leaves through the driver and slirp's reply comes back:
    both are on the wire (filter-dump), and the kernel logged the reply it received."""
    pcap = os.path.join(tempfile.mkdtemp(prefix="mk-nic-"), "nic.pcap")
    with Qemu(build_iso("selftest"), pcap=pcap, timeout=200) as vm:
        status = vm.wait_exit(timeout=190)
        log = vm.log()
    assert status == EXIT_PASS, f"exit status {status}:\n{log[-3000:]}"
    assert "ktest: ARP: 10.0.2.2 is at 52:55:0a:00:02:02" in log
    frames = arp_frames(pcap)
    assert ("52:54:00:12:34:56", 1, "10.0.2.15") in frames, frames[:5]
    assert ("52:55:0a:00:02:02", 2, "10.0.2.2") in frames, frames[:5]
    requests = sum(1 for f in frames if f[1] == 1)
    print(f"    {len(frames)} ARP frames captured, {requests} requests")


def test_link_changes_from_the_monitor_are_noticed():
    with Qemu(build_iso(""), timeout=90) as vm:
        vm.wait_for(r"READY", timeout=60)
        vm.monitor("set_link n0 off")
        vm.wait_for(r"rtl8139: link down", timeout=10)
        vm.monitor("set_link n0 on")
        vm.wait_for(r"rtl8139: link up\n", timeout=10)
        vm.assert_no_fatal()


def test_boot_without_a_nic_says_so():
    with Qemu(build_iso(""), nic=False, timeout=90) as vm:
        vm.wait_for(r"READY", timeout=60)
        log = vm.log()
    assert "nic: no supported network card on the PCI bus, networking disabled" in log
    assert "10ec:8139" not in log


def two_card_boot(kernel_args):
    """Two RTL8139s: 00:03.0 on a user network without a forwarded port, 00:04.0 (MAC
    ...:99) on one with the forwarded port. Only a kernel driving 00:04.0 answers HTTP."""
    port = free_port()
    cards = ["-netdev", "user,id=a", "-device", "rtl8139,netdev=a,addr=03.0",
             "-netdev", f"user,id=b,hostfwd=tcp:127.0.0.1:{port}-:80",
             "-device", "rtl8139,netdev=b,addr=04.0,mac=52:54:00:12:34:99"]
    return Qemu(build_iso(kernel_args), nic=False, timeout=120, extra_args=cards), port


def test_nic_argument_chooses_among_two_cards():
    import urllib.request

    vm, port = two_card_boot("nic=00:04.0")
    with vm:
        vm.wait_for(r"READY", timeout=60)
        log = vm.log()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/stats", timeout=20) as reply:
            assert b'"mac":"52:54:00:12:34:99"' in reply.read()
    assert "nic: 0000:00:04.0 RTL8139 (rtl8139 driver): chosen by nic=00:04.0" in log, log[-3000:]
    assert re.search(NIC_LINE.format(address=r"00:04\.0", mac="52:54:00:12:34:99"), log), log[-3000:]


def test_without_nic_argument_the_first_card_and_a_bad_one_is_refused():
    vm, _ = two_card_boot("")
    with vm:
        vm.wait_for(r"READY", timeout=60)
        log = vm.log()
    assert "nic: 0000:00:03.0 RTL8139 (rtl8139 driver): the first supported card on the bus" in log
    vm, _ = two_card_boot("nic=00:05.0")
    with vm:
        vm.wait_for(r"READY", timeout=60)
        log = vm.log()
    assert "nic: nic=00:05.0: no supported network card matches, networking disabled" in log
    assert "rtl8139: 0000:" not in log, "no card may be started when the one asked for is missing"


def test_q35_dhcp_lease_and_http_through_the_gateway():
    """On q35 too, the kernel gets its address from QEMU's DHCP server and answers HTTP from
    the host: the replies go out through the gateway 10.0.2.2, so its MAC was resolved."""
    with Qemu(build_iso(""), machine="q35", timeout=120) as vm:
        vm.wait_for(r"net: DHCP: address 10\.0\.2\.15/24, gateway 10\.0\.2\.2", timeout=60)
        vm.wait_for(r"READY", timeout=30)
        with urllib.request.urlopen(f"http://127.0.0.1:{vm.port}/api/pci", timeout=20) as reply:
            assert reply.status == 200
            assert b"10ec" in reply.read().lower()
        vm.assert_no_fatal()
