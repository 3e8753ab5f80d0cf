#!/usr/bin/env python3
"""Slow and hostile clients against the kernel, over a tap in a private network namespace
(root only; tests/e2e/test_http.py runs it).

    tests/slow_clients.py ISO      (ISO booted with ip=10.0.2.15/24 gw=10.0.2.2)

The attack of issue 12, all at once: 8 clients ask for /big.bin through a 4 KiB receive buffer
and never read, and 8 clients send their request heads one byte every 250 ms. Meanwhile 30
fresh clients in a row ask for `GET /`: each must be answered within 2 s. Then the server must
have reset the readers that stopped (they hold 32 KiB of send buffer each: the minimum
transfer rate of src/http/deadlines.rs, after one 30 s window), and be back at its idle
figures once they leave.

Why a tap and not QEMU's user network: there, QEMU itself reads the downloads into its own
buffers, so a client that never reads is not slow as far as the kernel can tell; and QEMU
accepts host connections with a backlog of 1, so a fresh client can wait seconds in the host's
TCP before the kernel even sees it. Over the tap the kernel meets the clients' own TCP.
Prints the figures; exits non-zero if a check fails.
"""

import os
import socket
import statistics
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import load  # noqa: E402
from qemu import PrivateNetwork, Qemu  # noqa: E402
from synflood import GUEST  # noqa: E402

SOCKETS_IDLE = 33
FRESH_CLIENTS = 30
FRESH_LIMIT_S = 2.0
SLOW_READERS = 8
TRICKLERS = 8


def connect(timeout=10, receive_buffer=None):
    s = socket.socket()
    if receive_buffer:
        # Before connect, so that the window the client announces is this small.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    s.settimeout(timeout)
    s.connect(GUEST)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def wait_for_stats(condition, what, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        stats = load.stats(GUEST)
        if condition(stats):
            return stats
        assert time.monotonic() < deadline, f"{what} never came: {stats['http']}"
        time.sleep(0.05)


def attack(before):
    accepted = before["http"]["connections_accepted"]
    aborted = before["http"]["connections_aborted"]
    readers, tricklers, stop = [], [], threading.Event()
    for _ in range(SLOW_READERS):
        s = connect(timeout=60, receive_buffer=4096)
        s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: slow-reader\r\n\r\n")
        readers.append(s)
    head = b"GET / HTTP/1.1\r\nHost: trickle\r\nX-Trickle: " + b"t" * 400
    for _ in range(TRICKLERS):
        s = connect(timeout=60)
        s.sendall(head[:1])
        tricklers.append(s)

    def trickle():
        sent = 1
        while not stop.wait(0.25) and sent < len(head):
            for s in tricklers:
                try:
                    s.sendall(head[sent:sent + 1])
                except OSError:
                    pass
            sent += 1

    trickler = threading.Thread(target=trickle)
    trickler.start()
    latencies = []
    try:
        # All 16 attackers are in (and the stats request asking).
        wait_for_stats(lambda s: s["http"]["connections_accepted"] >= accepted + 16
                       and s["http"]["connections_active"] >= 16 + 1, "the 16 attackers")
        for i in range(FRESH_CLIENTS):
            start = time.monotonic()
            with connect(timeout=FRESH_LIMIT_S) as s:
                s.sendall(f"GET /?fresh={i} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
                code, body, _ = load.read_response(s)
            took = time.monotonic() - start
            latencies.append(took)
            assert code == 200 and b"<!DOCTYPE html>" in body, code
            assert took < FRESH_LIMIT_S, f"fresh client {i} waited {took:.2f} s"
        during = load.stats(GUEST)["http"]
        # The readers that stopped reading are reset by the minimum transfer rate.
        # (after SEND_WINDOW_MS, 30 s, src/http/limits.rs)
        stats = wait_for_stats(lambda s: s["http"]["connections_aborted"] >= aborted + SLOW_READERS,
                               "the resets of the readers that stopped", timeout=70)
        reset_after = time.monotonic() - start
    finally:
        stop.set()
        trickler.join()
        for s in readers + tricklers:
            s.close()
    latencies.sort()
    p99 = statistics.quantiles(latencies, n=100, method="inclusive")[98]
    print(f"slow clients: during {SLOW_READERS} readers with a 4 KiB window that never read and "
          f"{TRICKLERS} tricklers, {FRESH_CLIENTS} fresh GET / all answered: "
          f"p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
          f"max {latencies[-1] * 1000:.1f} ms; workers busy {during['workers_busy']} of "
          f"{during['workers']}, {during['connections_parked']} connections parked")
    print(f"slow clients: the {SLOW_READERS} readers that stopped were reset "
          f"{reset_after:.1f} s after the last fresh client "
          f"({stats['http']['connections_aborted'] - aborted} resets)")
    return latencies


def main(iso):
    with PrivateNetwork("mk-slow") as net:
        run(iso, net)


def run(iso, net):
    vm = None
    try:
        vm = Qemu(iso, timeout=300, netdev=net.tap_netdev(), prefix=net.exec_prefix()).start()
        vm.wait_for(r"READY", timeout=90)
        net.enter()
        load.wait_until_serving(GUEST)
        load.run_load(GUEST, 500)  # warm-up: the heap and the tables reach their working size
        before, stats = load.settled_idle_figures(GUEST, SOCKETS_IDLE)
        attack(stats)
        after, _ = load.idle_figures(GUEST, SOCKETS_IDLE, timeout=40)
        print(f"slow clients: idle before {before}")
        print(f"slow clients: idle after  {after}")
        problems = load.leak_problems(before, after)
        assert not problems, problems
        vm.assert_no_fatal()
    finally:
        if vm:
            vm.kill()


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("SKIPPED: needs root for the network namespace and the tap device")
        sys.exit(0)
    main(sys.argv[1])
