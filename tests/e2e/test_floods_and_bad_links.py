"""The network card and the stack under a UDP flood and over a bad link (docs/11-robustness.md),
each on a tap in a private network namespace (root only; skipped otherwise):

- tests/udpflood.py: GET / keeps answering while the host floods the kernel with UDP frames
  as fast as it can; prints the latencies' median and p99 with and without the flood;
- tests/lossylink.py: /big.bin downloads arrive whole and identical, and keep-alive GETs all
  succeed, through a relay that drops, duplicates, reorders and corrupts frames both ways;
  prints the download times against a clean link through the same relay.

Each runs as a process of its own: it moves into its namespace (setns), which this runner
must not.
"""

import os
import subprocess
import sys

from qemu import ROOT, build_iso

STATIC_ADDRESS = "ip=10.0.2.15/24 gw=10.0.2.2"


def run_script(name, timeout):
    if os.geteuid() != 0:
        print(f"    SKIPPED: {name} needs root (a network namespace and a tap device)")
        return
    result = subprocess.run([sys.executable, os.path.join(ROOT, "tests", name),
                             build_iso(STATIC_ADDRESS)],
                            capture_output=True, text=True, timeout=timeout)
    print("    " + result.stdout.strip().replace("\n", "\n    "))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_get_keeps_answering_during_a_udp_flood():
    run_script("udpflood.py", timeout=300)


def test_tcp_over_a_link_that_drops_duplicates_reorders_and_corrupts():
    run_script("lossylink.py", timeout=600)
