"""Threads end to end: a thread that overflows its stack is reported by name."""

import re

from qemu import EXIT_FAIL, Qemu, build_iso


def test_thread_stack_overflow_names_the_thread():
    with Qemu(build_iso("crashtest=thread-stack-overflow"), nic=False, timeout=60) as vm:
        status = vm.wait_exit(timeout=50)
        log = vm.log()
    assert status == EXIT_FAIL, f"exit status {status}"
    assert re.search(r"(KERNEL PANIC|CPU EXCEPTION) in thread 'stack-overflower \(#\d+\)'", log), log[-2000:]
    assert "The kernel has stopped" in log


def test_default_boot_starts_the_scheduler():
    with Qemu(build_iso(""), nic=False, timeout=60) as vm:
        vm.wait_for(r"READY", timeout=50)
        vm.assert_no_fatal()
        log = vm.log()
    assert re.search(r"sched: round-robin, time slice 10 ms", log), log[-2000:]
