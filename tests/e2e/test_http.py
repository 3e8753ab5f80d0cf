"""The HTTP server end to end: one boot of the default kernel with a forwarded port, then
requests from the host, well-formed and hostile. After every hostile case the server must
still answer, and the serial log must show no panic or CPU exception."""

import json
import random
import re
import socket
import threading
import time

from qemu import Qemu, build_iso

vm = None


def setup_module():
    global vm
    vm = Qemu(build_iso(""), timeout=600).start()
    vm.wait_for(r"READY", timeout=90)


def teardown_module():
    if vm:
        vm.kill()


def connect(timeout=10):
    s = socket.create_connection(("127.0.0.1", vm.port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


class Reader:
    """Reads HTTP/1.1 responses off a socket, framed by Content-Length."""

    def __init__(self, sock):
        self.sock, self.buffer = sock, b""

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        self.buffer += chunk

    def response(self, head_request=False):
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        version, code, _reason = lines[0].split(" ", 2)
        assert version == "HTTP/1.1", lines[0]
        headers = {}
        for line in lines[1:]:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
        length = 0 if head_request else int(headers["content-length"])
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return int(code), headers, body

    def closed(self, timeout=5):
        """Whether the server closes the connection (reads EOF or a reset) within `timeout`."""
        self.sock.settimeout(timeout)
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False


def request(method, path, headers="", body=b""):
    """One request on a fresh connection with Connection: close; returns (code, headers, body)."""
    with connect() as s:
        s.sendall(f"{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n{headers}\r\n".encode() + body)
        return Reader(s).response(head_request=method == "HEAD")


def raw(data, timeout=10):
    """Sends raw bytes; returns everything the server sent before closing."""
    with connect(timeout) as s:
        s.sendall(data)
        out = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                out += chunk
        except ConnectionResetError:
            pass
        return out


def assert_alive():
    code, _, body = request("GET", "/api/stats")
    assert code == 200, code
    json.loads(body)
    vm.assert_no_fatal()


def test_boot_log_names_nic_address_and_url():
    log = vm.log()
    for line in (r"rtl8139: .* IRQ 11, MAC 52:54:00:12:34:56", r"net: DHCP: address 10.0.2.15/24",
                 r"http: listening on port 80", r"http: open http://10.0.2.15/"):
        assert re.search(line, log), f"boot log lacks {line!r}"


def test_home_page():
    code, headers, body = request("GET", "/")
    assert code == 200
    assert headers["content-type"].startswith("text/html")
    assert int(headers["content-length"]) == len(body)
    assert b"<!DOCTYPE html>" in body and b"dashboard.js" in body
    for path, kind in (("/style.css", "text/css"), ("/dashboard.js", "text/javascript")):
        code, headers, _ = request("GET", path)
        assert code == 200 and headers["content-type"].startswith(kind), (path, code, headers)


def test_head_has_get_headers_and_no_body():
    _, get_headers, get_body = request("GET", "/index.html")
    with connect() as s:
        s.sendall(b"HEAD /index.html HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        reader = Reader(s)
        code, head_headers, _ = reader.response(head_request=True)
        assert reader.closed(), "HEAD answer followed by bytes"
        assert reader.buffer == b"", f"HEAD answer carried a body: {reader.buffer[:40]!r}"
    assert code == 200
    assert head_headers == get_headers
    assert int(head_headers["content-length"]) == len(get_body)


def test_not_found_and_methods():
    assert request("GET", "/no-such-page")[0] == 404
    code, headers, _ = request("POST", "/index.html", "Content-Length: 2\r\n", b"hi")
    assert code == 405 and headers["allow"] == "GET, HEAD"
    assert request("DELETE", "/")[0] == 405
    assert request("BREW", "/coffee")[0] == 501
    assert request("GET", "/../../etc/passwd")[0] == 400
    assert request("GET", "/%2e%2e/Cargo.toml")[0] == 400
    assert request("GET", "/", "Content-Length: 5\r\n", b"hello")[0] == 413


def test_api_documents():
    stats = json.loads(request("GET", "/api/stats")[2])
    assert stats["uptime_ms"] > 0
    assert stats["nic"]["mac"] == "52:54:00:12:34:56" and stats["nic"]["address"] == "10.0.2.15/24"
    assert stats["http"]["workers"] >= 8
    names = [t["name"] for t in stats["scheduler"]["threads"]]
    assert "net" in names and "http-accept" in names, names
    threads = json.loads(request("GET", "/api/threads")[2])
    assert threads["threads"]
    pci = json.loads(request("GET", "/api/pci")[2])
    assert any(d["vendor_id"] == "10ec" and d["device_id"] == "8139" for d in pci["devices"])


def test_big_file_is_one_mebibyte_of_the_pattern():
    start = time.monotonic()
    code, headers, body = request("GET", "/big.bin")
    seconds = time.monotonic() - start
    assert code == 200 and len(body) == 1 << 20
    assert body == bytes(i % 251 for i in range(1 << 20))
    print(f"    /big.bin: 1 MiB in {seconds:.2f} s ({(1 << 20) / seconds / 1e6:.2f} MB/s)")


def test_fifty_requests_on_one_keep_alive_connection():
    with connect() as s:
        reader = Reader(s)
        start = time.monotonic()
        for i in range(50):
            s.sendall(f"GET /api/stats?n={i} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
            code, headers, body = reader.response()
            assert code == 200 and headers["connection"] == "keep-alive", (i, code, headers)
            json.loads(body)
        seconds = time.monotonic() - start
    print(f"    50 keep-alive requests in {seconds:.2f} s ({50 / seconds:.0f} requests/s)")


def test_three_pipelined_requests_in_one_write():
    with connect() as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n"
                  b"GET /missing HTTP/1.1\r\nHost: t\r\n\r\n"
                  b"HEAD /api/threads HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        reader = Reader(s)
        first, second, third = reader.response(), reader.response(), reader.response(head_request=True)
        assert (first[0], second[0], third[0]) == (200, 404, 200)
        assert first[1]["content-type"].startswith("text/html")
        assert third[1]["content-type"] == "application/json" and third[1]["connection"] == "close"
        assert reader.closed()


def test_http10_closes_after_the_response():
    with connect() as s:
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        reader = Reader(s)
        assert reader.response()[0] == 200
        assert reader.closed()


def test_thirty_two_concurrent_clients():
    results, errors = [], []

    def client(i):
        try:
            code, _, body = request("GET", f"/api/stats?client={i}")
            results.append(code)
        except Exception as error:  # reported below
            errors.append(repr(error))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(32)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    seconds = time.monotonic() - start
    assert not errors, errors
    assert sorted(results) == [200] * 32, results
    print(f"    32 concurrent clients served in {seconds:.2f} s")
    assert_alive()


def test_oversized_head_is_431_and_long_uri_414():
    code_431 = raw(b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
    assert code_431.startswith(b"HTTP/1.1 431 "), code_431[:60]
    code_414 = raw(b"GET /" + b"a" * 3000 + b" HTTP/1.1\r\n\r\n")
    assert code_414.startswith(b"HTTP/1.1 414 "), code_414[:60]
    assert_alive()


def test_garbage_bytes():
    rng = random.Random(8139)
    for length in (1, 17, 300, 5000):
        reply = raw(bytes(rng.randrange(256) for _ in range(length)) + b"\r\n\r\n")
        assert reply == b"" or reply.startswith(b"HTTP/1.1 4") or reply.startswith(b"HTTP/1.1 5"), reply[:60]
    assert raw(b"\x00" * 64 + b"\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert_alive()


def test_a_dribbling_client_does_not_delay_others():
    stop = threading.Event()

    def dribble():
        with connect(timeout=30) as s:
            for byte in b"GET / HTTP/1.1\r\nHost: slow\r\nX-Padding: " + b"z" * 200:
                if stop.is_set():
                    return
                s.sendall(bytes([byte]))
                time.sleep(0.02)

    slow = threading.Thread(target=dribble)
    slow.start()
    time.sleep(0.3)
    try:
        for _ in range(5):
            start = time.monotonic()
            assert request("GET", "/")[0] == 200
            took = time.monotonic() - start
            assert took < 1.0, f"a request took {took:.2f} s while another client dribbled"
    finally:
        stop.set()
        slow.join()
    assert_alive()


def test_a_burst_of_connections_opened_and_dropped():
    # QEMU's user network listens on the forwarded port with a backlog of 1, so a burst of
    # connects from the host takes a few seconds of SYN retries on the host side.
    sockets = []
    for i in range(24):
        s = socket.socket()
        s.settimeout(5)
        s.connect(("127.0.0.1", vm.port))
        if i % 2:
            s.sendall(b"GET / HTT")  # half a request line
        sockets.append(s)
    for i, s in enumerate(sockets):
        if i % 3 == 0:  # reset instead of a graceful close
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.close()
    time.sleep(0.5)
    assert_alive()


def test_all_workers_busy_and_queue_full_gives_503():
    # 8 clients that started a request and stall hold the 8 workers (for up to the 10 s head
    # timeout); 16 silent connections fill the queue; the next client is refused at once.
    held = []
    try:
        for _ in range(8):
            s = connect()
            s.sendall(b"GET / HTTP/1.1\r\n")
            held.append(s)
        time.sleep(0.3)
        for _ in range(16):
            held.append(connect())
        time.sleep(0.3)
        start = time.monotonic()
        reply = raw(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert reply.startswith(b"HTTP/1.1 503 "), reply[:60]
        assert time.monotonic() - start < 2, "the 503 took too long"
    finally:
        for s in held:
            s.close()
    time.sleep(0.5)
    stats = json.loads(request("GET", "/api/stats")[2])
    assert stats["http"]["connections_rejected"] >= 1, stats["http"]
    assert_alive()


def test_serial_log_is_clean():
    vm.assert_no_fatal()


def test_static_address_from_the_command_line():
    """A second boot, with ip= and gw= instead of DHCP: slirp still reaches 10.0.2.15."""
    with Qemu(build_iso("ip=10.0.2.15/24 gw=10.0.2.2"), timeout=120) as static_vm:
        static_vm.wait_for(r"READY", timeout=90)
        log = static_vm.log()
        assert "static address 10.0.2.15/24" in log, log[-2000:]
        assert "DHCP" not in log.split("static address")[1], "DHCP ran despite ip="
        with socket.create_connection(("127.0.0.1", static_vm.port), timeout=10) as s:
            s.sendall(b"GET /api/stats HTTP/1.1\r\nConnection: close\r\n\r\n")
            code, _, body = Reader(s).response()
        assert code == 200 and json.loads(body)["nic"]["address"] == "10.0.2.15/24"
        static_vm.assert_no_fatal()
