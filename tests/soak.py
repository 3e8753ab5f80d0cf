#!/usr/bin/env python3
"""`make soak`: one boot, REQUESTS HTTP requests (default 100,000) in the mix of tests/load.py
(keep-alive runs, fresh connections, requests aborted half-way), every answer checked, then
the idle figures compared with those before. Prints the figures; exits non-zero on a failure."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import load  # noqa: E402
from qemu import Qemu, build_iso  # noqa: E402

SOCKETS_IDLE = 33


def main(total):
    with Qemu(build_iso(""), timeout=3600) as vm:
        vm.wait_for(r"READY", timeout=90)
        address = ("127.0.0.1", vm.port)
        load.run_load(address, 1000)  # warm-up: the heap and the tables reach their working size
        before, _ = load.idle_figures(address, SOCKETS_IDLE)
        tally, seconds = load.run_load(address, total)
        after, stats = load.idle_figures(address, SOCKETS_IDLE)
        vm.assert_no_fatal()
    print(f"soak: {total} requests in {seconds:.0f} s ({total / seconds:.0f}/s): {tally.answered} answered, "
          f"{tally.aborted} aborted half-way, {len(tally.errors)} errors, {tally.connections} connections")
    http, nic = stats["http"], stats["nic"]
    print(f"soak: server counted {http['requests']} requests, {http['connections_accepted']} connections, "
          f"{http['connections_rejected']} answered 503; NIC: {nic['rx_ring_overflows']} ring overflows, "
          f"{nic['rx_missed']} missed, {nic['rx_dropped']} dropped, {nic['half_open_expired']} half-open expired")
    print(f"soak: idle before {before}")
    print(f"soak: idle after  {after}")
    failures = load.leak_problems(before, after)
    if tally.errors:
        failures.append(f"{len(tally.errors)} errors, first: {tally.errors[:3]}")
    if tally.answered + tally.aborted != total - total % 4:
        failures.append(f"{tally.answered + tally.aborted} of {total} requests accounted for")
    for failure in failures:
        print(f"soak: FAILED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(int(os.environ.get("REQUESTS", "100000"))))
