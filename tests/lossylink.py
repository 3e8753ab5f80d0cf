#!/usr/bin/env python3
"""TCP over a bad link: downloads and keep-alive requests through a relay that drops,
duplicates, reorders and corrupts frames in both directions (root only).

    tests/lossylink.py ISO        (ISO booted with ip=10.0.2.15/24 gw=10.0.2.2)

These machines have no netem, so the link is a relay of our own, in user space:

    QEMU -netdev socket,udp=127.0.0.1:A,localaddr=127.0.0.1:B      (one UDP datagram per frame)
        <──> Relay (this process, port A) <──> tap0 in a private network namespace <──> client

The relay applies each impairment to a frame at random, at IMPAIRMENT (a few percent) each,
in both directions: drop it; send it twice; hold it back until the next frame has gone
(reorder); or flip one bit after the Ethernet header of an IPv4 frame (corrupt: the IP, TCP
or ICMP checksum must catch it; a one-bit error always changes the Internet checksum). ARP
frames are not corrupted: ARP has no checksum of its own, and on a real link the Ethernet
CRC, which this relay does not carry, drops a damaged frame before anyone reads it. The same
relay with no impairment gives the clean figures. For each link:
DOWNLOADS downloads of /big.bin (1 MiB, byte i is i mod 251) that must arrive whole and
identical, and KEEP_ALIVE GETs on one keep-alive connection that must all succeed. Prints the
download times and what the relay did to the frames. Exits non-zero if a check fails.
"""

import os
import random
import select
import socket
import struct
import sys
import threading
import time
import fcntl

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import load  # noqa: E402
from qemu import PrivateNetwork, Qemu, free_udp_port  # noqa: E402

IMPAIRMENT = 0.03
DOWNLOADS = 3
KEEP_ALIVE = 50
BIG_BIN = 1 << 20
TIMEOUT_S = 120
ETHERNET_HEADER = 14

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000


def open_tap(name):
    """Attaches to the tap `name` of the calling thread's namespace; returns its fd."""
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


class Direction:
    """One direction of the link: its impairments and what they did."""

    def __init__(self, name, send, rate, rng):
        self.name, self.send, self.rate, self.rng = name, send, rate, rng
        self.held = None
        self.counts = dict(frames=0, dropped=0, duplicated=0, reordered=0, corrupted=0)

    def frame(self, data):
        self.counts["frames"] += 1
        roll = self.rng.random()
        if roll < self.rate:
            self.counts["dropped"] += 1
            return
        if roll < 2 * self.rate and data[12:14] == b"\x08\x00":
            self.counts["corrupted"] += 1
            data = bytearray(data)
            data[self.rng.randrange(ETHERNET_HEADER, len(data))] ^= 1 << self.rng.randrange(8)
            data = bytes(data)
        elif roll < 3 * self.rate:
            self.counts["duplicated"] += 1
            self.send(data)
        elif roll < 4 * self.rate and self.held is None:
            self.counts["reordered"] += 1
            self.held = data
            return
        self.send(data)
        self.release()

    def release(self):
        """Sends the frame held back, after the one that overtook it (or on a quiet link)."""
        if self.held is not None:
            held, self.held = self.held, None
            self.send(held)


class Relay:
    """Frames between QEMU's UDP socket netdev and a tap, impaired at `rate`."""

    def __init__(self, udp, qemu_address, tap_fd, rate, seed):
        self.udp, self.qemu_address, self.tap_fd = udp, qemu_address, tap_fd
        rng = random.Random(seed)
        self.to_tap = Direction("to the client", lambda f: os.write(tap_fd, f), rate, rng)
        self.to_guest = Direction("to the kernel", lambda f: udp.sendto(f, qemu_address),
                                  rate, rng)
        self.running = True
        self.thread = threading.Thread(target=self.run, daemon=True)

    def set_rate(self, rate):
        self.to_tap.rate = self.to_guest.rate = rate

    def run(self):
        while self.running:
            ready, _, _ = select.select([self.udp, self.tap_fd], [], [], 0.02)
            if not ready:
                # A quiet link: a frame held back goes now rather than never.
                self.to_tap.release()
                self.to_guest.release()
            for source in ready:
                if source is self.udp:
                    data, _ = self.udp.recvfrom(65536)
                    self.to_tap.frame(data)
                else:
                    self.to_guest.frame(os.read(self.tap_fd, 65536))

    def counts(self):
        return {d.name: dict(d.counts) for d in (self.to_tap, self.to_guest)}


def download(address):
    """GET /big.bin on a fresh connection; checks every byte; returns the seconds it took."""
    start = time.monotonic()
    with load.connect(address, timeout=TIMEOUT_S) as s:
        s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        code, body, _ = load.read_response(s)
    seconds = time.monotonic() - start
    assert code == 200, code
    assert len(body) == BIG_BIN, f"{len(body)} bytes instead of {BIG_BIN}"
    expected = bytes(i % 251 for i in range(251)) * (BIG_BIN // 251 + 1)
    if body != expected[:BIG_BIN]:
        first = next(i for i in range(BIG_BIN) if body[i] != expected[i])
        raise AssertionError(f"/big.bin differs from byte {first} on")
    return seconds


def keep_alive(address):
    """KEEP_ALIVE GETs on one connection; all must be answered; returns the seconds."""
    start = time.monotonic()
    with load.connect(address, timeout=TIMEOUT_S) as s:
        leftover = b""
        for i in range(KEEP_ALIVE):
            path = ("/", "/style.css", "/api/threads")[i % 3]
            s.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
            code, body, leftover, close = load.read_response(s, leftover, with_close=True)
            assert code == 200 and body, (i, path, code)
            assert not close, f"the server closed the keep-alive connection after {i + 1} GETs"
    return time.monotonic() - start


def run_link(relay, address, rate, label):
    relay.set_rate(rate)
    before = relay.counts()
    times = [download(address) for _ in range(DOWNLOADS)]
    kept = keep_alive(address)
    after = relay.counts()
    counts = {name: {k: after[name][k] - before[name][k] for k in after[name]} for name in after}
    print(f"{label}: /big.bin downloads {', '.join(f'{t:.2f} s' for t in times)} "
          f"(all {BIG_BIN} bytes identical); {KEEP_ALIVE} keep-alive GETs in {kept:.2f} s")
    for name, c in counts.items():
        print(f"    frames {name}: {c['frames']}, dropped {c['dropped']}, duplicated "
              f"{c['duplicated']}, reordered {c['reordered']}, corrupted {c['corrupted']}")
    return times, counts


def main(iso):
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    relay_port = udp.getsockname()[1]
    qemu_port = free_udp_port()
    netdev = f"socket,id=n0,udp=127.0.0.1:{relay_port},localaddr=127.0.0.1:{qemu_port}"
    with PrivateNetwork("mk-hardening-lossy") as net:
        vm = Qemu(iso, timeout=900, netdev=netdev).start()
        relay = None
        try:
            vm.wait_for(r"READY", timeout=90)
            net.enter()
            tap_fd = open_tap(net.tap)
            relay = Relay(udp, ("127.0.0.1", qemu_port), tap_fd, 0.0, seed=0x8139)
            relay.thread.start()
            address = (PrivateNetwork.GUEST, 80)
            deadline = time.monotonic() + 20
            while True:
                try:
                    if load.get(address, "/", timeout=2)[0] == 200:
                        break
                except OSError:
                    pass
                assert time.monotonic() < deadline, "the kernel never answered through the relay"
            clean, _ = run_link(relay, address, 0.0, "clean link")
            lossy, counts = run_link(relay, address, IMPAIRMENT,
                                     f"bad link ({IMPAIRMENT:.0%} each of drop, duplicate, "
                                     f"reorder, corrupt, both ways)")
            nic = load.stats(address)["nic"]
            vm.assert_no_fatal()
        finally:
            if relay:
                relay.running = False
                relay.thread.join(2)
            vm.kill()
    clean_mean, lossy_mean = sum(clean) / len(clean), sum(lossy) / len(lossy)
    print(f"mean download: clean {clean_mean:.2f} s, bad link {lossy_mean:.2f} s "
          f"({lossy_mean / clean_mean:.1f}x); kernel rx_errors {nic['rx_errors']}, "
          f"receiver resets {nic['receiver_resets']}")
    for name, c in counts.items():
        for kind in ("dropped", "duplicated", "reordered", "corrupted"):
            assert c[kind] > 0, f"the relay never {kind} a frame {name}: the test tested nothing"


if __name__ == "__main__":
    if os.geteuid() != 0:
        print("SKIPPED: needs root for the network namespace and the tap device")
        sys.exit(0)
    main(sys.argv[1])
