"""Threads end to end: a thread that overflows its stack is reported by name."""

import re

from qemu import Qemu, build_iso, crash_boot


def test_thread_stack_overflow_names_the_thread():
    log = crash_boot("thread-stack-overflow")
    assert re.search(r"(KERNEL PANIC|CPU EXCEPTION) in thread 'stack-overflower \(#\d+\)'", log), log[-2000:]


def test_default_boot_starts_the_scheduler():
    with Qemu(build_iso(""), nic=False, timeout=60) as vm:
        vm.wait_for(r"READY", timeout=50)
        vm.assert_no_fatal()
        log = vm.log()
    assert re.search(r"sched: round-robin, time slice 10 ms", log), log[-2000:]
