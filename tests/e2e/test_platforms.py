"""The kernel on other machines than QEMU's default: a CPU without NX (boots, serves, warns),
a CPU without long mode (a clear error on serial and on screen), and the pc (i440FX) and q35
chipsets with two CPUs (the second one stays parked, the kernel serves from the first)."""

import json
import re
import urllib.request

from qemu import Qemu, build_iso

NX_WARNING = r"WARN  cpu: no NX \(execute-disable\) bit: no-execute protection is off"


def get(vm, path):
    """GET http://127.0.0.1:PORT/path through the forwarded port; returns (status, body)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{vm.port}{path}", timeout=20) as answer:
        return answer.status, answer.read()


def serves(vm):
    """The home page, the stats API and the 1 MiB download all answer correctly."""
    status, body = get(vm, "/")
    assert status == 200 and b"<!DOCTYPE html>" in body
    status, body = get(vm, "/api/stats")
    assert status == 200 and json.loads(body)["uptime_ms"] > 0
    status, body = get(vm, "/big.bin")
    assert status == 200 and body == bytes(i % 251 for i in range(1 << 20))


def test_cpu_without_nx_boots_serves_and_warns():
    with Qemu(build_iso(""), cpu="qemu64,-nx", timeout=120) as vm:
        vm.wait_for(r"READY", timeout=90)
        serves(vm)
        log = vm.log()
        assert re.search(NX_WARNING, log), log[-2000:]
        assert re.search(r"INFO  cpu: .*PAT", log) and not re.search(r"INFO  cpu: .*NX", log)
        vm.assert_no_fatal()
        print("    " + "\n    ".join(line for line in log.splitlines() if "cpu:" in line))


def test_cpu_with_nx_does_not_warn():
    with Qemu(build_iso(""), nic=False, timeout=60) as vm:
        vm.wait_for(r"INFO  cpu: NX PAT", timeout=40)
        vm.wait_for(r"READY", timeout=40)
        assert not re.search(NX_WARNING, vm.log())


def test_cpu_without_long_mode_says_so_on_serial_and_screen():
    """A Pentium III: the trampoline stops before long mode, with its message on COM1 and,
    since GRUB reports the VGA text screen, white on red at its top-left."""
    message = "boot error: this CPU does not support 64-bit long mode"
    with Qemu(build_iso(""), cpu="pentium3", nic=False, timeout=60) as vm:
        vm.wait_for(re.escape(message), timeout=40)
        cells = vga_text_cells(vm, len(message))
    text = "".join(chr(cell & 0xff) for cell in cells)
    assert text == message, f"VGA text shows {text!r}"
    assert all(cell >> 8 == 0x4f for cell in cells), "not white on red"


def vga_text_cells(vm, count):
    """The first `count` cells of the VGA text buffer (character | attribute << 8), read
    through the QEMU monitor."""
    out = vm.monitor(f"xp /{count}hx 0xb8000")
    return [int(word, 16) for word in re.findall(r"0x([0-9a-f]{4})\b", out.split(":", 1)[1])][:count]


def test_pc_and_q35_with_two_cpus_serve():
    """One sub-result per chipset."""
    results = []
    for machine in ("pc", "q35"):
        try:
            with Qemu(build_iso(""), machine=machine, smp=2, timeout=150) as vm:
                vm.wait_for(r"READY", timeout=120)
                serves(vm)
                vm.assert_no_fatal()
            results.append((f"{machine}-smp2", None))
        except AssertionError as error:
            results.append((f"{machine}-smp2", str(error)))
    return results


def test_tcp_seed_comes_from_rdrand_when_the_cpu_has_it():
    """One sub-result per CPU: RDRAND where CPUID offers it, TSC jitter where it does not."""
    results = []
    for cpu, source in ((None, "TscJitter"), ("qemu64,+rdrand", "Rdrand")):
        try:
            with Qemu(build_iso(""), cpu=cpu, timeout=90) as vm:
                vm.wait_for(r"cpu: random seed from (\w+)", timeout=60)
                found = re.search(r"cpu: random seed from (\w+)", vm.log()).group(1)
                assert found == source, f"-cpu {cpu}: seed from {found}, expected {source}"
            results.append((cpu or "qemu64", None))
        except AssertionError as error:
            results.append((cpu or "qemu64", str(error)))
    return results
