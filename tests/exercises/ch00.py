"""Checks of chapter 0's exercises (docs/00-start-here.md)."""

import re

from kit import NotYet, boot, exercise, expect_in_log

KERNEL_LINE = r"^\[\s*\d+\.\d+\] INFO  micro-kernel \S+ booting"


@exercise("0.1")
def grub_on_the_serial_line():
    """GRUB says on COM1 which kernel it loads, with which arguments."""
    with boot("nic=rtl8139") as vm:
        log = vm.log()
    kernel = expect_in_log(log, KERNEL_LINE, "the kernel's first lines are missing")
    grub = re.search(r"grub: loading /boot/micro-kernel\.elf +nic=rtl8139\b", log[:kernel.start()])
    if not grub:
        raise NotYet("booted with KERNEL_ARGS=nic=rtl8139: no line 'grub: loading "
                     "/boot/micro-kernel.elf nic=rtl8139' on the serial console before the kernel's "
                     f"first line. The log starts:\n{log[:kernel.start() + 200]}")


@exercise("0.2")
def how_long_to_ready():
    """The kernel logs `ready after N ms` right after READY."""
    with boot() as vm:
        # kmain logs the two lines one after the other, and the console thread writes them
        # within a few of its rounds (50 ms): 5 s is ample under a busy TCG.
        try:
            vm.wait_for(r"INFO  READY\n.+\n", timeout=5)
        except AssertionError:
            pass
        log = vm.log()
    lines = [re.sub(r"^\[\s*\d+\.\d+\]\s+\w+\s+", "", line) for line in log.splitlines()]
    ready = next(i for i, line in enumerate(lines) if line == "READY")
    after = lines[ready + 1] if ready + 1 < len(lines) else ""
    match = re.fullmatch(r"ready after (\d+) ms", after)
    if not match:
        raise NotYet(f"the line after READY is {after!r}, not 'ready after N ms'")
    complete = int(expect_in_log(log, r"boot complete at (\d+) ms", "no 'boot complete' line").group(1))
    if int(match.group(1)) < complete:
        raise NotYet(f"'ready after {match.group(1)} ms' is earlier than 'boot complete at {complete} ms': "
                     "N should be the uptime when READY is logged (time::uptime_ms)")
