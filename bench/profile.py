#!/usr/bin/env python3
"""bench/profile.py ISO [SECONDS] — where this kernel's CPU time goes while it serves /big.bin.

A sampling profiler from outside the guest: QEMU's monitor is asked `info registers` about
every 2 ms while curl downloads /big.bin over and over, and each sampled RIP is looked up in
the kernel's symbol table (the ELF inside the ISO, read with nm). Prints the functions with
the most samples, and the samples per thread-level bucket (idle, interrupt entry, smoltcp,
the driver, the HTTP worker, memory copies).

NIC=e1000 profiles the e1000 path (QEMU's 82540EM); rtl8139 by default.
Run it inside a network namespace whose tap is $BENCH_TAP (bench/run.sh makes one; so does
`ip netns add X; ip -n X tuntap add dev T mode tap; ...`, see bench/run.sh). The QEMU started
here runs under `timeout` and is killed by its PID."""

import bisect
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

TAP = os.environ.get("BENCH_TAP", "tap0")
NIC = os.environ.get("NIC", "rtl8139")  # the QEMU device model, as for bench/measure.py
GUEST = "10.0.2.15"


def symbols(elf):
    table = []
    out = subprocess.run(["nm", "-C", "--numeric-sort", "--defined-only", elf], capture_output=True, text=True).stdout
    for line in out.splitlines():
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1] in "tTwW":
            table.append((int(parts[0], 16), parts[2]))
    return table


def short(name):
    """A readable function name: no hash suffix, no generic arguments."""
    name = re.sub(r"::h[0-9a-f]{16}$", "", name)
    while "<" in name:
        new = re.sub(r"<[^<>]*>", "", name)
        if new == name:
            break
        name = new
    return name


def bucket(name):
    for key, words in (("idle (hlt)", ("idle", "halt")),
                       ("memcpy/memset", ("memcpy", "memset", "memmove", "compiler_builtins")),
                       ("checksum", ("checksum",)),
                       ("smoltcp", ("smoltcp",)),
                       ("driver", ("rtl8139", "e1000")),
                       ("http", ("http::",)),
                       ("scheduler/sync", ("sched::", "sync::", "switch")),
                       ("interrupts", ("interrupts::", "irq", "pic")),
                       ("heap", ("alloc", "heap", "buddy"))):
        if any(w in name.lower() for w in words):
            return key
    return "other"


def main():
    iso = os.path.abspath(sys.argv[1])
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10
    work = tempfile.mkdtemp(prefix="profile.")
    elf = os.path.join(work, "kernel.elf")
    subprocess.run(["xorriso", "-osirrox", "on", "-indev", iso, "-extract", "/boot/micro-kernel.elf", elf],
                   check=True, capture_output=True)
    table = symbols(elf)
    addresses = [a for a, _ in table]
    monitor = os.path.join(work, "monitor.sock")
    qemu = subprocess.Popen(["timeout", "-k", "5", str(seconds + 60), "qemu-system-x86_64", "-accel", "tcg",
                             "-m", "256M", "-cdrom", iso, "-display", "none", "-no-reboot",
                             "-serial", f"file:{work}/serial.log", "-device", f"{NIC},netdev=n0",
                             "-netdev", f"tap,id=n0,ifname={TAP},script=no,downscript=no",
                             "-monitor", f"unix:{monitor},server,nowait"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    downloads = None
    try:
        for _ in range(300):
            serial = f"{work}/serial.log"  # QEMU may open the monitor before the serial file
            if os.path.exists(monitor) and os.path.exists(serial) and b"READY" in open(serial, "rb").read():
                break
            time.sleep(0.05)
        time.sleep(0.5)
        mon = socket.socket(socket.AF_UNIX)
        mon.connect(monitor)
        mon.settimeout(2)

        def command(text):
            mon.sendall(text.encode() + b"\n")
            data = b""
            while not data.rstrip().endswith(b"(qemu)"):
                data += mon.recv(65536)
            return data.decode(errors="replace")

        command("")
        # Its own process group, so that stopping it stops the curl it is running too (a
        # curl left behind would wait for the stopped guest forever); --max-time bounds each.
        downloads = subprocess.Popen(["bash", "-c", f"while :; do curl -s --max-time 10 -o /dev/null http://{GUEST}/big.bin; done"],
                                     start_new_session=True)
        time.sleep(0.5)
        counts, n = {}, 0
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            match = re.search(r"RIP=([0-9a-f]{16})", command("info registers"))
            if match:
                rip = int(match.group(1), 16)
                i = bisect.bisect_right(addresses, rip) - 1
                name = short(table[i][1]) if i >= 0 else f"{rip:#x}"
                if "vtable.shim" in name or "closure" in name:
                    name += f" @{table[i][0]:#x}"  # many share the name: the address tells them apart
                counts[name] = counts.get(name, 0) + 1
                n += 1
            time.sleep(0.002)
    finally:
        if downloads:
            os.killpg(downloads.pid, signal.SIGTERM)
            downloads.wait()
        qemu.terminate()
        qemu.wait()
    buckets = {}
    for name, c in counts.items():
        buckets[bucket(name)] = buckets.get(bucket(name), 0) + c
    print(f"{n} samples of RIP over {seconds:.0f} s of back-to-back /big.bin downloads")
    print("by kind: " + ", ".join(f"{k} {v / n:.1%}" for k, v in sorted(buckets.items(), key=lambda kv: -kv[1])))
    for name, c in sorted(counts.items(), key=lambda kv: -kv[1])[:int(os.environ.get("TOP", "30"))]:
        print(f"{c / n:6.1%}  {name}")


if __name__ == "__main__":
    main()
