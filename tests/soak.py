#!/usr/bin/env python3
"""`make soak`: one boot, REQUESTS HTTP requests (default 100,000) in the mix of tests/load.py
(keep-alive runs, fresh connections, requests aborted half-way), every answer checked, then
the idle figures compared with those before. Prints the figures; exits non-zero on a failure.

With CAPTURE=FILE (`make soak CAPTURE=build/soak.pcap`), QEMU also records the headers of every
frame (filter-dump, 128 bytes each) and /api/stats is read twice a second into FILE.stats.jsonl:
at the end, the resets the kernel sent are counted, and the first one is printed with the
kernel's counters of that moment beside it (docs/11-robustness.md shows what they told)."""

import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import load  # noqa: E402
import pcap  # noqa: E402
from qemu import Qemu, build_iso  # noqa: E402

SOCKETS_IDLE = 33


def sample_stats(address, path, stop):
    """Writes /api/stats with a host timestamp, twice a second, until `stop` is set."""
    with open(path, "w") as out:
        while not stop.wait(0.5):
            try:
                stats = load.stats(address)
            except (OSError, AssertionError) as error:
                stats = {"error": repr(error)}
            out.write(json.dumps({"host_time": time.time(), **stats}) + "\n")
            out.flush()


def report_capture(capture, samples_path):
    counts, segments = pcap.close_problems(capture)
    print(f"soak: capture: {counts['resets']} resets sent by the kernel, {counts['refused_syns']} of them "
          f"refusing a SYN; {counts['fins_sent_again']} of {counts['fins']} FINs sent again")
    if not segments:
        return
    print("soak: the connection of the first reset (host time, from port, to port, flags, seq, ack, length):")
    for segment in segments[-12:]:
        print(f"soak:   {segment[0]:.6f} {segment[1]:>5} > {segment[2]:<5} {segment[3]:#04x} "
              f"{segment[4]} {segment[5]} {segment[6]}")
    reset_time = segments[-1][0]
    with open(samples_path) as f:
        samples = [json.loads(line) for line in f]
    nearest = sorted((s for s in samples if "nic" in s), key=lambda s: abs(s["host_time"] - reset_time))[:2]
    for sample in sorted(nearest, key=lambda s: s["host_time"]):
        nic, http = sample["nic"], sample["http"]
        print(f"soak:   counters at {sample['host_time'] - reset_time:+.2f} s: "
              f"TCP sockets {nic['tcp_sockets_used']} of {nic['tcp_sockets_max']} "
              f"({nic.get('tcp_sockets_closing', '?')} closing), "
              f"connections open {http['connections_active']}, rejected {http['connections_rejected']}")


def main(total, capture=None):
    extra = []
    if capture:
        capture = os.path.abspath(capture)
        os.makedirs(os.path.dirname(capture), exist_ok=True)
        extra = ["-object", f"filter-dump,id=f0,netdev=n0,file={capture},maxlen=128"]
    with Qemu(build_iso(""), timeout=3600, extra_args=extra) as vm:
        vm.wait_for(r"READY", timeout=90)
        address = ("127.0.0.1", vm.port)
        load.run_load(address, 1000)  # warm-up: the heap and the tables reach their working size
        before, _ = load.idle_figures(address, SOCKETS_IDLE)
        stop = threading.Event()
        sampler = None
        if capture:
            sampler = threading.Thread(target=sample_stats, args=(address, capture + ".stats.jsonl", stop))
            sampler.start()
        try:
            tally, seconds = load.run_load(address, total)
        finally:
            stop.set()
            if sampler:
                sampler.join()
        after, stats = load.idle_figures(address, SOCKETS_IDLE)
        vm.assert_no_fatal()
    print(f"soak: {total} requests in {seconds:.0f} s ({total / seconds:.0f}/s): {tally.answered} answered, "
          f"{tally.aborted} aborted half-way, {len(tally.errors)} errors, {tally.connections} connections")
    http, nic = stats["http"], stats["nic"]
    print(f"soak: server counted {http['requests']} requests, {http['connections_accepted']} connections, "
          f"{http['connections_rejected']} answered 503, {http['connections_aborted']} reset for not reading; "
          f"NIC: {nic['rx_ring_overflows']} ring overflows, {nic['rx_missed']} missed, "
          f"{nic['rx_dropped']} dropped, {nic['half_open_expired']} half-open expired")
    print(f"soak: idle before {before}")
    print(f"soak: idle after  {after}")
    if capture:
        report_capture(capture, capture + ".stats.jsonl")
    failures = load.leak_problems(before, after)
    if tally.errors:
        failures.append(f"{len(tally.errors)} errors, first: {tally.errors[:3]}")
    if tally.answered + tally.aborted != total - total % 4:
        failures.append(f"{tally.answered + tally.aborted} of {total} requests accounted for")
    for failure in failures:
        print(f"soak: FAILED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(int(os.environ.get("REQUESTS", "100000")), os.environ.get("CAPTURE") or None))
