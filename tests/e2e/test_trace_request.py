"""The request trace (`trace=request`, src/trace.rs; docs/13-life-of-a-request.md): one GET
from the host is logged step by step, each step once, in order, each naming the file and the
function where it happens; then the trace is off, and the next request logs nothing."""

import re
import socket

from qemu import Qemu, build_iso

# Each step's number and where the kernel logs it: a layer's own file and function.
STEPS = [
    (1, "src/drivers/rtl8139/rx_ring.rs RxRing::next_packet"),
    (2, "src/drivers/rtl8139/chip.rs Rtl8139::take_received"),
    (3, "src/net/poll_loop.rs on_nic_interrupt"),
    (4, "src/net/poll_loop.rs network_thread"),
    (5, "src/drivers/nic/device.rs NicDevice::receive"),
    # The socket's bytes reach the poller by its waker, or with the accept (a first request
    # that arrives with the handshake's last ACK).
    (6, r"(?:src/net/readiness\.rs notify|src/http/poller\.rs take_in)"),
    (7, "src/http/poller.rs serve"),
    (8, "src/http/server.rs work"),
    (9, "src/http/router.rs Router::respond"),
    (10, r"src/net/socket\.rs TcpStream::try_write(?:_with)?"),
    (11, "src/drivers/rtl8139/chip.rs Rtl8139::transmit_with"),
    (12, "src/drivers/rtl8139/chip.rs Rtl8139::reclaim_tx"),
]


def get(port, path="/"):
    """One GET on its own connection; the answer's status line and length."""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as client:
        client.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
    return answer.split(b"\r\n", 1)[0], len(answer)


def test_one_request_traced_step_by_step():
    with Qemu(build_iso("trace=request"), timeout=120) as vm:
        vm.wait_for(r"READY", timeout=90)
        status, _ = get(vm.port)
        assert status == b"HTTP/1.1 200 OK", status
        vm.wait_for(r"trace: done", timeout=20)
        status, _ = get(vm.port, "/api/stats")
        assert status == b"HTTP/1.1 200 OK", status
        # The second answer is in; its first frame was taken from the ring long before.
        log = vm.log()
    lines = [line for line in log.splitlines() if "trace:" in line]
    numbered = [line for line in lines if re.search(r"trace: +\d+ ", line)]
    print("    " + "\n    ".join(numbered))
    assert len(numbered) == len(STEPS), f"{len(numbered)} steps logged, not {len(STEPS)}:\n" + "\n".join(lines)
    for line, (number, where) in zip(numbered, STEPS):
        assert re.search(rf"trace: +{number} {where}: ", line), f"step {number} should be at {where}: {line}"
    assert "GET / -> 200 OK" in numbered[8], numbered[8]
    after = log[log.index("trace: done"):]
    assert "trace:" not in after.split("\n", 1)[1], "the trace went on after its last step"
    assert not re.search(r"api/stats", "\n".join(lines)), "the second request was traced"


def test_no_trace_unless_asked():
    with Qemu(build_iso(""), timeout=90) as vm:
        vm.wait_for(r"READY", timeout=60)
        status, _ = get(vm.port)
        log = vm.log()
    assert status == b"HTTP/1.1 200 OK", status
    assert "trace:" not in log, [line for line in log.splitlines() if "trace:" in line]
