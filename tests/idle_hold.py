#!/usr/bin/env python3
"""How many idle keep-alive connections the kernel holds, and what each costs (root only).

    tests/idle_hold.py ISO [MEM]     (ISO booted with ip=10.0.2.15/24 gw=10.0.2.2; MEM: 256M)

A figure, not a test (docs/10-http.md reports it). Through QEMU's user network every client
is 10.0.2.2 and one address may hold 64 connections (MAX_CONNECTIONS_PER_CLIENT), so this
runs like tests/synflood.py: a private network namespace with a tap device carries QEMU's NIC,
and the clients come from 48 addresses of it. They are in 10.0.3.0/24, behind the gateway
10.0.2.2 as far as the kernel knows, the way clients on the Internet sit behind a router: the
kernel sends to all of them through one neighbour (smoltcp keeps a handful of ARP entries, and
48 clients on the local link would thrash them). Each connection asks for /style.css once, reads
the answer and goes quiet: an idle kept-alive connection, which costs the server its socket
and a record in the poller's table, and no thread. Connections are opened until the server
answers 503 (no connection to spare); one more connection reads /api/stats every 0.2 s
meanwhile (so it is never idle itself). The counters say how many the server holds at the
peak and once it has settled: when fewer than an eighth of its connections are free, idle
ones are closed after 1 s instead of 15 (src/http/limits.rs), so it settles at about seven
eighths of them. The heap in use, over the connections parked, gives what one costs.
"""

import os
import resource
import json
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import load  # noqa: E402
from qemu import PrivateNetwork, Qemu  # noqa: E402
from synflood import GUEST  # noqa: E402

ADDRESSES = [f"10.0.3.{host}" for host in range(100, 148)]
SOCKETS_IDLE = 33


def open_idle(source):
    s = socket.socket()
    s.settimeout(10)
    s.bind((source, 0))
    s.connect(GUEST)
    s.sendall(b"GET /style.css HTTP/1.1\r\nHost: hold\r\n\r\n")
    code, _, _ = load.read_response(s)
    return s, code


class Monitor:
    """Reads /api/stats on one kept-alive connection every 0.2 s; keeps the last reading and
    the one with the most connections parked."""

    def __init__(self):
        self.last = self.peak = None
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run)
        self.thread.start()

    def run(self):
        with load.connect(GUEST) as s:
            leftover = b""
            while not self.stop.wait(0.2):
                s.sendall(b"GET /api/stats HTTP/1.1\r\nHost: monitor\r\n\r\n")
                code, body, leftover = load.read_response(s, leftover)
                assert code == 200, code
                self.last = json.loads(body)
                if self.peak is None or self.last["http"]["connections_parked"] > self.peak["http"]["connections_parked"]:
                    self.peak = self.last

    def close(self):
        self.stop.set()
        self.thread.join()


def describe(label, stats, before):
    http = stats["http"]
    parked = http["connections_parked"]
    heap = stats["memory"]["heap_used_bytes"] - before["heap_used_bytes"]
    return (f"{label}: {http['connections_active']} open, {parked} parked idle, "
            f"{http['workers_busy']} workers busy; heap in use +{heap} bytes, "
            f"{heap / max(1, parked) / 1024:.1f} KiB per parked connection")


def main(iso, mem):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with PrivateNetwork("mk-hold") as net:
        for address in ADDRESSES:
            net.add_address(address)
        run(iso, mem, net)


def run(iso, mem, net):
    vm, held = None, []
    try:
        vm = Qemu(iso, mem=mem, timeout=600, netdev=net.tap_netdev(), prefix=net.exec_prefix()).start()
        vm.wait_for(r"READY", timeout=90)
        net.enter()
        load.wait_until_serving(GUEST)
        load.run_load(GUEST, 200)
        before, stats = load.idle_figures(GUEST, SOCKETS_IDLE)
        budget = stats["nic"]["tcp_sockets_max"]
        monitor = Monitor()
        try:
            started = time.monotonic()
            refused = 0
            for attempt in range(budget + 100):
                s, code = open_idle(ADDRESSES[attempt % len(ADDRESSES)])
                if code == 503:
                    s.close()
                    refused += 1
                    if refused >= 3:
                        break
                    continue
                held.append(s)
            opened = time.monotonic() - started
            time.sleep(5)  # a figure, not a test: let the pressure rule close what it will
        finally:
            monitor.close()
        print(f"idle hold: -m {mem}: socket budget {budget}; {len(held)} connections opened and "
              f"answered in {opened:.1f} s before {refused} were answered 503")
        print("idle hold: " + describe("at the peak", monitor.peak, before))
        print("idle hold: " + describe("5 s later", monitor.last, before))
        for s in held:
            s.close()
        held = []
        after, _ = load.idle_figures(GUEST, SOCKETS_IDLE, timeout=60)
        print(f"idle hold: idle again: {after}")
        problems = load.leak_problems(before, after)
        assert not problems, problems
        vm.assert_no_fatal()
    finally:
        for s in held:
            s.close()
        if vm:
            vm.kill()


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("SKIPPED: needs root for the network namespace and the tap device")
        sys.exit(0)
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "256M")
