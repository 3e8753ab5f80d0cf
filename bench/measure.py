#!/usr/bin/env python3
"""bench/measure.py KIND LABEL ISO — boots ISO under QEMU (TCG) and measures it; prints one
line per figure on stdout, `LABEL METRIC VALUE UNIT`. Progress goes to stderr.

Runs inside the private network namespace that bench/run.sh made: the guest's NIC is attached
to the tap device $BENCH_TAP (10.0.2.2/24 on the host side), the guest is 10.0.2.15. Traffic
goes nowhere else. Every QEMU started here runs under `timeout` and is killed by its PID.

KIND:
  http     an HTTP server on port 80 (this kernel or the Linux peer): QEMU start to the first
           200, keep-alive and new-connection requests/s with p50/p99 (wrk), /big.bin MB/s
           (median and best of BULK_N downloads, and QEMU's CPU time per MiB sent), ping round
           trip, the smallest -m that still serves / and /big.bin, the ISO's size.
  floor    GRUB and a trivial multiboot2 kernel that exits QEMU at once: QEMU start to exit,
           the part of every boot that no kernel can save.
  ceiling  the Linux guest running pktgen: frames/s and MB/s the emulated NIC carries, counted
           on the tap (rx_packets, rx_bytes) over a fixed window.

Environment: BENCH_TAP (tap device), NIC (QEMU device model, rtl8139), DURATION (10 s per wrk
run), CONNS (4), BULK_N (5 downloads), MEM (256M), MEM_PROBE ("128 96 64 32 16", "" skips),
WINDOW (5 s of pktgen), CAPTURE (a pcap file: QEMU's filter-dump records the NIC's traffic),
STATS=1 (this kernel: /api/stats NIC counters and threads' CPU time around the bulk downloads,
per download), ONLY_BULK=1 (boot and /big.bin only), KEEP_LOGS=DIR (keep serial logs, wrk output).
"""

import json
import os
import re
import selectors
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

GUEST = "10.0.2.15"
URL = f"http://{GUEST}"
TAP = os.environ.get("BENCH_TAP", "tap0")
NIC = os.environ.get("NIC", "rtl8139")
DURATION = int(os.environ.get("DURATION", "10"))
CONNS = int(os.environ.get("CONNS", "4"))
BULK_N = int(os.environ.get("BULK_N", "5"))
MEM = os.environ.get("MEM", "256M")
MEM_PROBE = os.environ.get("MEM_PROBE", "128 96 64 32 16").split()
WINDOW = float(os.environ.get("WINDOW", "5"))
BOOT_TIMEOUT = 120
# Serial-log lines that mean a boot has failed for good: no need to wait for the time-out.
FAILED_BOOT = re.compile(rb"error: out of memory|error: you need to load|Kernel panic|KERNEL PANIC|CPU EXCEPTION"
                         rb"|net: no network card")


def log(message):
    print(f"[bench] {message}", file=sys.stderr, flush=True)


class Guest:
    """One QEMU: started in the background, bounded by `timeout`, stopped by its PID."""

    def __init__(self, iso, mem, work, name, extra=(), bound=600):
        self.serial = os.path.join(work, f"{name}.serial.log")
        self.stderr = open(os.path.join(work, f"{name}.qemu.err"), "wb")
        netdev = f"tap,id=n0,ifname={TAP},script=no,downscript=no"
        command = ["timeout", "-k", "5", str(bound), "qemu-system-x86_64", "-accel", "tcg",
                   "-m", str(mem), "-cdrom", iso, "-display", "none", "-no-reboot",
                   "-serial", f"file:{self.serial}", "-device", f"{NIC},netdev=n0",
                   "-netdev", netdev, *extra]
        capture = os.environ.get("CAPTURE")
        if capture:
            command += ["-object", f"filter-dump,id=f0,netdev=n0,file={capture}"]
        # The host forgets the guest's MAC: each boot is found by ARP, as a first boot is.
        subprocess.run(["ip", "neigh", "flush", "dev", TAP], check=False)
        self.t0 = time.monotonic()
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=self.stderr)

    def alive(self):
        return self.process.poll() is None

    def serial_log(self):
        try:
            with open(self.serial, "rb") as f:
                return f.read()
        except FileNotFoundError:
            return b""

    def failed(self):
        return not self.alive() or FAILED_BOOT.search(self.serial_log()) is not None

    def wait_for_serial(self, marker, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.alive():
            if marker in self.serial_log():
                return time.monotonic() - self.t0
            time.sleep(0.02)
        return None

    def qemu_pid(self):
        """QEMU's PID (the child of `timeout`), or None."""
        try:
            return int(open(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read().split()[0])
        except (OSError, IndexError, ValueError):
            return None

    def rss_mib(self):
        """Resident memory of the QEMU process."""
        try:
            with open(f"/proc/{self.qemu_pid()}/status") as f:
                return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1)) / 1024
        except (OSError, AttributeError):
            return None

    def cpu_seconds(self):
        """CPU time QEMU has used so far, all its threads (user + system). Unlike wall time it
        does not grow while other work on a shared machine holds the cores."""
        try:
            fields = open(f"/proc/{self.qemu_pid()}/stat").read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return None

    def stop(self):
        if self.alive():
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.stderr.close()


def first_200(guest, timeout):
    """Seconds from QEMU's start to the first complete `200` status line for GET /, or None.

    A new connection is opened every 20 ms without waiting for the earlier ones: a SYN sent
    before the guest's NIC is up is lost, and waiting for TCP's own retransmission (1 s) would
    round the boot time up. Each attempt lives at most 1 s."""
    selector = selectors.DefaultSelector()
    request = f"GET / HTTP/1.1\r\nHost: {GUEST}\r\nConnection: close\r\n\r\n".encode()
    deadline = time.monotonic() + timeout
    next_attempt = 0.0
    attempts = {}  # socket -> (started, received bytes)
    try:
        while time.monotonic() < deadline:
            now = time.monotonic()
            if now >= next_attempt:
                next_attempt = now + 0.02
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                s.setblocking(False)
                s.connect_ex((GUEST, 80))
                attempts[s] = [now, b"", False]
                selector.register(s, selectors.EVENT_WRITE)
            for key, _ in selector.select(0.005):
                s = key.fileobj
                state = attempts[s]
                try:
                    if not state[2]:
                        if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                            raise OSError("connect failed")
                        s.send(request)
                        state[2] = True
                        selector.modify(s, selectors.EVENT_READ)
                        continue
                    data = s.recv(4096)
                    state[1] += data
                    if b"\r\n" in state[1]:
                        if state[1].split(b" ", 2)[1:2] == [b"200"]:
                            return time.monotonic() - guest.t0
                        raise OSError("not 200")
                    if not data:
                        raise OSError("closed")
                except OSError:
                    selector.unregister(s)
                    del attempts[s]
                    s.close()
            for s in [s for s, state in attempts.items() if time.monotonic() - state[0] > 1.0]:
                selector.unregister(s)
                del attempts[s]
                s.close()
            if guest.failed():
                return None
        return None
    finally:
        for s in attempts:
            s.close()
        selector.close()


def tcp_ext(name):
    """A TcpExt counter of this namespace (/proc/net/netstat)."""
    with open("/proc/net/netstat") as f:
        lines = [line.split() for line in f if line.startswith("TcpExt:")]
    return int(dict(zip(lines[0][1:], lines[1][1:])).get(name, 0))


def wrk(label, name, work, *args):
    """wrk for DURATION s on GET /: requests/s, p50 and p99 latency, errors, SYN retransmits."""
    out = os.path.join(work, f"wrk.{name}.txt")
    retrans = tcp_ext("TCPSynRetrans")
    with open(out, "w") as f:
        subprocess.run(["timeout", str(DURATION + 30), "wrk", "-t1", f"-c{CONNS}", f"-d{DURATION}s",
                        "--timeout", "5s", "--latency", *args, f"{URL}/"], stdout=f, stderr=subprocess.STDOUT)
    text = open(out).read()
    units = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}

    def latency(percent):
        match = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.M)
        return float(match.group(1)) * units[match.group(2)] if match else None

    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    emit(label, f"rps_{name}", float(rps.group(1)) if rps else 0.0, "req/s")
    for percent in (50, 99):
        value = latency(percent)
        if value is not None:
            emit(label, f"p{percent}_{name}", value, "ms")
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", text))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    emit(label, f"errors_{name}", errors + (int(non2xx.group(1)) if non2xx else 0), "count")
    emit(label, f"syn_retrans_{name}", tcp_ext("TCPSynRetrans") - retrans, "count")


def get(path, timeout=60):
    """curl GET: (status, bytes, seconds from start to the last byte)."""
    result = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code} %{size_download} %{time_total}",
                             "--max-time", str(timeout), f"{URL}{path}"], capture_output=True, text=True)
    try:
        code, size, seconds = result.stdout.split()
        return int(code), int(size), float(seconds)
    except ValueError:
        return 0, 0, 0.0


def kernel_counters():
    """This kernel's NIC counters and the CPU time of its threads (timer ticks, http workers
    added up) from /api/stats; None for a guest without it (the Linux peer)."""
    result = subprocess.run(["curl", "-s", "--max-time", "5", f"{URL}/api/stats"], capture_output=True, text=True)
    try:
        stats = json.loads(result.stdout)
        counters = {k: v for k, v in stats["nic"].items() if isinstance(v, (int, float))}
        for thread in stats["scheduler"]["threads"]:
            name = "ticks_" + re.sub(r"-\d+$", "s", thread["name"])
            counters[name] = counters.get(name, 0) + thread["ticks"]
        counters["uptime_ms"] = stats["uptime_ms"]
        return counters
    except (ValueError, KeyError, TypeError):
        return None


def emit(label, metric, value, unit):
    if isinstance(value, float):
        value = f"{value:.3f}"
    print(f"{label} {metric} {value} {unit}", flush=True)


def measure_http(label, iso, work):
    emit(label, "iso_bytes", os.path.getsize(iso), "bytes")
    log(f"{label}: booting {os.path.basename(iso)} (-m {MEM})")
    guest = Guest(iso, MEM, work, "main")
    try:
        boot = first_200(guest, BOOT_TIMEOUT)
        if boot is None:
            log(f"{label}: no 200 after {time.monotonic() - guest.t0:.1f} s (limit {BOOT_TIMEOUT} s); serial log ends with:")
            sys.stderr.write(guest.serial_log()[-1500:].decode(errors="replace") + "\n")
            emit(label, "served", 0, "bool")
            return
        emit(label, "served", 1, "bool")
        emit(label, "boot_to_first_200", boot, "s")
        if os.environ.get("ONLY_BULK") == "1":
            measure_bulk(label, guest)
            return
        ping = subprocess.run(["ping", "-q", "-c", "20", "-i", "0.05", "-W", "1", GUEST],
                              capture_output=True, text=True).stdout
        match = re.search(r"= [\d.]+/([\d.]+)/", ping)
        if match:
            emit(label, "ping_rtt_avg", float(match.group(1)), "ms")
        log(f"{label}: wrk keep-alive, {DURATION} s, {CONNS} connections")
        wrk(label, "keepalive", work)
        log(f"{label}: wrk Connection: close, {DURATION} s, {CONNS} connections")
        wrk(label, "close", work, "-H", "Connection: close")
        measure_bulk(label, guest)
    finally:
        guest.stop()
    if MEM_PROBE:
        probe_memory(label, iso, work, boot)


def measure_bulk(label, guest):
    """BULK_N downloads of /big.bin, the median MB/s; with STATS=1 the kernel's NIC counters."""
    rates = []
    before = kernel_counters() if os.environ.get("STATS") == "1" else None
    cpu_before, received = guest.cpu_seconds(), 0
    for _ in range(BULK_N):
        code, size, seconds = get("/big.bin")
        if code != 200 or size == 0 or seconds <= 0:
            log(f"{label}: GET /big.bin answered {code} ({size} bytes)")
            break
        rates.append(size / seconds / 1e6)
        received += size
    cpu_after = guest.cpu_seconds()
    if rates:
        emit(label, "bulk_MBps", statistics.median(rates), "MB/s")
        emit(label, "bulk_MBps_best", max(rates), "MB/s")
    if received and cpu_before is not None and cpu_after is not None:
        # QEMU's CPU time per MiB sent: what the guest and its emulated NIC spend on the
        # transfer, whatever else the host is doing (wall-clock MB/s is not).
        emit(label, "bulk_qemu_cpu_ms_per_MiB", (cpu_after - cpu_before) * 1000 / (received / 2**20), "ms")
    if before is not None:
        after = kernel_counters() or {}
        for key, value in sorted(after.items()):
            if key in before and value != before[key]:
                emit(label, f"bulk_{key}", (value - before[key]) / max(len(rates), 1), "per-download")
    rss = guest.rss_mib()
    if rss is not None:
        emit(label, "qemu_rss_after_load", rss, "MiB")


def probe_memory(label, iso, work, boot):
    """The smallest -m of MEM_PROBE (descending) at which the guest serves / and all of
    /big.bin; the probe stops at the first size that fails."""
    timeout = min(3 * boot + 15, BOOT_TIMEOUT)
    smallest = None
    for mem in MEM_PROBE:
        log(f"{label}: memory probe -m {mem}M")
        guest = Guest(iso, f"{mem}M", work, f"probe{mem}")
        try:
            ok = first_200(guest, timeout) is not None and get("/big.bin", 30)[:2] == (200, 1 << 20)
        finally:
            guest.stop()
        if not ok:
            break
        smallest = int(mem)
    emit(label, "min_mem_ok", smallest if smallest is not None else "none", "MiB")


def measure_floor(label, iso, work):
    """QEMU start to exit through isa-debug-exit (status 1 = the kernel wrote 0)."""
    guest = Guest(iso, MEM, work, "floor", extra=["-device", "isa-debug-exit,iobase=0xf4,iosize=4"], bound=60)
    status = guest.process.wait()
    elapsed = time.monotonic() - guest.t0
    guest.stop()
    if status == 1 and b"K" in guest.serial_log():
        emit(label, "boot_to_exit", elapsed, "s")
    else:
        log(f"{label}: the floor kernel did not exit cleanly (status {status})")


def tap_counter(name):
    with open(f"/sys/class/net/{TAP}/statistics/{name}") as f:
        return int(f.read())


def measure_ceiling(label, iso, work):
    """pktgen's frames as the host's tap receives them, over WINDOW seconds."""
    guest = Guest(iso, MEM, work, "ceiling", bound=BOOT_TIMEOUT + 60)
    try:
        if guest.wait_for_serial(b"PEER PKTGEN", BOOT_TIMEOUT) is None:
            log(f"{label}: pktgen did not start")
            return
        time.sleep(1)  # past pktgen's start-up
        bytes0, packets0, t0 = tap_counter("rx_bytes"), tap_counter("rx_packets"), time.monotonic()
        time.sleep(WINDOW)
        bytes1, packets1, t1 = tap_counter("rx_bytes"), tap_counter("rx_packets"), time.monotonic()
        emit(label, "ceiling_MBps", (bytes1 - bytes0) / (t1 - t0) / 1e6, "MB/s")
        emit(label, "ceiling_fps", (packets1 - packets0) / (t1 - t0), "frames/s")
    finally:
        guest.stop()


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("http", "floor", "ceiling"):
        sys.exit(__doc__)
    kind, label, iso = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3])
    for tool in ("qemu-system-x86_64", "curl", "wrk", "ping"):
        if shutil.which(tool) is None:
            sys.exit(f"bench: {tool} is missing (tools/ensure-deps.sh bench installs it)")
    work = tempfile.mkdtemp(prefix=f"bench-{label}.")
    try:
        {"http": measure_http, "floor": measure_floor, "ceiling": measure_ceiling}[kind](label, iso, work)
    finally:
        keep = os.environ.get("KEEP_LOGS")
        if keep:
            shutil.copytree(work, os.path.join(keep, os.path.basename(work)), dirs_exist_ok=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
