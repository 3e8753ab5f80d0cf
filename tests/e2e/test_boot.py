"""The boot path end to end: GRUB loads the kernel, it logs its boot, runs its self-tests in
the self-test boot, and reports panics and CPU exceptions clearly in the crash-test boots."""

import re

from qemu import EXIT_FAIL, EXIT_PASS, Qemu, build_iso, crash_boot

BOOT_LINES = [
    r"micro-kernel \S+ booting",
    r"boot: loaded by \"GRUB",
    r"boot: memory 0x",
    r"gdt: kernel code, data and TSS loaded",
    r"interrupts: IDT loaded",
    r"time: PIT channel 0 at 1000 Hz",
]


def test_default_boot_logs_each_subsystem_and_reaches_ready():
    with Qemu(build_iso(""), timeout=90) as vm:
        vm.wait_for(r"micro-kernel \S+ booting", timeout=30)
        first_line = vm.elapsed()
        vm.wait_for(r"READY", timeout=60)
        print(f"    first kernel log line {first_line:.2f} s after QEMU start; READY at {vm.elapsed():.2f} s")
        log = vm.log()
        for line in BOOT_LINES:
            assert re.search(line, log), f"boot log lacks {line!r}"
        vm.assert_no_fatal()


def test_self_test_boot_passes():
    """Boots the `selftest` entry; each in-kernel test is reported as a sub-result."""
    with Qemu(build_iso("selftest"), timeout=300) as vm:
        status = vm.wait_exit(timeout=290)
        log = vm.log()
    results = [(name, None if verdict == "ok" else f"in-kernel test failed: {why}")
               for name, verdict, why in re.findall(r"^ktest: (\S+) \.\.\. (ok|FAILED)(?:: (.*))?$", log, re.M)]
    summary = re.search(r"^ktest: (\d+) passed, (\d+) failed$", log, re.M)
    assert summary, f"no self-test summary (exit status {status}):\n{log[-3000:]}"
    assert int(summary.group(1)) == len([r for r in results if r[1] is None])
    assert status in (EXIT_PASS, EXIT_FAIL), f"QEMU exit status {status}, not a self-test verdict"
    assert (status == EXIT_PASS) == (int(summary.group(2)) == 0), f"exit status {status} vs {summary.group(0)}"
    for marker in ("KERNEL PANIC", "CPU EXCEPTION"):
        assert marker not in log, f"self-test boot shows {marker}:\n{log[-3000:]}"
    for line in BOOT_LINES:
        assert re.search(line, log), f"self-test boot log lacks {line!r}"
    assert "boot: loaded by" in log and 'command line "selftest"' in log
    return results


def test_panic_is_reported_with_message_and_location():
    log = crash_boot("panic")
    assert "KERNEL PANIC in thread" in log, log[-2000:]
    assert re.search(r"at src/ktest/crash\.rs:\d+:\d+", log), log[-2000:]
    assert "crash test: deliberate panic" in log


def test_page_fault_is_reported_with_vector_rip_and_cr2():
    log = crash_boot("page-fault")
    assert re.search(r"CPU EXCEPTION in thread '[^']+': page fault \(#PF\): kernel write, page not present", log), log[-2000:]
    assert re.search(r"vector 14\s+error code 0x2\s+RIP 0x[0-9a-f]{16}", log), log[-2000:]
    assert "CR2 0x0000700000000000" in log


def test_fault_inside_memory_setup_is_reported():
    """The IDT is loaded before memory setup: a page fault there, with the boot page tables
    still in use, gets the full report instead of resetting the machine."""
    log = crash_boot("memory-setup")
    assert re.search(r"CPU EXCEPTION in thread 'boot': page fault \(#PF\): kernel write, page not present", log), log[-2000:]
    assert re.search(r"vector 14\s+error code 0x2\s+RIP 0x[0-9a-f]{16}", log), log[-2000:]
    assert "CR2 0x0000700000000000" in log
    assert "memory: identity map" not in log, "the fault came after memory setup"
