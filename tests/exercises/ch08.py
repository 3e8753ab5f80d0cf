"""Checks of chapter 8's exercises (docs/08-networking-primer.md): the checksums of IPv4 and TCP
in the decoder of `make capture` (tests/capture.py). They run the learner's functions on frames
of a real capture (the kernel's, through smoltcp, and slirp's), kept here as bytes so that no
boot is needed, and on variants of them."""

import importlib
import os
import sys

from kit import ROOT, NotYet, exercise

# IPv4 headers and TCP segments of one `make capture`, as captured: (source, destination,
# IPv4 header, TCP segment). The checksum fields hold what the senders computed.
FRAMES = [
    # 1: the kernel's DHCP Discover (UDP; only its IP header is used).
    ("0.0.0.0", "255.255.255.255", "4500012200004000401139cc00000000ffffffff", None),
    # 2: slirp's DHCP Offer.
    ("10.0.2.2", "255.255.255.255", "451002400000000040116c9c0a000202ffffffff", None),
    # 5: slirp's SYN, with the MSS option.
    ("10.0.2.2", "10.0.2.15", "4500002c00020000400662ba0a0002020a00020f",
     "b79800500005dc01000000006002ffffec260000020405b4"),
    # 8: the kernel's SYN-ACK.
    ("10.0.2.15", "10.0.2.2", "4500002c00004000400622bc0a00020f0a000202",
     "0050b798c9c7a96b0005dc026012100068e20000020405b4"),
    # 10: slirp's GET, 78 bytes of data.
    ("10.0.2.2", "10.0.2.15", "45000076000400004006626e0a0002020a00020f",
     "b79800500005dc02c9c7a96c5018ffff02a70000474554202f20485454502f312e310d0a486f73743a2031302e30"
     "2e322e31350d0a557365722d4167656e743a2074657374732f636170747572652e70790d0a4163636570743a20"
     "2a2f2a0d0a0d0a"),
    # 11: the kernel's answer head, 127 bytes of data: a segment of odd length.
    ("10.0.2.15", "10.0.2.2", "450000a700004000400622410a00020f0a000202",
     "0050b798c9c7a96c0005dc50501810002fa30000485454502f312e3120323030204f4b0d0a5365727665723a20"
     "6d6963726f2d6b65726e656c0d0a436f6e74656e742d547970653a20746578742f68746d6c3b20636861727365"
     "743d7574662d380d0a436f6e74656e742d4c656e6774683a20333632320d0a436f6e6e656374696f6e3a206b65"
     "65702d616c6976650d0a0d0a"),
    # 13: slirp's ACK, no data.
    ("10.0.2.2", "10.0.2.15", "4500002800050000400662bb0a0002020a00020f",
     "b79800500005dc50c9c7af9f5010ffff8a1e0000"),
]
# An IPv4 header with an option (Router Alert, RFC 2113): 24 bytes, header length 6 words.
WITH_OPTION = "46000020abcd0000010200000a00020f0a00020294040000"


def ones_complement_sum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def reference_ip(header):
    return ~ones_complement_sum(header[:10] + b"\0\0" + header[12:]) & 0xFFFF


def reference_tcp(src, dst, segment):
    pseudo = bytes(map(int, src.split("."))) + bytes(map(int, dst.split("."))) + bytes([0, 6]) \
        + len(segment).to_bytes(2, "big")
    return ~ones_complement_sum(pseudo + segment[:16] + b"\0\0" + segment[18:]) & 0xFFFF


def capture_module():
    """tests/capture.py of this tree, freshly imported."""
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    sys.modules.pop("capture", None)
    return importlib.import_module("capture")


def damaged(data, offset):
    """`data` with one bit flipped at `offset`."""
    return data[:offset] + bytes([data[offset] ^ 0x04]) + data[offset + 1:]


def compare(name, function, cases):
    """Calls `function` on each case's arguments; NotYet at the first wrong answer."""
    for what, arguments, expected in cases:
        try:
            got = function(*arguments)
        except Exception as error:  # noqa: BLE001 (the learner's code may raise anything)
            raise NotYet(f"{name} raised {error!r} on {what}") from None
        if got != expected:
            shown = f"0x{got:04x}" if isinstance(got, int) else repr(got)
            raise NotYet(f"{name} gives {shown} for {what}; the checksum is 0x{expected:04x}")


@exercise("8.1")
def the_ipv4_header_checksum():
    """ipv4_header_checksum(header) in tests/capture.py, right on real and damaged headers."""
    function = getattr(capture_module(), "ipv4_header_checksum", None)
    if function is None:
        raise NotYet("tests/capture.py has no function ipv4_header_checksum(header: bytes) -> int")
    cases = []
    for number, (src, dst, header, _) in enumerate(FRAMES):
        header = bytes.fromhex(header)
        captured = int.from_bytes(header[10:12], "big")
        cases.append((f"the header {header.hex()} from {src}", (header,), captured))
        cases.append((f"the same with its checksum field zeroed", (header[:10] + b"\0\0" + header[12:],), captured))
        broken = damaged(header, 8 if number % 2 else 19)
        cases.append((f"the damaged header {broken.hex()}", (broken,), reference_ip(broken)))
    option = bytes.fromhex(WITH_OPTION)
    cases.append((f"the header with an option {option.hex()}", (option,), reference_ip(option)))
    compare("ipv4_header_checksum", function, cases)


@exercise("8.2")
def the_tcp_checksum():
    """tcp_checksum(src, dst, segment) in tests/capture.py, right on real and damaged segments."""
    function = getattr(capture_module(), "tcp_checksum", None)
    if function is None:
        raise NotYet("tests/capture.py has no function tcp_checksum(src: str, dst: str, segment: bytes) -> int")
    cases = []
    for src, dst, _, segment in FRAMES:
        if segment is None:
            continue
        segment = bytes.fromhex(segment)
        captured = int.from_bytes(segment[16:18], "big")
        what = f"the {len(segment)}-byte segment from {src} to {dst} starting {segment[:20].hex()}"
        cases.append((what, (src, dst, segment), captured))
        broken = damaged(segment, len(segment) - 1)
        cases.append((f"{what}, its last byte damaged", (src, dst, broken), reference_tcp(src, dst, broken)))
        cases.append((f"{what}, sent to another address", (src, "10.0.2.16", segment),
                      reference_tcp(src, "10.0.2.16", segment)))
    compare("tcp_checksum", function, cases)
