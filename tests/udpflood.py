#!/usr/bin/env python3
"""GET / during a UDP flood at the highest rate this host can send (root only).

    tests/udpflood.py ISO        (ISO booted with ip=10.0.2.15/24 gw=10.0.2.2)

QEMU's NIC sits on a tap device in a private network namespace (tests/qemu.py:
PrivateNetwork), which carries far more frames per second than QEMU's user network. First the
figures without a flood: GET / on a fresh connection, one after another. Then a sender process
writes minimum-size UDP frames to the guest's port 9 (nothing listens: every one also costs the
kernel an ICMP "port unreachable" answer) onto the tap as fast as it can, with a raw socket,
for FLOOD_S seconds (longer, up to FLOOD_MAX_S, until MIN_ANSWERED GETs got through), while
the GETs go on.

The host sends several times more frames than the guest can take, and the tap's queue, which
the GETs share with the flood, drops what QEMU has not read in time: a GET's TCP segments too.
TCP then retransmits (a lost SYN after 1 s, then 2 s more...), so a GET during the flood is
tried again, on a fresh connection, until it is answered; its latency runs from its first
try. The tail of the latencies measures that loss as much as the kernel; the kernel's part is
to keep taking frames and to answer every request that reaches it.

The checks: GETs keep being answered during the flood (at least MIN_ANSWERED), none waits
longer than GET_DEADLINE_S; the kernel took frames from the flood throughout; afterwards every
GET is answered at once, as before it. Prints the latencies' median and 99th percentile in each
phase, the flood's rate and what the host and the kernel did with it (src/drivers/rtl8139/chip.rs
masks its receive interrupts while the stack has frames to take; src/net/stack.rs takes a
budget of frames per pass). Exits non-zero if a check fails.
"""

import os
import signal
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import load  # noqa: E402
from qemu import PrivateNetwork, Qemu  # noqa: E402

GUEST = (PrivateNetwork.GUEST, 80)
GUEST_MAC = bytes.fromhex("525400123456")
QUIET_GETS = 300
# Long enough for several GETs to get through: on a quiet host the tap drops about 90% of all
# frames, GETs' included, and each GET waits out TCP's retransmissions (about 7 s apiece).
# The flood goes on past FLOOD_S until MIN_ANSWERED GETs were answered, up to FLOOD_MAX_S: how
# many get through in a fixed time depends on how much the host's tap drops, not the kernel.
FLOOD_S = 45
FLOOD_MAX_S = 150
ATTEMPT_TIMEOUT_S = 10
GET_DEADLINE_S = 60
MIN_ANSWERED = 2


def udp_frame(source_mac, port):
    """A minimum-size Ethernet frame: UDP from 10.0.2.2 to the guest's `port` (no checksum,
    which IPv4 UDP allows)."""
    payload = b"flood!"
    udp = struct.pack("!HHHH", 40000, port, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, socket.IPPROTO_UDP, 0,
                     socket.inet_aton(PrivateNetwork.HOST), socket.inet_aton(PrivateNetwork.GUEST))
    total = sum(struct.unpack("!10H", ip))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    ip = ip[:10] + struct.pack("!H", ~total & 0xFFFF) + ip[12:]
    frame = GUEST_MAC + source_mac + b"\x08\x00" + ip + udp
    return frame + bytes(max(0, 60 - len(frame)))


def flood(tap, seconds):
    """The sender process (already in the namespace): frames onto `tap` for at most `seconds`,
    or until SIGTERM; prints how many it wrote and how many the tap refused."""
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    raw.bind((tap, 0))
    frame = udp_frame(raw.getsockname()[4], 9)
    send = raw.send
    sent = refused = 0
    stopped = []
    signal.signal(signal.SIGTERM, lambda *_: stopped.append(True))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and not stopped:
        for _ in range(2000):
            try:
                send(frame)
                sent += 1
            except OSError:  # ENOBUFS: the tap's queue is full
                refused += 1
    print(sent, refused, flush=True)


def get_until_answered():
    """GET / on fresh connections until one is answered 200; returns (seconds since the first
    try, failed tries). Raises once GET_DEADLINE_S have passed."""
    start = time.monotonic()
    failed = 0
    while True:
        try:
            code, body = load.get(GUEST, "/", timeout=ATTEMPT_TIMEOUT_S)
            assert code == 200 and body, code
            return time.monotonic() - start, failed
        except (OSError, EOFError) as error:
            failed += 1
            if time.monotonic() - start > GET_DEADLINE_S:
                raise AssertionError(f"GET / not answered in {GET_DEADLINE_S} s "
                                     f"({failed} tries, the last: {error!r})") from None


def gets(count=None, until=None, at_least=0, at_most=None):
    """GETs one after another: `count` of them, or until the monotonic time `until` and at
    least `at_least` answered, but none started after `at_most`. Returns their latencies and
    how many tries failed."""
    times, failed = [], 0
    while True:
        now = time.monotonic()
        if count is not None and len(times) >= count:
            break
        if until is not None and now >= until and len(times) >= at_least:
            break
        if at_most is not None and now >= at_most:
            break
        seconds, failures = get_until_answered()
        times.append(seconds)
        failed += failures
    return times, failed


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summary(times, failed):
    return (f"{len(times)} GETs answered, median {percentile(times, 0.5) * 1000:.1f} ms, "
            f"p99 {percentile(times, 0.99) * 1000:.1f} ms, max {max(times) * 1000:.0f} ms; "
            f"{failed} tries failed and were repeated")


def main(iso):
    with PrivateNetwork("mk-hardening-flood") as net:
        vm = Qemu(iso, timeout=600, netdev=net.tap_netdev(), prefix=net.exec_prefix()).start()
        try:
            vm.wait_for(r"READY", timeout=90)
            net.enter()
            gets(count=1)  # the first ARP exchange
            # smoltcp answers echo requests itself (feature auto-icmp-echo-reply, Cargo.toml).
            assert load.ping(PrivateNetwork.GUEST), "the kernel did not answer a ping"
            quiet, quiet_failed = gets(count=QUIET_GETS)
            before = load.stats(GUEST)["nic"]
            tap_before = net.tap_counters()
            sender = subprocess.Popen(
                [*net.exec_prefix(), sys.executable, os.path.abspath(__file__), "--flood",
                 net.tap, str(FLOOD_MAX_S)], stdout=subprocess.PIPE, text=True)
            flood_start = time.monotonic()
            try:
                time.sleep(1)  # the flood runs at full rate before the first GET
                flooded, flood_failed = gets(until=flood_start + FLOOD_S - 1, at_least=MIN_ANSWERED,
                                             at_most=flood_start + FLOOD_MAX_S - 1)
            finally:
                sender.terminate()  # `ip netns exec` execs python: the signal reaches the sender
                sent, refused = map(int, sender.communicate(timeout=FLOOD_MAX_S + 30)[0].split())
            flood_s = time.monotonic() - flood_start
            tap_after = net.tap_counters()
            after_flood, after_failed = gets(count=QUIET_GETS)
            after = load.stats(GUEST)["nic"]
            vm.assert_no_fatal()
        finally:
            vm.kill()
    delivered = tap_after["tx_packets"] - tap_before["tx_packets"]
    dropped = tap_after["tx_dropped"] - tap_before["tx_dropped"]
    delta = {key: after.get(key, 0) - before.get(key, 0) for key in
             ("rx_packets", "rx_pauses", "rx_ring_overflows", "rx_missed", "rx_dropped",
              "tx_packets", "tx_backlogged", "tx_dropped", "receiver_resets")}
    offered = sent + refused
    print(f"without a flood: {summary(quiet, quiet_failed)}")
    print(f"during the flood: {summary(flooded, flood_failed)}")
    print(f"after the flood: {summary(after_flood, after_failed)}")
    print(f"flood: {offered:,} minimum-size frames in {flood_s:.0f} s ({offered / flood_s:,.0f}/s); "
          f"the tap passed {delivered:,} to QEMU ({delivered / flood_s:,.0f}/s) and dropped "
          f"{dropped + refused:,} ({(dropped + refused) / max(1, offered):.0%})")
    print(f"kernel, during the flood: {delta}")
    assert not quiet_failed and not after_failed, (quiet_failed, after_failed)
    assert len(flooded) >= MIN_ANSWERED, f"only {len(flooded)} GETs answered during the flood"
    assert delta["rx_packets"] + delta["rx_missed"] >= 0.9 * delivered, \
        f"the kernel stopped taking frames: {delta}, {delivered} delivered"
    assert delta["receiver_resets"] == 0, "the flood damaged the ring"
    assert percentile(after_flood, 0.99) < max(0.5, 20 * percentile(quiet, 0.99)), \
        "the server did not get its speed back after the flood"


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--flood":
        flood(sys.argv[2], float(sys.argv[3]))
        sys.exit(0)
    if os.geteuid() != 0:
        print("SKIPPED: needs root for the network namespace and the tap device")
        sys.exit(0)
    main(sys.argv[1])
