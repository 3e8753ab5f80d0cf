"""Reading the traffic captures that QEMU's filter-dump writes (classic pcap format), to check
what the kernel put on the wire."""

import struct

ETHERTYPE_IPV4 = 0x0800
ETHERTYPE_ARP = 0x0806
ETHERNET_HEADER = 14
ARP_PAYLOAD = 28
MIN_FRAME = 60  # Ethernet minimum without the 4-byte FCS (IEEE 802.3, 64 with it)


def read_frames(path):
    """Yields each captured frame's bytes."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic == 0xA1B2C3D4 else ">"
    offset = 24
    while offset + 16 <= len(data):
        _, _, captured, _ = struct.unpack(endian + "IIII", data[offset:offset + 16])
        offset += 16
        yield data[offset:offset + captured]
        offset += captured


def payload_end(frame):
    """Where the frame's real content ends (the rest is padding), or None if unknown."""
    if len(frame) < ETHERNET_HEADER:
        return None
    ethertype = struct.unpack(">H", frame[12:14])[0]
    if ethertype == ETHERTYPE_ARP:
        return ETHERNET_HEADER + ARP_PAYLOAD
    if ethertype == ETHERTYPE_IPV4 and len(frame) >= ETHERNET_HEADER + 4:
        return ETHERNET_HEADER + struct.unpack(">H", frame[16:18])[0]
    return None


def padding_problems(frames, source_mac):
    """Frames sent by `source_mac` that are short, or whose padding is not all zeros.
    Returns (checked_short_frames, problems)."""
    checked, problems = 0, []
    for index, frame in enumerate(frames):
        if frame[6:12] != source_mac:
            continue
        if len(frame) < MIN_FRAME:
            problems.append(f"frame {index}: {len(frame)} bytes, under the {MIN_FRAME}-byte minimum")
            continue
        end = payload_end(frame)
        if end is None or end >= MIN_FRAME:
            continue
        checked += 1
        pad = frame[end:MIN_FRAME]
        if any(pad):
            problems.append(f"frame {index}: padding after byte {end} is not zero: {pad.hex()}")
    return checked, problems


def tcp_segments(path):
    """Yields (seconds, from_port, to_port, flags, seq, ack, payload_length, payload_start) for
    each IPv4 TCP segment of a capture (a capture cut to its headers still tells all this)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    endian = "<" if struct.unpack("<I", data[:4])[0] == 0xA1B2C3D4 else ">"
    offset = 24
    while offset + 16 <= len(data):
        seconds, micros, captured, _ = struct.unpack(endian + "IIII", data[offset:offset + 16])
        offset += 16
        frame = data[offset:offset + captured]
        offset += captured
        if frame[12:14] != b"\x08\x00" or len(frame) < 34 or frame[23] != 6:
            continue
        ihl = (frame[14] & 15) * 4
        total = struct.unpack(">H", frame[16:18])[0]
        tcp = ETHERNET_HEADER + ihl
        if len(frame) < tcp + 20:
            continue
        sport, dport, seq, ack, data_offset, flags = struct.unpack(">HHIIBB", frame[tcp:tcp + 14])
        header = (data_offset >> 4) * 4
        yield (seconds + micros / 1e6, sport, dport, flags, seq, ack, total - ihl - header,
               frame[tcp + header:tcp + header + 32])


FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10


def close_problems(path, server_port=80):
    """What a capture shows of connections ending badly, from the server's side: resets it
    sent (one answering a SYN means no socket was listening: the client sees "connection
    reset"), and FINs it had to send again (its first went unacknowledged, or the peer's
    acknowledgement was not taken). Returns (counts, the segments of the connection of the
    first reset, a refused SYN rather than any other if there is one)."""
    counts = {"resets": 0, "refused_syns": 0, "fins": 0, "fins_sent_again": 0}
    fins, flows = {}, {}
    first_reset = first_refusal = None
    for segment in tcp_segments(path):
        _, sport, dport, flags, seq, _, _, _ = segment
        client = dport if sport == server_port else sport
        if sport != server_port and flags & SYN:
            flows[client] = []  # a new connection from this port
        flows.setdefault(client, []).append(segment)
        if sport != server_port:
            continue
        if flags & FIN:
            fins[(client, seq)] = fins.get((client, seq), 0) + 1
        if flags & RST:
            counts["resets"] += 1
            if first_reset is None:
                first_reset = list(flows[client])
            if flags & ACK and seq == 0:
                counts["refused_syns"] += 1
                if first_refusal is None:
                    first_refusal = list(flows[client])
    counts["fins"] = len(fins)
    counts["fins_sent_again"] = sum(1 for sent in fins.values() if sent > 1)
    return counts, first_refusal or first_reset or []
