"""Checks of chapter 11's exercises (docs/11-robustness.md)."""

import http.client
import os
import socket
import struct
import tempfile
import time
import urllib.request

from kit import NotYet, boot, exercise

import qemu


def get_on(connection):
    """GET / on an open keep-alive connection: the status (the body read, the connection kept)."""
    connection.request("GET", "/")
    reply = connection.getresponse()
    reply.read()
    return reply.status


@exercise("11.1")
def the_per_client_cap_on_the_command_line():
    """clientcap=N: the Nth connection of one client address is served, the next answered 503."""
    cap = 4
    with boot(f"clientcap={cap}") as vm:
        if f'ignoring unknown kernel argument "clientcap={cap}"' in vm.log():
            raise NotYet(f"clientcap={cap} is still an unknown kernel argument")
        held = []
        try:
            # One at a time, each answered before the next opens: the server has counted it.
            for number in range(1, cap + 2):
                connection = http.client.HTTPConnection("127.0.0.1", vm.port, timeout=20)
                held.append(connection)
                status = get_on(connection)
                wanted = 200 if number <= cap else 503
                if status != wanted:
                    raise NotYet(f"with clientcap={cap}, connection {number} of one client was "
                                 f"answered {status}, not {wanted}")
        finally:
            for connection in held:
                connection.close()
        # The client let go of them: a new connection is served again once the server has
        # seen them close (bounded: the server closes its side at once).
        deadline = time.monotonic() + 20
        while True:
            connection = http.client.HTTPConnection("127.0.0.1", vm.port, timeout=20)
            try:
                if get_on(connection) == 200:
                    break
            finally:
                connection.close()
            if time.monotonic() > deadline:
                raise NotYet("after the client closed its connections, new ones still get 503")
            time.sleep(0.2)


def icmp_errors(path):
    """Capture times (seconds) of the ICMP destination-unreachable messages in a pcap."""
    times = []
    with open(path, "rb") as f:
        data = f.read()
    endian = "<" if data[:4] == b"\xd4\xc3\xb2\xa1" else ">"
    offset = 24
    while offset + 16 <= len(data):
        seconds, micros, captured, _ = struct.unpack(endian + "IIII", data[offset:offset + 16])
        frame = data[offset + 16:offset + 16 + captured]
        offset += 16 + captured
        if len(frame) < 35 or frame[12:14] != b"\x08\x00" or frame[23] != 1:
            continue
        icmp = 14 + (frame[14] & 0x0F) * 4
        if len(frame) > icmp and frame[icmp] == 3:
            times.append(seconds + micros / 1e6)
    return times


@exercise("11.2")
def icmp_errors_have_a_rate_limit():
    """At most 100 ICMP errors a second (a bucket of 100), however many datagrams come."""
    port = qemu.free_udp_port()
    workdir = tempfile.mkdtemp(prefix="mk-ex11.2-")
    capture = os.path.join(workdir, "icmp.pcap")
    datagrams = 3000
    with boot(udp_forward=port, pcap=capture) as vm:
        # HTTP answered through the forwarded port: the kernel has its address, so the
        # datagrams will reach it.
        urllib.request.urlopen(f"http://127.0.0.1:{vm.port}/api/stats", timeout=30).read()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for _ in range(datagrams):
                sender.sendto(b"x" * 32, ("127.0.0.1", port))
            # A request sent after the burst is answered after the kernel took the burst in.
            urllib.request.urlopen(f"http://127.0.0.1:{vm.port}/api/stats", timeout=30).read()
            if not icmp_errors(capture):
                # The host may have dropped the whole burst before QEMU read it (a busy
                # machine): a few more, paced, are sure to arrive.
                for _ in range(20):
                    sender.sendto(b"x" * 32, ("127.0.0.1", port))
                    time.sleep(0.01)
                urllib.request.urlopen(f"http://127.0.0.1:{vm.port}/api/stats", timeout=30).read()
    times = icmp_errors(capture)
    if not times:
        raise NotYet(f"{datagrams} datagrams to a closed port drew no ICMP error at all: "
                     "the limit must let some through")
    span = times[-1] - times[0]
    allowed = 100 + 100 * span + 5
    if len(times) > allowed:
        raise NotYet(f"{len(times)} ICMP errors in {span:.2f} s: more than a bucket of 100 "
                     f"refilled at 100 a second allows ({allowed:.0f})")
