"""Checks of chapter 12's exercises (docs/12-debugging.md). Each boots a crash test and reads
the fatal report on the serial console."""

import re
import time

from kit import NotYet, build_kernel, exercise, expect_in_log, qemu

STOPPED = "The kernel has stopped."


def wait_for_report(vm, timeout=60):
    """The serial log once the fatal report has ended with STOPPED (or QEMU has exited)."""
    deadline = time.monotonic() + timeout
    while STOPPED not in vm.log() and vm.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    log = vm.log()
    if STOPPED not in log:
        raise NotYet(f"no complete fatal report:\n{qemu.tail(log)}")
    return log


@exercise("12.1")
def cr3_in_the_crash_report():
    """CR3 in the fatal report of a CPU exception, the value the CPU really holds."""
    build_kernel()
    # Without isa-debug-exit the halted kernel's QEMU stays up, so the monitor can say what
    # CR3 really holds.
    with qemu.Qemu(qemu.build_iso("crashtest=page-fault"), timeout=90, debug_exit=False) as vm:
        log = wait_for_report(vm)
        registers = vm.monitor("info registers")
    report = log[log.index("CPU EXCEPTION"):]
    printed = expect_in_log(report, r"\bCR3[ =:]+(?:0x)?([0-9a-fA-F]+)\b",
                            "the page-fault report does not show CR3 (as `CR3 0x...`)")
    real = re.search(r"CR3=([0-9a-f]+)", registers)
    if real is None:
        raise NotYet(f"the monitor's `info registers` shows no CR3:\n{registers}")
    if int(printed.group(1), 16) != int(real.group(1), 16):
        raise NotYet(f"the report says CR3 {printed.group(1)}, but the CPU holds {real.group(1)} "
                     "(QEMU monitor, info registers)")


@exercise("12.2")
def a_null_pointer_crash_test():
    """crashtest=null: a read through a null pointer, reported as a page fault."""
    build_kernel()
    with qemu.Qemu(qemu.build_iso("crashtest=null"), timeout=90) as vm:
        log = wait_for_report(vm)
    did_not = re.search(r"crash test did not crash[^\n]*", log)
    if did_not:
        raise NotYet(did_not.group(0))
    fault = expect_in_log(log, r"CPU EXCEPTION in thread '[^']+': page fault \(#PF\): ([^\n]*)",
                          "crashtest=null does not end in a page fault report")
    if not fault.group(1).startswith("kernel read, page not present"):
        raise NotYet(f"the page fault is a '{fault.group(1)}', not a kernel read of a page that "
                     "is not present")
    cr2 = expect_in_log(log, r"CR2 0x([0-9a-f]{16})", "the report has no CR2")
    if int(cr2.group(1), 16) >= 0x1000:
        raise NotYet(f"CR2 is 0x{cr2.group(1)}: the read went to an address outside the null page")
