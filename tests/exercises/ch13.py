"""Checks of chapter 13's exercises (docs/13-life-of-a-request.md)."""

import re
import socket

from kit import NotYet, boot, exercise, expect_in_log


def get(vm, path):
    """GET `path` on a connection of its own; the answer's status line."""
    with socket.create_connection(("127.0.0.1", vm.port), timeout=20) as client:
        client.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
    return answer.split(b"\r\n", 1)[0].decode(errors="replace")


def wait_for_the_end(vm, what):
    """Waits for the trace's last line; NotYet naming `what` was sent if it never comes."""
    try:
        vm.wait_for(r"trace: done", timeout=15)
    except AssertionError:
        raise NotYet(f"no 'trace: done' line after {what}:\n"
                     + "\n".join(line for line in vm.log().splitlines() if "trace" in line)) from None


def step_ms(log, number):
    """The log time stamp of trace step `number`, in milliseconds."""
    match = expect_in_log(log, rf"^\[\s*(\d+)\.(\d+)\]\s+INFO\s+trace: +{number} ", f"trace step {number}")
    return int(match.group(1)) * 1000 + int(match.group(2))


@exercise("13.1")
def how_long_did_it_take():
    """The trace's last line says how long the request took: trace: done in N ms."""
    with boot("trace=request") as vm:
        status = get(vm, "/")
        wait_for_the_end(vm, "GET /")
        log = vm.log()
    if not status.endswith("200 OK"):
        raise NotYet(f"GET / was answered {status!r}")
    match = expect_in_log(log, r"trace: done in (\d+) ms$", "the trace's last line does not say how long it took")
    took, measured = int(match.group(1)), step_ms(log, 12) - step_ms(log, 1)
    if abs(took - measured) > 2:
        raise NotYet(f"'trace: done in {took} ms', but steps 1 and 12 are {measured} ms apart in the log")


@exercise("13.2")
def trace_the_request_you_choose():
    """trace=PATH follows the first request for PATH."""
    with boot("trace=/api/stats") as vm:
        if re.search(r"ignoring unknown kernel argument \"trace=/api/stats\"", vm.log()):
            raise NotYet("trace=/api/stats is still an unknown kernel argument")
        get(vm, "/")
        get(vm, "/api/stats")
        wait_for_the_end(vm, "GET / and then GET /api/stats")
        log = vm.log()
    steps = [int(n) for n in re.findall(r"trace: +(\d+) ", log)]
    if steps != list(range(1, 13)):
        raise NotYet(f"the trace logged the steps {steps}, not 1 to 12 once each")
    router = expect_in_log(log, r"trace: +9 .*$", "the router's step").group(0)
    if "GET /api/stats " not in router:
        raise NotYet(f"the request traced is not GET /api/stats: {router}")
