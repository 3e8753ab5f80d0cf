"""The kernel under Bochs, whose e1000 model is not QEMU's: it must boot to READY and answer
HTTP from the host through Bochs' slirp network. About 10 s on these machines (READY about
7 s after Bochs starts), so it runs in `make test`."""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import load  # noqa: E402
from bochs import Bochs  # noqa: E402
from qemu import build_iso  # noqa: E402


def test_boots_and_serves_on_bochs_e1000():
    with Bochs(build_iso(""), timeout=400) as machine:
        machine.wait_for("READY", timeout=360)
        ready = time.monotonic() - machine.started_at
        log = machine.log()
        address = ("127.0.0.1", machine.port)
        code, body = load.get(address, "/", timeout=60)
        assert code == 200 and b"<!DOCTYPE html>" in body, code
        stats = json.loads(load.get(address, "/api/stats", timeout=60)[1])["nic"]
        start = time.monotonic()
        code, big = load.get(address, "/big.bin", timeout=120)
        seconds = time.monotonic() - start
    assert "(e1000 driver): the first supported card on the bus" in log, log[-2000:]
    assert "e1000: 0000:" in log and "link up" in log, log[-2000:]
    assert (stats["model"], stats["driver"]) == ("82540EM", "e1000"), stats
    assert code == 200 and big == bytes(i % 251 for i in range(1 << 20)), "/big.bin damaged"
    print(f"    READY {ready:.0f} s after Bochs started; /big.bin {len(big) / seconds / 1e6:.1f} MB/s")
