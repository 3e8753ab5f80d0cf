"""Checks of chapter 4's exercises (docs/04-threads.md)."""

import json

from kit import NotYet, boot, exercise, expect_in_log, http_get, self_test_log, unit


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


@exercise("4.2")
def two_priorities_in_the_run_queue():
    """Two priorities in the run queue; woken threads first."""
    unit("4.2")
    self_test_log()


@exercise("4.3")
def runs_per_thread_in_api_threads():
    """How often each thread got the CPU, and the preemptions, in /api/threads."""
    with boot() as vm:
        http_get(vm, "/")
        status, _, body = http_get(vm, "/api/threads")
    if status != 200:
        raise NotYet(f"/api/threads answered {status}")
    document = json.loads(body)
    threads = document.get("threads", [])
    missing = [t.get("name") for t in threads if not isinstance(t.get("runs"), int)]
    if missing or not threads:
        raise NotYet(f"threads without a \"runs\" count in /api/threads: {missing or 'all'}")
    preemptions = document.get("preemptions")
    if not isinstance(preemptions, int):
        raise NotYet("/api/threads has no \"preemptions\" beside \"context_switches\"")
    switches = document["context_switches"]
    if not 0 < preemptions <= switches:
        raise NotYet(f"preemptions = {preemptions}, context_switches = {switches}: the "
                     "preemptions are some of the switches, and there are some after a boot")
    by_name = {t["name"]: t for t in threads}
    running = [t for t in threads if t["state"] == "running"]
    for thread in [by_name.get("idle")] + running:
        if thread is None or thread["runs"] < 1:
            raise NotYet(f"{thread and thread['name']} has the CPU or had it, yet shows no runs")
    runs = sum(t["runs"] for t in threads)
    # The list and the counter are read one after the other: a few switches may come between.
    slack = 20 + switches // 20
    if abs(runs - switches) > slack:
        raise NotYet(f"the threads' runs add up to {runs}, the context switches are {switches}: "
                     "every switch gives the CPU to exactly one thread")
