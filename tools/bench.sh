#!/usr/bin/env bash
# bench.sh ISO — measures the kernel's ISO and a stock Linux guest (Debian kernel + busybox
# httpd on the same RTL8139) side by side, with the harness in ../shared/bench, and prints a
# table. Figures, not assertions: a benchmark is not a test.
#
# Both guests use the static address 10.0.2.15/24 that the harness expects. Request rates are
# measured over a tap device in a private network namespace (--tap; QEMU's user-network port
# forward drops queued connections), boot time and bulk throughput over QEMU's user network.
# Environment: RUNS (1) runs of each; PEER=0 skips the Linux guest; BENCH_DIR (../shared/bench).
set -euo pipefail
iso=$(realpath "$1")
bench_dir=${BENCH_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared/bench}
runs=${RUNS:-1}
out=$(mktemp -d /tmp/mk-bench.XXXXXX)
[[ -x $bench_dir/httpbench.sh ]] || { echo "bench: no harness at $bench_dir (set BENCH_DIR)" >&2; exit 1; }

measure() { # measure ISO LABEL: slirp run without the memory probe, then a tap run with it
    local run
    for run in $(seq "$runs"); do
        MEM_PROBE="" "$bench_dir/httpbench.sh" "$1" "$2" >>"$out/$2.txt"
        "$bench_dir/httpbench.sh" --tap "$1" "$2-tap" >>"$out/$2.txt"
    done
}

measure "$iso" micro-kernel
if [[ ${PEER:-1} == 1 ]]; then
    peer=/tmp/peer-linux/peer-linux.iso
    [[ -f $peer ]] || "$bench_dir/peer-linux/build.sh" >&2
    measure "$peer" linux
fi

python3 - "$out"/*.txt <<'PY'
import statistics, sys
rows = {}
for path in sys.argv[1:]:
    for line in open(path):
        parts = line.split()
        if len(parts) != 4:
            continue
        label, metric, value, unit = parts
        net = "tap" if label.endswith("-tap") else "slirp"
        guest = label.removesuffix("-tap")
        try:
            rows.setdefault((metric, unit, net), {}).setdefault(guest, []).append(float(value))
        except ValueError:
            pass
wanted = [("boot_to_first_200", "slirp"), ("boot_to_serial_marker", "slirp"), ("rps_keepalive", "tap"),
          ("p50_keepalive", "tap"), ("p99_keepalive", "tap"), ("rps_close", "tap"), ("p50_close", "tap"),
          ("p99_close", "tap"), ("errors_keepalive", "tap"), ("errors_close", "tap"), ("bulk_MBps", "slirp"),
          ("bulk_MBps", "tap"), ("keepalive_reused", "slirp"), ("min_mem_ok", "tap"), ("iso_bytes", "slirp")]
guests = ["micro-kernel", "linux"]
print(f"| {'metric':<28} | {'net':<5} | " + " | ".join(f"{g:>14}" for g in guests) + " |")
print("|" + "-" * 30 + "|" + "-" * 7 + "|" + "|".join("-" * 16 for _ in guests) + "|")
for metric, net in wanted:
    for (m, unit, n), by_guest in rows.items():
        if m == metric and n == net:
            cells = []
            for g in guests:
                values = by_guest.get(g)
                cells.append(f"{statistics.median(values):>14.3f}" if values else f"{'-':>14}")
            print(f"| {metric + ' (' + unit + ')':<28} | {net:<5} | " + " | ".join(cells) + " |")
PY
echo "raw figures: $out"
