#!/usr/bin/env python3
"""bench/bulk_trace.py PCAP [GUEST_IP] — what one bulk download looked like on the wire.

Reads a capture of QEMU's filter-dump (`CAPTURE=file.pcap` for bench/measure.py, or
`make run QEMU_EXTRA=...`) holding downloads of /big.bin from the guest (10.0.2.15), and
prints, per TCP connection that carried more than 100 kB from the guest:

  segments    how many data segments, their payload sizes (how full the frames are)
  acks        how many pure ACKs the client sent, per data segment (the RX load of the guest)
  in flight   bytes sent and not yet acknowledged, seen at each data segment: its median and
              maximum say whether the sender ran into its send buffer (the BDP limit)
  rtt         from a data segment to the first ACK that covers it
  gaps        time between consecutive data segments from the guest: where the time goes
  window      the smallest receive window the client advertised (is the client the limit?)

Timestamps are QEMU's, taken as the frames pass between the NIC model and the tap."""

import statistics
import struct
import sys


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    nanos = magic in (0xA1B23C4D, 0x4D3CB2A1)
    offset = 24
    while offset + 16 <= len(data):
        seconds, fraction, captured, _ = struct.unpack(endian + "IIII", data[offset:offset + 16])
        offset += 16
        yield seconds + fraction / (1e9 if nanos else 1e6), data[offset:offset + captured]
        offset += captured


def tcp_segments(path):
    """(time, src, dst, sport, dport, seq, ack, flags, window, payload_len) of each TCP frame."""
    for t, frame in frames(path):
        if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
            continue
        ihl = (frame[14] & 0x0F) * 4
        total = struct.unpack(">H", frame[16:18])[0]
        src, dst = ".".join(map(str, frame[26:30])), ".".join(map(str, frame[30:34]))
        tcp = frame[14 + ihl:]
        sport, dport, seq, ack = struct.unpack(">HHII", tcp[:12])
        offset = (tcp[12] >> 4) * 4
        flags = tcp[13]
        window = struct.unpack(">H", tcp[14:16])[0]
        yield t, src, dst, sport, dport, seq, ack, flags, window, total - ihl - offset


def percentiles(values, *ps):
    ordered = sorted(values)
    return [ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] for p in ps]


def analyse(path, guest):
    connections = {}
    for segment in tcp_segments(path):
        t, src, dst, sport, dport = segment[:5]
        key = (sport, dport) if src == guest else (dport, sport)
        connections.setdefault(key, []).append(segment)
    for key, segments in sorted(connections.items(), key=lambda kv: kv[1][0][0]):
        data = [s for s in segments if s[1] == guest and s[9] > 0]
        sent = sum(s[9] for s in data)
        if sent < 100_000:
            continue
        acks = [s for s in segments if s[1] != guest and s[9] == 0 and s[7] & 0x10]
        # Window scale from the client's SYN (option kind 3) is not parsed: report raw values.
        start, end = data[0][0], data[-1][0]
        highest_ack, in_flight, rtts, pending = 0, [], [], []
        events = sorted([(s[0], 0, s) for s in data] + [(s[0], 1, s) for s in acks], key=lambda e: (e[0], e[1]))
        for t, kind, s in events:
            if kind == 0:
                end_seq = (s[5] + s[9]) & 0xFFFFFFFF
                pending.append((end_seq, t))
                in_flight.append((end_seq - highest_ack) & 0xFFFFFFFF if highest_ack else s[9])
            else:
                highest_ack = s[6]
                while pending and ((highest_ack - pending[0][0]) & 0xFFFFFFFF) < 0x80000000:
                    rtts.append(t - pending.pop(0)[1])
        gaps = [b[0] - a[0] for a, b in zip(data, data[1:])]
        sizes = {}
        for s in data:
            sizes[s[9]] = sizes.get(s[9], 0) + 1
        common = sorted(sizes.items(), key=lambda kv: -kv[1])[:4]
        print(f"connection :{key[0]} -> :{key[1]}: {sent} bytes in {end - start:.4f} s "
              f"= {sent / (end - start) / 1e6:.1f} MB/s on the wire")
        print(f"  segments  {len(data)}, mean payload {sent / len(data):.0f} B; most common sizes "
              + ", ".join(f"{size} B x{n}" for size, n in common))
        print(f"  acks      {len(acks)} pure ACKs from the client, {len(acks) / len(data):.2f} per data segment")
        p50, p90, p100 = percentiles(in_flight, 50, 90, 100)
        print(f"  in flight p50 {p50} B, p90 {p90} B, max {p100} B")
        if rtts:
            r50, r90, r99 = percentiles(rtts, 50, 90, 99)
            print(f"  rtt       p50 {r50 * 1e3:.3f} ms, p90 {r90 * 1e3:.3f} ms, p99 {r99 * 1e3:.3f} ms")
        g50, g90, g99 = percentiles(gaps, 50, 90, 99)
        big = sum(g for g in gaps if g > 0.0005)
        print(f"  gaps      p50 {g50 * 1e6:.0f} us, p90 {g90 * 1e6:.0f} us, p99 {g99 * 1e6:.0f} us; "
              f"gaps over 0.5 ms add up to {big * 1e3:.1f} ms of {(end - start) * 1e3:.1f} ms")
        print(f"  window    client's smallest advertised window field {min(s[8] for s in acks) if acks else '-'}"
              f" (unscaled), mean {statistics.mean(s[8] for s in acks) if acks else 0:.0f}")


if __name__ == "__main__":
    analyse(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "10.0.2.15")
