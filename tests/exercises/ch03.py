"""Checks of chapter 3's exercises (docs/03-interrupts-and-timer.md)."""

import re

from kit import NotYet, boot, exercise, expect_in_log, unit


@exercise("3.1")
def a_clock_that_does_not_gain():
    """time::ticks_to_ms converts ticks at the PIT's real rate (1000.15 Hz)."""
    unit("3.1")


def qemu_irq_counts(reply):
    """{line: count} from the 8259 section of `(qemu) info irq`."""
    section = reply.split("IRQ statistics for isa-i8259:")[-1]
    return {int(line): int(count) for line, count in re.findall(r"^\s*(\d+):\s*(\d+)\s*$", section, re.M)}


@exercise("3.2")
def count_the_interrupts():
    """After READY, one line per IRQ line that fired: how many interrupts it delivered."""
    with boot() as vm:
        try:
            vm.wait_for(r"interrupts: IRQ 0 fired \d+ times", timeout=5)
        except AssertionError:
            pass
        log = vm.log()
        counts = qemu_irq_counts(vm.monitor("info irq"))
    after_ready = log[expect_in_log(log, r"INFO  READY$", "no READY line").end():]
    kernel = {int(line): int(count) for line, count in
              re.findall(r"interrupts: IRQ (\d+) fired (\d+) times", after_ready)}
    if 0 not in kernel:
        raise NotYet("no line 'interrupts: IRQ 0 fired N times' after READY")
    if kernel[0] == 0 or kernel[0] > counts.get(0, 0):
        raise NotYet(f"the kernel counted {kernel[0]} timer interrupts by READY, but QEMU's PIC "
                     f"raised IRQ 0 only {counts.get(0, 0)} times until later (`info irq`)")


@exercise("3.3")
def measure_the_tsc():
    """time::init measures the time-stamp counter's rate against the PIT and logs it."""
    with boot() as vm:
        log = vm.log()
    match = expect_in_log(log, r"time: TSC runs at (\d+) MHz", "the TSC's rate is not logged")
    mhz = int(match.group(1))
    if not 100 <= mhz <= 20_000:
        raise NotYet(f"a TSC at {mhz} MHz is not plausible: the host's clock runs at 0.1 to 20 GHz "
                     "(QEMU's TCG reads the host's TSC)")
