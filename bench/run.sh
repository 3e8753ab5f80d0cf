#!/usr/bin/env bash
# bench/run.sh ISO — `make bench`: measures this kernel's ISO beside Linux guests on the same
# emulated NIC, in one run, and writes the figures under build/bench/.
#
#   guests    micro-kernel (ISO), Linux + busybox httpd with each driver for the NIC model,
#             the GRUB floor (a trivial multiboot2 kernel), the pktgen ceiling (Linux flooding
#             the NIC with 1514-byte frames: the most the emulated card carries)
#   network   one tap device in a private network namespace made for this run and deleted at
#             its end; the guest is 10.0.2.15, the host side 10.0.2.2/24, and no route leaves
#   repeats   RUNS rounds (3); each round measures every guest once, so slow spells of a
#             shared machine spread over all guests instead of hitting one
#   output    build/bench/raw.txt (one line per figure and round), table.md (median and
#             min-max of the rounds), bench.svg (the chart, copied to docs/figures/bench.svg);
#             BENCH_OUT=DIR writes them to DIR instead and leaves docs/figures alone
#
# Environment: RUNS (3), NIC (rtl8139; e1000 passes QEMU's Intel 82540EM instead), GUESTS (all
# guests of the NIC model: a subset by label, e.g. micro-kernel,linux-8139too), KERNELS
# (more kernel ISOs measured beside the first, "label=path ...", for experiments), and what
# bench/measure.py reads (DURATION, CONNS, BULK_N, MEM_PROBE, WINDOW, STATS, CAPTURE, ...).
# Needs root (namespace, tap), QEMU, wrk, curl, ping, gnuplot: tools/ensure-deps.sh bench.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
[[ $# == 1 && -f $1 ]] || { echo "usage: $0 ISO" >&2; exit 2; }
iso=$(realpath "$1")
runs=${RUNS:-3}
export NIC=${NIC:-rtl8139}
out=${BENCH_OUT:-$root/build/bench}
mkdir -p "$out"
out=$(cd "$out" && pwd)
[[ $(id -u) == 0 ]] || { echo "bench: needs root (a network namespace and a tap device)" >&2; exit 1; }

# The Linux guests that drive this NIC model, and the ceiling guest.
case $NIC in
    rtl8139) peers=(linux-8139too linux-8139cp) ceiling=pktgen-8139too ;;
    e1000) peers=(linux-e1000) ceiling=pktgen-e1000 ;;
    *) echo "bench: NIC must be rtl8139 or e1000" >&2; exit 2 ;;
esac
declare -A extra_isos=()
extra=()
for pair in ${KERNELS:-}; do
    extra+=("${pair%%=*}")
    extra_isos[${pair%%=*}]=$(realpath "${pair#*=}")
done
all=(micro-kernel "${extra[@]}" "${peers[@]}" floor "$ceiling")
# GUESTS may separate labels with spaces or commas (make bench GUESTS=micro-kernel,floor).
guest_list=${GUESTS:-${all[*]}}
read -r -a guests <<<"${guest_list//,/ }"

"$here/peer/build.sh" "$root/build/bench/peer"
"$here/floor/build.sh" "$root/build/bench/floor"

# A namespace and a tap whose names carry this run's PID, deleted however the run ends.
ns=mkbench$$
export BENCH_TAP=mkb$$
cleanup() { ip netns del "$ns" 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" tuntap add dev "$BENCH_TAP" mode tap
ip -n "$ns" addr add 10.0.2.2/24 dev "$BENCH_TAP"
ip -n "$ns" link set "$BENCH_TAP" up
# Re-ask ARP every 20 ms (1 s by default), 50 times: a boot is not rounded up to the next try.
ip netns exec "$ns" sysctl -qw "net.ipv4.neigh.$BENCH_TAP.retrans_time_ms=20" "net.ipv4.neigh.$BENCH_TAP.mcast_solicit=50"
# Nothing may leave the namespace: the tap's subnet must be its only route.
if ip -n "$ns" -4 route show | grep -qv "^10\.0\.2\.0/24 dev $BENCH_TAP"; then
    echo "bench: unexpected routes in $ns" >&2
    exit 1
fi

raw=$out/raw.txt
{
    echo "# date $(date -u +%Y-%m-%dT%H:%MZ)"
    echo "# machine $(nproc) cores, $(qemu-system-x86_64 --version | head -1), host Linux $(uname -r)"
    echo "# kernel $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
    echo "# peer $(cat "$root/build/bench/peer/kernel-package") + busybox httpd"
    echo "# nic $NIC"
    echo "# runs $runs"
} >"$raw"

iso_of() {
    case $1 in
        micro-kernel) echo "$iso" ;;
        floor) echo "$root/build/bench/floor/floor.iso" ;;
        *) echo "${extra_isos[$1]:-$root/build/bench/peer/$1.iso}" ;;
    esac
}
kind_of() {
    case $1 in floor) echo floor ;; pktgen-*) echo ceiling ;; *) echo http ;; esac
}

for run in $(seq "$runs"); do
    for guest in "${guests[@]}"; do
        echo "== round $run/$runs: $guest" >&2
        ip netns exec "$ns" python3 "$here/measure.py" "$(kind_of "$guest")" "$guest" "$(iso_of "$guest")" |
            tee -a "$raw" || echo "bench: $guest failed in round $run" >&2
    done
done

python3 "$here/report.py" "$raw" "$out"
if [[ -z ${BENCH_OUT:-} ]]; then
    mkdir -p "$root/docs/figures"
    cp "$out/bench.svg" "$root/docs/figures/bench.svg"
    echo "bench: chart copied to docs/figures/bench.svg" >&2
fi
echo "bench: $out/table.md, $out/bench.svg, raw figures $raw" >&2
