"""PCI enumeration and the network card end to end: the lspci-like boot log on QEMU's `pc`
and `q35` machines with each function's BARs (also in /api/pci), the NIC's bring-up line, the
in-kernel NIC tests on every supported combination (pc + RTL8139 runs in test_boot's self-test
boot; q35 + RTL8139, pc + its default 82540EM and q35 + its default 82574L here), the ARP
exchange seen in a capture, link changes from the QEMU monitor, a boot without a NIC, and `nic=`
choosing among two cards: two RTL8139s, and an RTL8139 beside an e1000."""

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
    """A second NIC that the kernel does not drive (QEMU's e1000, the Intel 82540EM, behind the
    RTL8139 it chooses) is still scanned: its memory and I/O BARs are logged below it, with
    their sizes."""
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
    return nic_self_test_results("q35", status, log)


def nic_self_test_results(label, status, log):
    """The NIC self-tests of a self-test boot, as sub-results named `label test`."""
    results = re.findall(r"^ktest: ((?:pci|nic|rtl8139|e1000)::\S+) \.\.\. (ok|FAILED.*)$", log, re.M)
    assert len(results) >= 9, f"NIC self-tests missing on {label}:\n{log[-3000:]}"
    assert status == EXIT_PASS, f"exit status {status}:\n{log[-3000:]}"
    return [(f"{label} {name}", None if verdict == "ok" else verdict) for name, verdict in results]


def test_pc_default_82540em_self_tests():
    """QEMU's own card on pc, as a plain `-nic user` line (or none) gives it."""
    with Qemu(build_iso("selftest"), nic_model=None, timeout=200) as vm:
        status = vm.wait_exit(timeout=190)
        log = vm.log()
    assert "nic: 0000:00:03.0 82540EM (e1000 driver): the first supported card on the bus" in log, log[-3000:]
    return nic_self_test_results("pc+82540EM", status, log)


def test_q35_default_82574l_self_tests():
    with Qemu(build_iso("selftest"), machine="q35", nic_model=None, timeout=200) as vm:
        status = vm.wait_exit(timeout=190)
        log = vm.log()
    assert "nic: 0000:00:02.0 82574L (e1000 driver): the first supported card on the bus" in log, log[-3000:]
    assert re.search(r"e1000: 0000:00:02\.0 MMIO 0x[0-9a-f]+ IRQ \d+, MAC 52:54:00:12:34:56, link up", log)
    return nic_self_test_results("q35+82574L", status, log)


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


def mixed_card_boot(kernel_args):
    """An RTL8139 at 00:03.0 and an 82540EM (MAC ...:99) at 00:04.0, each on a user network
    with its own forwarded port; returns the VM and the two ports."""
    rtl_port, e1000_port = free_port(), free_port()
    cards = ["-netdev", f"user,id=a,hostfwd=tcp:127.0.0.1:{rtl_port}-:80",
             "-device", "rtl8139,netdev=a,addr=03.0",
             "-netdev", f"user,id=b,hostfwd=tcp:127.0.0.1:{e1000_port}-:80",
             "-device", "e1000,netdev=b,addr=04.0,mac=52:54:00:12:34:99"]
    return Qemu(build_iso(kernel_args), nic=False, timeout=120, extra_args=cards), rtl_port, e1000_port


def test_nic_argument_chooses_between_an_rtl8139_and_an_e1000():
    """nic=e1000, nic=rtl8139 and nic=00:04.0 each start the card they name, which then
    answers HTTP on its own forwarded port with its own MAC and driver."""
    import urllib.request

    for argument, slot, model, driver, mac in (
        ("nic=e1000", "00:04.0", "82540EM", "e1000", "52:54:00:12:34:99"),
        ("nic=rtl8139", "00:03.0", "RTL8139", "rtl8139", "52:54:00:12:34:56"),
        ("nic=00:04.0", "00:04.0", "82540EM", "e1000", "52:54:00:12:34:99"),
    ):
        vm, rtl_port, e1000_port = mixed_card_boot(argument)
        with vm:
            vm.wait_for(r"http: open http://10\.0\.2\.15/", timeout=60)
            log = vm.log()
            port = e1000_port if driver == "e1000" else rtl_port
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/stats", timeout=20) as reply:
                card = json.loads(reply.read())["nic"]
        assert f"nic: 0000:{slot} {model} ({driver} driver): chosen by {argument}" in log, log[-3000:]
        assert (card["model"], card["driver"], card["mac"]) == (model, driver, mac), card
        other = "rtl8139" if driver == "e1000" else "e1000"
        assert f"{other}: 0000:" not in log, f"{argument}: the other card was started too"
