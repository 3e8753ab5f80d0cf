"""Checks of chapter 4's exercises (docs/04-threads.md)."""

from kit import NotYet, boot, exercise, expect_in_log


@exercise("4.1")
def time_slice_on_the_command_line():
    """The time slice as a kernel command-line word, slice=N (milliseconds)."""
    for millis in (5, 50):
        with boot(f"slice={millis}") as vm:
            log = vm.log()
        expect_in_log(log, rf"sched: round-robin, time slice {millis} ms,",
                      f"booted with slice={millis}, the scheduler does not report a {millis} ms slice")
        if "ignoring unknown kernel argument" in log:
            raise NotYet(f"slice={millis} is still an unknown kernel argument")
