#!/usr/bin/env python3
"""bench/report.py RAW OUT_DIR — turns the `LABEL METRIC VALUE UNIT` lines of one bench run
(bench/run.sh) into OUT_DIR/table.md (median and min-max of the rounds, the goals of issue 15),
OUT_DIR/short.md (the short table README shows) and OUT_DIR/bench.svg and bench.png (a chart
drawn by gnuplot). Prints the table."""

import os
import statistics
import subprocess
import sys

KERNEL = "micro-kernel"
FLOOR = "floor"


def load(path):
    """({(label, metric): [values]}, {label: [order seen]}, header lines)."""
    values, order, header = {}, [], []
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                header.append(line[1:].strip())
                continue
            parts = line.split()
            if len(parts) != 4:
                continue
            label, metric, value, _unit = parts
            try:
                number = float(value)
            except ValueError:
                continue
            values.setdefault((label, metric), []).append(number)
            if label not in order:
                order.append(label)
    return values, order, header


class Figures:
    def __init__(self, values):
        self.values = values

    def median(self, label, metric):
        v = self.values.get((label, metric))
        return statistics.median(v) if v else None

    def spread(self, label, metric):
        v = self.values.get((label, metric))
        return (min(v), max(v), len(v)) if v else None

    def cell(self, label, metric, digits, scale=1.0):
        """`median [min-max]` of the rounds, or a dash."""
        m = self.median(label, metric)
        if m is None:
            return "–"
        low, high, n = self.spread(label, metric)
        text = f"{m * scale:,.{digits}f}"
        if n > 1:
            text += f" [{low * scale:,.{digits}f}–{high * scale:,.{digits}f}]"
        return text

    def ratio(self, a, b):
        return a / b if a is not None and b else None


ROWS = [
    # title, metric, digits, scale
    ("QEMU start to the first `200` (s)", "boot_to_first_200", 2, 1.0),
    ("requests/s, keep-alive (wrk, 4 connections)", "rps_keepalive", 0, 1.0),
    ("p50 / p99 latency, keep-alive (ms)", ("p50_keepalive", "p99_keepalive"), 2, 1.0),
    ("requests/s, a new connection per request", "rps_close", 0, 1.0),
    ("p50 / p99 latency, new connections (ms)", ("p50_close", "p99_close"), 2, 1.0),
    ("`/big.bin` (1 MiB), MB/s", "bulk_MBps", 1, 1.0),
    ("QEMU CPU time per MiB of `/big.bin` (ms)", "bulk_qemu_cpu_ms_per_MiB", 1, 1.0),
    ("smallest `-m` that serves `/` and `/big.bin` (MiB, of 128/96/64/32/16)", "min_mem_ok", 0, 1.0),
    ("ISO size (MB)", "iso_bytes", 1, 1e-6),
]


def table(fig, order, header):
    servers = [label for label in order if (label, "rps_keepalive") in fig.values or (label, "served") in fig.values]
    lines = ["| metric | " + " | ".join(servers) + " |", "|---|" + "---|" * len(servers)]
    for title, metric, digits, scale in ROWS:
        cells = []
        for label in servers:
            if isinstance(metric, tuple):
                cells.append(" / ".join(fig.cell(label, m, digits, scale) for m in metric))
            else:
                cells.append(fig.cell(label, metric, digits, scale))
        lines.append(f"| {title} | " + " | ".join(cells) + " |")
    lines.append("")
    for label in order:
        if (label, "boot_to_exit") in fig.values:
            lines.append(f"QEMU + GRUB floor (`{label}`: a trivial multiboot2 kernel, QEMU start to exit): "
                         f"{fig.cell(label, 'boot_to_exit', 2)} s.  ")
        if (label, "ceiling_MBps") in fig.values:
            lines.append(f"NIC ceiling (`{label}`: Linux pktgen, 1514-byte frames counted on the tap): "
                         f"{fig.cell(label, 'ceiling_MBps', 0)} MB/s, {fig.cell(label, 'ceiling_fps', 0)} frames/s.  ")
    for label in order:
        if fig.median(label, "served") == 0 and (label, "rps_keepalive") not in fig.values:
            lines.append(f"`{label}` did not answer `GET /` (no driver for this NIC model yet?).  ")
    return servers, lines


def goals(fig, order):
    """Issue 15's goals, against the first Linux peer (classic 8139too, or e1000)."""
    peers = [label for label in order if label.startswith("linux-")]
    if KERNEL not in order or not peers:
        return []
    peer = peers[0]
    ceiling = next((label for label in order if (label, "ceiling_MBps") in fig.values), None)
    floor = next((label for label in order if (label, "boot_to_exit") in fig.values), None)
    k = fig.median
    rows = []

    def goal(what, figure, met):
        mark = "–" if met is None else ("met" if met else "**not met**")
        rows.append(f"| {what} | {figure} | {mark} |")

    r = fig.ratio(k(KERNEL, "rps_keepalive"), k(peer, "rps_keepalive"))
    goal(f"keep-alive req/s >= 10x {peer}", f"{r:.1f}x" if r else "–", r >= 10 if r else None)
    r = fig.ratio(k(KERNEL, "rps_close"), k(peer, "rps_close"))
    goal(f"new-connection req/s >= 5x {peer}", f"{r:.1f}x" if r else "–", r >= 5 if r else None)
    p99 = k(KERNEL, "p99_keepalive")
    goal("keep-alive p99 < 5 ms", f"{p99:.2f} ms" if p99 else "–", p99 < 5 if p99 else None)
    boot, base = k(KERNEL, "boot_to_first_200"), k(floor, "boot_to_exit") if floor else None
    if boot and base:
        goal("QEMU start to first 200 within 0.25 s of the floor", f"{boot - base:+.2f} s ({boot:.2f} vs {base:.2f})",
             boot - base <= 0.25)
    mem = k(KERNEL, "min_mem_ok")
    goal("serves with 16 MiB", f"{mem:.0f} MiB" if mem else "–", mem <= 16 if mem else None)
    r = fig.ratio(k(KERNEL, "bulk_MBps"), k(peer, "bulk_MBps"))
    goal(f"/big.bin >= 1.5x {peer}", f"{r:.2f}x" if r else "–", r >= 1.5 if r else None)
    if ceiling:
        c = fig.ratio(k(KERNEL, "bulk_MBps"), k(ceiling, "ceiling_MBps"))
        p = fig.ratio(k(peer, "bulk_MBps"), k(ceiling, "ceiling_MBps"))
        goal("/big.bin as a fraction of the NIC ceiling", f"{c:.0%} ({peer}: {p:.0%})" if c and p else "–", None)
    return ["| goal (issue 15) | figure | |", "|---|---|---|"] + rows


def short_table(fig, order, header):
    """The few lines README shows: this kernel beside the first Linux peer, with the floor, the
    ceiling and issue 15's goals."""
    peers = [label for label in order if label.startswith("linux-")]
    if KERNEL not in order or not peers:
        return []
    peer = peers[0]
    floor = next((label for label in order if (label, "boot_to_exit") in fig.values), None)
    ceiling = next((label for label in order if (label, "ceiling_MBps") in fig.values), None)
    k, c = fig.median, fig.cell

    def times(metric):
        r = fig.ratio(k(KERNEL, metric), k(peer, metric))
        return f"{r:.1f}x" if r else "–"

    floor_text = f"GRUB floor {c(floor, 'boot_to_exit', 2)} s" if floor else "no floor measured"
    ceiling_text = f"pktgen ceiling {c(ceiling, 'ceiling_MBps', 0)} MB/s" if ceiling else "no ceiling measured"
    rows = [
        ("QEMU start to the first `200` (s)", "boot_to_first_200", 2, f"{floor_text}; goal: floor + 0.25 s"),
        ("requests/s, keep-alive", "rps_keepalive", 0, f"{times('rps_keepalive')} Linux; goal 10x"),
        ("p99 latency, keep-alive (ms)", "p99_keepalive", 2, "goal: under 5 ms"),
        ("requests/s, a new connection each", "rps_close", 0, f"{times('rps_close')} Linux; goal 5x"),
        ("`/big.bin` MB/s", "bulk_MBps", 1, f"{times('bulk_MBps')} Linux; goal 1.5x; {ceiling_text}"),
        ("smallest `-m` that serves (MiB)", "min_mem_ok", 0, "goal: 16"),
        ("ISO size (MB)", "iso_bytes", 1, ""),
    ]
    lines = [f"| | {KERNEL} | {peer} | |", "|---|---|---|---|"]
    for title, metric, digits, note in rows:
        scale = 1e-6 if metric == "iso_bytes" else 1.0
        lines.append(f"| {title} | {c(KERNEL, metric, digits, scale)} | {c(peer, metric, digits, scale)} | {note} |")
    return lines


def chart(fig, order, servers, out, title):
    """Four panels, one bar per guest (median) with the rounds' min-max as error bars."""
    panels = [
        ("requests/s, keep-alive", [(label, "rps_keepalive") for label in servers], True),
        ("requests/s, new connections", [(label, "rps_close") for label in servers], True),
        ("/big.bin MB/s (pktgen: NIC ceiling)",
         [(label, "bulk_MBps") for label in servers] +
         [(label, "ceiling_MBps") for label in order if (label, "ceiling_MBps") in fig.values], False),
        ("QEMU start to first 200, s (floor: GRUB alone)",
         [(label, "boot_to_first_200") for label in servers] +
         [(label, "boot_to_exit") for label in order if (label, "boot_to_exit") in fig.values], True),
    ]
    script = [f"set multiplot layout 2,2 title '{title}'", "set style fill solid 0.6 border -1", "set boxwidth 0.6",
              "set key off", "set grid ytics", "set xtics nomirror rotate by -20 font ',9'", "set ytics nomirror",
              "set bmargin 4"]
    for index, (title, series, log) in enumerate(panels):
        data = os.path.join(out, f"chart{index}.dat")
        series = [(label, metric) for label, metric in series if (label, metric) in fig.values]
        with open(data, "w") as f:
            for label, metric in series:
                low, high, _ = fig.spread(label, metric)
                f.write(f'"{label}" {fig.median(label, metric)} {low} {high}\n')
        if not series:  # nothing measured for this panel (e.g. ONLY_BULK=1): an empty frame
            script += [f"set title '{title} (not measured)'", "unset logscale y", "set yrange [0:1]",
                       "plot 2 notitle"]
            continue
        script += [f"set title '{title}'", "set logscale y" if log else "unset logscale y",
                   "set yrange [*:*]" if log else "set yrange [0:*]",
                   f"plot '{data}' using 0:2:xtic(1) with boxes lc rgb '#4a7ab5', "
                   f"'' using 0:2:3:4 with yerrorbars lc rgb 'black' pt 0, "
                   f"'' using 0:4:($2 >= 100 ? sprintf('%.0f', $2) : sprintf('%.3g', $2)) with labels offset 0,0.8 font ',9'"]
    script.append("unset multiplot")
    # The SVG for README, the PNG for a quick look (an image viewer, a terminal that shows it).
    for terminal, name in (("svg size 960,640 dynamic font 'sans,11'", "bench.svg"),
                           ("pngcairo size 960,640 font 'sans,10'", "bench.png")):
        head = [f"set terminal {terminal}", f"set output '{os.path.join(out, name)}'"]
        subprocess.run(["gnuplot"], input="\n".join(head + script) + "\n", text=True, check=True)
    for index in range(len(panels)):
        os.remove(os.path.join(out, f"chart{index}.dat"))


def main():
    raw, out = sys.argv[1], sys.argv[2]
    values, order, header = load(raw)
    fig = Figures(values)
    servers, rows = table(fig, order, header)
    text = ["Figures of one `make bench` run: median [min–max] of the rounds.", ""]
    text += [f"- {line}" for line in header] + [""] + rows + [""] + goals(fig, order)
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write("\n".join(text) + "\n")
    with open(os.path.join(out, "short.md"), "w") as f:
        f.write("\n".join(short_table(fig, order, header)) + "\n")
    print("\n".join(text))
    info = dict(line.split(" ", 1) for line in header if " " in line)
    title = (f"make bench {info.get('date', '')}, {info.get('machine', '').split(',')[0]}, QEMU TCG, NIC {info.get('nic', '')}: "
             f"median and min-max of {info.get('runs', '?')} rounds")
    chart(fig, order, servers, out, title)


if __name__ == "__main__":
    main()
