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
