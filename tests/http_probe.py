"""Three ways to talk HTTP to the kernel from the host, for the end-to-end tests: raw sockets
(every byte chosen by the test), Python's http.client (a library's idea of HTTP/1.1) and curl
(a tool's). A conformance test asks the same question all three ways. Python 3 stdlib only,
plus the curl binary (tools/ensure-deps.sh installs it)."""

import http.client
import json
import socket
import subprocess
import time


class Server:
    """The kernel's HTTP server at 127.0.0.1:`port`."""

    def __init__(self, port):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    # --- raw sockets -----------------------------------------------------------------

    def connect(self, timeout=10, receive_buffer=None):
        s = socket.socket()
        if receive_buffer:
            # Set before connect, so the window the client announces is this small.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        s.settimeout(timeout)
        s.connect(("127.0.0.1", self.port))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s

    def raw(self, data, timeout=10):
        """Sends raw bytes; returns everything the server sent before closing (a reset after
        the answer ends the reading too, but is reported: see `raw_or_reset`)."""
        return self.raw_or_reset(data, timeout)[0]

    def raw_or_reset(self, data, timeout=10):
        """Sends raw bytes; returns (what the server sent, whether the connection was reset)."""
        with self.connect(timeout) as s:
            s.sendall(data)
            out = b""
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        return out, False
                    out += chunk
            except ConnectionResetError:
                return out, True

    def request(self, method, path, headers="", body=b""):
        """One request with Host and Connection: close on a fresh connection; returns
        (code, headers, body)."""
        with self.connect() as s:
            s.sendall(f"{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n{headers}\r\n"
                      .encode() + body)
            return Reader(s).response(head_request=method == "HEAD")

    def stats(self):
        code, _, body = self.request("GET", "/api/stats")
        assert code == 200, code
        return json.loads(body)

    def wait_for_stats(self, condition, timeout=20, what="the server's counters"):
        """Polls /api/stats until `condition(stats)` holds; returns the stats. The kernel's own
        counters say when it has reached the state a test needs: no sleeping and hoping."""
        deadline = time.monotonic() + timeout
        while True:
            stats = self.stats()
            if condition(stats):
                return stats
            assert time.monotonic() < deadline, f"{what} never became right: {stats['http']}"
            time.sleep(0.05)

    # --- http.client ---------------------------------------------------------------------

    def client(self, timeout=10):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def client_get(self, method, path, headers=None, body=None):
        """One request through http.client; returns (status, headers dict lower-cased, body)."""
        connection = self.client()
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            connection.close()

    # --- curl ----------------------------------------------------------------------------

    def curl(self, *args, path="/", url=None):
        """Runs curl on `path` (or `url`); returns (status, headers dict, body). `-i` is added:
        the head is parsed from curl's output."""
        command = ["curl", "-s", "-i", "--max-time", "30", *args, url or self.url + path]
        output = subprocess.run(command, capture_output=True, timeout=60).stdout
        return parse_curl_output(output)


def parse_curl_output(output):
    """The last response in `curl -i` output (1xx and earlier responses are skipped)."""
    status, headers, body = None, {}, b""
    while output.startswith(b"HTTP/"):
        head, _, rest = output.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ")[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        output = body = rest
    return status, headers, body


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
        no_body = head_request or code == "304"
        length = 0 if no_body else int(headers["content-length"])
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
