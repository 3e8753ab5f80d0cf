"""Checks of chapter 1's exercises (docs/01-boot.md)."""

import re
import time

from kit import NotYet, boot, exercise, http_get, unit


@exercise("1.1")
def name_the_cpu_that_cannot_boot():
    """The boot error for a CPU without long mode names its vendor (CPUID leaf 0)."""
    with boot(wait_for=r"boot error:[^\n]*\n", cpu="pentium3", nic=False, timeout=60) as vm:
        line = re.search(r"boot error:[^\n]*", vm.log()).group(0)
    if "long mode" not in line:
        raise NotYet(f"a Pentium III should stop with the long-mode error, not: {line}")
    if "GenuineIntel" not in line:
        raise NotYet(f"QEMU's Pentium III is a GenuineIntel CPU, but the message does not say so: {line}")


@exercise("1.2")
def big_glyphs_on_a_4k_screen():
    """Glyphs drawn twice as big on screens wider than 2560 pixels."""
    unit("1.2")


@exercise("1.3")
def a_quiet_boot():
    """The kernel argument `quiet` leaves only warnings and errors in the log."""
    with boot("quiet", wait_for=r"micro-kernel \S+ booting") as vm:
        deadline = time.monotonic() + 60
        while True:
            try:
                if http_get(vm, "/", timeout=5)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise NotYet("booted with `quiet`, the web server did not answer within 60 s")
            time.sleep(0.2)
        log = vm.log()
    if "unknown kernel argument \"quiet\"" in log:
        raise NotYet("the kernel still says: ignoring unknown kernel argument \"quiet\"")
    chatty = [line for line in log.splitlines()
              if re.match(r"\[\s*\d+\.\d+\] INFO  ", line)
              and not re.match(r"\[\s*\d+\.\d+\] INFO  (console:|micro-kernel |boot:)", line)]
    if chatty:
        listed = "\n".join(chatty[:5])
        raise NotYet(f"booted with `quiet`, the log still has {len(chatty)} INFO lines after the "
                     f"command line was read, such as:\n{listed}")
