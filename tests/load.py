"""HTTP load for the leak tests and `make soak`: a mix of keep-alive runs, fresh connections
and requests aborted half-way, from several client threads, with every answer checked.
Also reads the server's idle figures from /api/stats. Python 3 stdlib only."""

import json
import socket
import struct
import threading
import time

# Resources served in turn, and the status each must get.
PATHS = (("/", 200), ("/style.css", 200), ("/api/threads", 200), ("/missing", 404))

# Out of every 10 rounds of a client: 6 keep-alive runs, 3 fresh connections, 1 abort.
KEEP_ALIVE_RUN = 10


def read_response(sock, buffer=b"", with_close=False):
    """Reads one response framed by Content-Length; returns (code, body, leftover), plus
    whether the server said `Connection: close` if `with_close`."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("closed before a response head")
        buffer += chunk
    head, buffer = buffer.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    code = int(lines[0].split(" ")[1])
    length = next(int(l.split(":", 1)[1]) for l in lines[1:] if l.lower().startswith("content-length:"))
    while len(buffer) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("closed inside a body")
        buffer += chunk
    if with_close:
        close = any(l.lower().replace(" ", "") == "connection:close" for l in lines[1:])
        return code, buffer[:length], buffer[length:], close
    return code, buffer[:length], buffer[length:]


def connect(address, timeout=20):
    s = socket.create_connection(address, timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def get(address, path, timeout=20):
    """One request on a fresh connection; returns (code, body)."""
    with connect(address, timeout) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".encode())
        code, body, _ = read_response(s)
        return code, body


def stats(address):
    code, body = get(address, "/api/stats")
    assert code == 200, code
    return json.loads(body)


class Tally:
    """What the clients did, shared between them."""

    def __init__(self):
        self.lock = threading.Lock()
        self.answered = self.aborted = self.connections = 0
        self.errors = []

    def add(self, answered=0, aborted=0, connections=0, error=None):
        with self.lock:
            self.answered += answered
            self.aborted += aborted
            self.connections += connections
            if error:
                self.errors.append(error)


def internet_checksum(data):
    """RFC 1071: the ones' complement of the ones' complement sum of 16-bit words."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ping(host, payload=b"micro-kernel-rs ping", timeout=2):
    """One ICMP echo request to `host` (RFC 792) through a raw socket (root only); True if the
    matching echo reply came back within `timeout` seconds."""
    ident = threading.get_ident() & 0xFFFF
    header = struct.pack("!BBHHH", 8, 0, 0, ident, 1)
    request = struct.pack("!BBHHH", 8, 0, internet_checksum(header + payload), ident, 1) + payload
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as s:
        s.settimeout(timeout)
        s.sendto(request, (host, 0))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                packet, (source, _) = s.recvfrom(2048)
            except socket.timeout:
                return False
            icmp = packet[(packet[0] & 0x0F) * 4:]  # after the IPv4 header (IHL words)
            if source == host and icmp[0] == 0 and icmp[4:6] == request[4:6] \
                    and icmp[8:] == payload:
                return True
    return False


def serves(address, timeout=2):
    """Whether GET / is answered 200 within `timeout` seconds (a refused or lost connection
    is a no, not an error)."""
    try:
        return get(address, "/", timeout=timeout)[0] == 200
    except OSError:
        return False


def wait_until_serving(address, timeout=20):
    """Asks for / until it is answered: over a fresh tap the first request also waits for the
    first ARP exchange. Fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not serves(address):
        assert time.monotonic() < deadline, f"the kernel never answered at {address}"


def flood_udp_until(port, flood_showed, bursts=8, settle_s=3.0):
    """Sends bursts of 3,000 datagrams of 1,400 bytes to 127.0.0.1:`port` (a port QEMU's user
    network forwards to the guest) until `flood_showed()` is true; returns how many bursts that
    took, or None if it never was. The host drops what QEMU's socket buffer cannot hold, and QEMU
    reads that buffer one datagram per pass of its main loop, between its other work: a burst may
    still be on its way to the guest when the next request is answered. So `flood_showed` is asked
    again until it holds or `settle_s` has passed, and only then is the next burst sent."""
    payload = bytes(1400)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as flood:
        for burst in range(1, bursts + 1):
            for _ in range(3000):
                flood.sendto(payload, ("127.0.0.1", port))
            deadline = time.monotonic() + settle_s
            while True:
                if flood_showed():
                    return burst
                if time.monotonic() > deadline:
                    break
    return None


def reset_close(sock):
    """Closes with a reset (SO_LINGER 0) instead of a FIN: a client that vanishes."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def client(address, requests, tally, seed):
    """Sends about `requests` requests in the mix; every answered one is checked."""
    round_, sent = seed, 0
    while sent < requests:
        kind = round_ % 10
        path, want = PATHS[round_ % len(PATHS)]
        round_ += 1
        label = "keep-alive" if kind < 6 else "fresh" if kind < 9 else "abort"
        try:
            if kind < 6:
                # A server with connections queued may end a keep-alive connection after
                # any response (it says `Connection: close`): the run goes on on a new one.
                run = min(KEEP_ALIVE_RUN, requests - sent)
                s, leftover = connect(address), b""
                tally.add(connections=1)
                try:
                    for i in range(run):
                        p, w = PATHS[(round_ + i) % len(PATHS)]
                        s.sendall(f"GET {p}?k={i} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
                        code, _, leftover, close = read_response(s, leftover, with_close=True)
                        if code != w:
                            raise AssertionError(f"{p}: {code}, expected {w}")
                        tally.add(answered=1)
                        sent += 1
                        if close and i + 1 < run:
                            s.close()
                            s, leftover = connect(address), b""
                            tally.add(connections=1)
                finally:
                    s.close()
            elif kind < 9:
                code, _ = get(address, path)
                if code != want:
                    raise AssertionError(f"{path}: {code}, expected {want}")
                tally.add(answered=1, connections=1)
                sent += 1
            else:
                s = connect(address)
                s.sendall(b"GET /index.html HTTP/1.1\r\nHost: half-way")
                reset_close(s)
                tally.add(aborted=1, connections=1)
                sent += 1
        except Exception as error:  # counted: the caller asserts there were none
            tally.add(error=f"{label}: {type(error).__name__}: {error}")
            sent += 1


def run_load(address, total, clients=4):
    """`total` requests from `clients` threads; returns the Tally and the seconds taken."""
    tally = Tally()
    share = total // clients
    threads = [threading.Thread(target=client, args=(address, share, tally, i * 3))
               for i in range(clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return tally, time.monotonic() - start


def idle_figures(address, sockets_idle, timeout=20):
    """The server's resource figures once it is idle: no connection but the one asking and
    its sockets back to `sockets_idle` (closing sockets linger a few seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        s = stats(address)
        figures = {
            "heap_used_bytes": s["memory"]["heap_used_bytes"],
            "heap_bytes": s["memory"]["heap_bytes"],
            "frames_free": s["memory"]["frames_free"],
            "thread_count": s["scheduler"]["thread_count"],
            "tcp_sockets_used": s["nic"]["tcp_sockets_used"],
            "connections_active": s["http"]["connections_active"],
        }
        if (figures["tcp_sockets_used"] <= sockets_idle and figures["connections_active"] <= 1) \
                or time.monotonic() > deadline:
            return figures, s
        time.sleep(0.25)


def settled_idle_figures(address, sockets_idle, timeout=30):
    """idle_figures, read until two readings half a second apart agree: a baseline taken while
    the last connections of a warm-up are still being freed would be too high."""
    deadline = time.monotonic() + timeout
    figures, stats = idle_figures(address, sockets_idle)
    while True:
        time.sleep(0.5)
        again, stats = idle_figures(address, sockets_idle)
        if again == figures or time.monotonic() > deadline:
            return again, stats
        figures = again


def leak_problems(before, after):
    """What differs between two idle_figures: heap bytes in use, threads and sockets must be
    equal; so must the frames outside the heap (the heap grows into free frames at a peak and
    keeps that size, which is a bound, not a leak)."""
    problems = [f"{key}: {before[key]} before, {after[key]} after"
                for key in ("heap_used_bytes", "thread_count", "tcp_sockets_used")
                if before[key] != after[key]]
    outside = [f["frames_free"] + f["heap_bytes"] // 4096 for f in (before, after)]
    if outside[0] != outside[1]:
        problems.append(f"frames outside the heap: {outside[0]} before, {outside[1]} after")
    return problems
