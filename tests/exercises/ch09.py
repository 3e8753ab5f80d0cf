"""Checks of chapter 9's exercises (docs/09-network.md)."""

import json
import socket
import threading

from kit import NotYet, boot, exercise, expect_in_log, http_get

import qemu


@exercise("9.1")
def the_socket_budget_on_the_command_line():
    """sockets=N sets the TCP socket budget, kept within MIN_TCP_SOCKETS and MAX_TCP_SOCKETS."""
    for asked, budget in ((100, 100), (10, 64)):
        with boot(f"sockets={asked}") as vm:
            log = vm.log()
            if f'ignoring unknown kernel argument "sockets={asked}"' in log:
                raise NotYet(f"sockets={asked} is still an unknown kernel argument")
            status, _, body = http_get(vm, "/api/stats")
        line = expect_in_log(log, r"net: (\d+) TCP sockets", "the budget's boot line")
        if int(line.group(1)) != budget:
            raise NotYet(f"booted with sockets={asked}, the boot log says {line.group(0)!r}, not {budget}")
        reported = json.loads(body)["nic"]["tcp_sockets_max"] if status == 200 else None
        if reported != budget:
            raise NotYet(f"booted with sockets={asked}, /api/stats reports tcp_sockets_max {reported}, not {budget}")


def echo(port, data, results, index):
    """Sends `data` on a connection to `port` (its first line alone, then the rest while
    reading), and keeps in results[index] what came back before the service closed or all of
    it had."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=20) as client:
            line = data.index(b"\n") + 1
            client.sendall(data[:line])
            received = b""
            while len(received) < line and (chunk := client.recv(65536)):
                received += chunk
            sender = threading.Thread(target=client.sendall, args=(data[line:],))
            sender.start()
            while len(received) < len(data) and (chunk := client.recv(65536)):
                received += chunk
            sender.join()
            results[index] = received
    except OSError as error:
        results[index] = error


@exercise("9.2")
def an_echo_service():
    """A TCP echo service (RFC 862) on port 7, for several clients at once."""
    port = qemu.free_port()
    netdev = f"user,id=n0,hostfwd=tcp:127.0.0.1:{qemu.free_port()}-:80,hostfwd=tcp:127.0.0.1:{port}-:7"
    payloads = [b"hello\n" + bytes(i % 251 for i in range(100_000)),
                b"world\n" + bytes((i * 7) % 256 for i in range(100_000))]
    with boot(netdev=netdev) as vm:
        results = [None, None]
        threads = [threading.Thread(target=echo, args=(port, data, results, i)) for i, data in enumerate(payloads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        log = vm.log()
    for data, result in zip(payloads, results):
        if isinstance(result, Exception) or result is None:
            raise NotYet(f"a connection to port 7 failed: {result!r}\n{qemu.tail(log, 10)}")
        if result != data:
            same = next((i for i, (a, b) in enumerate(zip(result, data)) if a != b), min(len(result), len(data)))
            raise NotYet(f"sent {len(data)} bytes to port 7, got {len(result)} back, the same up to byte {same}")
