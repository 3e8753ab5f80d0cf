"""`make capture`: one HTTP request to the kernel, recorded on the wire and decoded frame by
frame, for the networking primer (docs/08-networking-primer.md).

It boots the kernel as `make run` does (the pc machine, an RTL8139 on QEMU's user network)
with QEMU's filter-dump recording every frame the card sends and receives into
build/capture.pcap; once the kernel logs READY it makes one request from the host, as
`curl http://10.0.2.15/` would (GET /, through the port QEMU forwards), waits until the
connection has closed on the wire (both FINs and the last ACK), stops QEMU and prints:

- a summary, one line per frame: who speaks, the protocol and what it says;
- each frame decoded layer by layer (Ethernet, ARP or IPv4, UDP or TCP, DHCP or HTTP), and
  the short ones that read the same on every boot (up to 64 bytes: the ARP frames) in
  hexadecimal too.

TCP sequence numbers are shown relative to each side's initial sequence number (ISN), as
Wireshark shows them; what changes from boot to boot (the ISNs, DHCP's transaction ID, the
checksums that cover them) is printed on lines of its own, so that the chapter can leave them
out of its excerpts (tests/docs_output.py checks those against a real capture). The client's
port is fixed (CLIENT_PORT) for the same reason: QEMU's user network keeps the host client's
port when it forwards the connection to the guest.

    python3 tests/capture.py [ISO]     (make capture builds the ISO first)
"""

import os
import socket
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from qemu import BUILD, Qemu, build_iso  # noqa: E402
import pcap  # noqa: E402

CAPTURE = os.path.join(BUILD, "capture.pcap")
# The host-side port of the one request: fixed, so that the capture reads the same every time.
CLIENT_PORT = 47000
# What the request asks for: the dashboard's page, several segments long.
# Like curl's, it keeps the connection open; the client closes it once the whole answer is in.
REQUEST = b"GET / HTTP/1.1\r\nHost: 10.0.2.15\r\nUser-Agent: tests/capture.py\r\nAccept: */*\r\n\r\n"
# Frames up to this length, with nothing in them that changes from boot to boot, are also
# shown in hexadecimal.
HEX_DUMP_MAX = 64

ETHERTYPES = {0x0800: "IPv4", 0x0806: "ARP", 0x86DD: "IPv6"}
IP_PROTOCOLS = {1: "ICMP", 6: "TCP", 17: "UDP"}
DHCP_MESSAGE_TYPES = {1: "Discover", 2: "Offer", 3: "Request", 4: "Decline", 5: "ACK", 6: "NAK",
                      7: "Release", 8: "Inform"}
DHCP_OPTIONS = {1: "subnet mask", 3: "router", 6: "DNS server", 12: "host name", 15: "domain name",
                28: "broadcast address", 50: "requested address", 51: "lease time",
                53: "message type", 54: "server identifier", 55: "parameter request list",
                57: "maximum message size", 58: "renewal time", 59: "rebinding time",
                61: "client identifier"}
# In the order of their bits, as Wireshark lists them: [SYN, ACK], [FIN, PSH, ACK].
TCP_FLAGS = [(0x01, "FIN"), (0x02, "SYN"), (0x04, "RST"), (0x08, "PSH"), (0x10, "ACK"), (0x20, "URG")]


def mac(data):
    return ":".join(f"{b:02x}" for b in data)


def ip(data):
    return ".".join(str(b) for b in data)


class Frame:
    """One captured frame, decoded: `layers` is [(name, [line, ...])], `summary` one line.
    `isns` maps (address, port) to that side's initial sequence number, filled as SYNs pass."""

    def __init__(self, number, data, isns):
        self.number, self.data, self.layers = number, data, []
        self.summary, self.varying = "", []
        self.tcp = None     # (src, sport, dst, dport, seq, ack, flags, payload length) of a TCP segment
        self.decode_ethernet(isns)

    def layer(self, name, *lines):
        self.layers.append((name, list(lines)))

    def decode_ethernet(self, isns):
        data = self.data
        if len(data) < 14:
            self.summary = f"{len(data)} bytes, too short for an Ethernet header"
            return
        dst, src, ethertype = data[0:6], data[6:12], struct.unpack(">H", data[12:14])[0]
        name = ETHERTYPES.get(ethertype, "unknown")
        broadcast = " (broadcast)" if dst == b"\xff" * 6 else ""
        self.layer("Ethernet", f"dst {mac(dst)}{broadcast}, src {mac(src)}, type 0x{ethertype:04x} ({name})")
        self.endpoints = f"{mac(src)} -> {'broadcast' if broadcast else mac(dst)}"
        if ethertype == 0x0806:
            self.decode_arp(data[14:])
        elif ethertype == 0x0800:
            self.decode_ipv4(data[14:], isns)
        else:
            self.summary = f"{self.endpoints}  {name}"

    def decode_arp(self, data):
        htype, ptype, hlen, plen, op = struct.unpack(">HHBBH", data[:8])
        sha, spa, tha, tpa = data[8:14], data[14:18], data[18:24], data[24:28]
        kind = {1: "request", 2: "reply"}.get(op, f"operation {op}")
        self.layer("ARP", f"hardware type {htype} (Ethernet), protocol 0x{ptype:04x} (IPv4), sizes {hlen} and {plen}, "
                          f"operation {op} ({kind})",
                   f"sender {mac(sha)} {ip(spa)}, target {mac(tha)} {ip(tpa)}")
        padding = len(self.data) - 14 - 28
        if padding > 0:
            self.layer("padding", f"{padding} bytes, up to the 60-byte minimum")
        if op == 1:
            what = f"who has {ip(tpa)}? tell {ip(spa)}"
        else:
            what = f"{ip(spa)} is at {mac(sha)}"
        self.summary = f"{self.endpoints}  ARP {what}"

    def decode_ipv4(self, data, isns):
        version_ihl, tos, total, ident, flags_fragment, ttl, protocol, checksum = struct.unpack(
            ">BBHHHBBH", data[:12])
        header = (version_ihl & 0x0F) * 4
        src, dst = ip(data[12:16]), ip(data[16:20])
        flags = "DF" if flags_fragment & 0x4000 else "none"
        self.layer("IPv4", f"version {version_ihl >> 4}, header {header} bytes, total length {total}, id 0x{ident:04x}, "
                           f"flags {flags}, TTL {ttl}, protocol {protocol} ({IP_PROTOCOLS.get(protocol, '?')})",
                   f"src {src}, dst {dst}")
        checksum_line = f"header checksum 0x{checksum:04x}"
        payload = data[header:total]
        padding = len(self.data) - 14 - total
        if protocol == 17:
            self.layers[-1][1].append(checksum_line)
            self.decode_udp(src, dst, payload)
        elif protocol == 6:
            self.layers[-1][1].append(checksum_line)
            self.decode_tcp(src, dst, payload, isns)
        else:
            self.summary = f"{src} -> {dst}  IPv4 protocol {protocol}"
        if padding > 0:
            self.layer("padding", f"{padding} bytes, up to the 60-byte minimum")

    def decode_udp(self, src, dst, data):
        sport, dport, length, checksum = struct.unpack(">HHHH", data[:8])
        self.layer("UDP", f"src port {sport}, dst port {dport}, length {length}")
        self.varying.append(f"UDP checksum 0x{checksum:04x}")
        where = f"{src}:{sport} -> {dst}:{dport}"
        if {sport, dport} == {67, 68}:
            self.summary = f"{where}  {self.decode_dhcp(data[8:length])}"
        else:
            self.summary = f"{where}  UDP, {length - 8} bytes"

    def decode_dhcp(self, data):
        op, htype, hlen, hops, xid, secs, flags = struct.unpack(">BBBBIHH", data[:12])
        ciaddr, yiaddr, siaddr, giaddr = (ip(data[i:i + 4]) for i in (12, 16, 20, 24))
        chaddr = mac(data[28:28 + hlen])
        self.layer("DHCP", f"op {op} ({'request' if op == 1 else 'reply'}), hardware {htype} (Ethernet), "
                           f"address length {hlen}, flags 0x{flags:04x}",
                   f"client address {ciaddr}, your address {yiaddr}, server {siaddr}, relay {giaddr}",
                   f"client hardware address {chaddr}")
        self.varying.append(f"DHCP transaction ID 0x{xid:08x}")
        options, kind, offered = data[240:], "?", yiaddr
        if data[236:240] != b"\x63\x82\x53\x63":
            return "BOOTP (no DHCP magic cookie)"
        i = 0
        while i < len(options) and options[i] != 255:
            code = options[i]
            if code == 0:
                i += 1
                continue
            length = options[i + 1]
            value = options[i + 2:i + 2 + length]
            i += 2 + length
            self.layers[-1][1].append(f"option {code:3} {DHCP_OPTIONS.get(code, 'other')}: {self.dhcp_value(code, value)}")
            if code == 53:
                kind = DHCP_MESSAGE_TYPES.get(value[0], str(value[0]))
            if code == 50:
                offered = ip(value)
        if kind in ("Discover",):
            return f"DHCP {kind}"
        return f"DHCP {kind}: {offered}"

    @staticmethod
    def dhcp_value(code, value):
        if code == 53:
            return DHCP_MESSAGE_TYPES.get(value[0], str(value[0]))
        if code in (1, 3, 6, 28, 50, 54) and len(value) % 4 == 0:
            return ", ".join(ip(value[i:i + 4]) for i in range(0, len(value), 4))
        if code in (51, 58, 59) and len(value) == 4:
            return f"{struct.unpack('>I', value)[0]} s"
        if code == 57 and len(value) == 2:
            return f"{struct.unpack('>H', value)[0]} bytes"
        if code == 55:
            return ", ".join(f"{c} ({DHCP_OPTIONS.get(c, 'other')})" for c in value)
        if code == 61 and len(value) == 7:
            return f"type {value[0]}, {mac(value[1:])}"
        return value.hex()

    def decode_tcp(self, src, dst, data, isns):
        sport, dport, seq, ack, offset_flags, window, checksum, urgent = struct.unpack(">HHIIHHHH", data[:20])
        header = (offset_flags >> 12) * 4
        flags = offset_flags & 0x3F
        names = [name for bit, name in TCP_FLAGS if flags & bit]
        payload = data[header:]
        if flags & 0x02:
            isns[(src, sport)] = seq
        own, peer = isns.get((src, sport)), isns.get((dst, dport))
        rel_seq = (seq - own) % 2**32 if own is not None else seq
        rel_ack = (ack - peer) % 2**32 if peer is not None and flags & 0x10 else None
        options = self.tcp_options(data[20:header])
        numbers = f"seq {rel_seq}" + (f", ack {rel_ack}" if rel_ack is not None else "")
        self.layer("TCP", f"src port {sport}, dst port {dport}, {numbers}, header {header} bytes, "
                          f"flags {' '.join(names)}, window {window}",
                   *([f"options: {options}"] if options else []),
                   *([f"payload {len(payload)} bytes"] if payload else []))
        self.varying.append(f"TCP sequence number 0x{seq:08x}, acknowledgment 0x{ack:08x}, checksum 0x{checksum:04x}")
        self.tcp = (src, sport, dst, dport, rel_seq, rel_ack, flags, len(payload))
        said = ""
        if payload:
            text = payload.split(b"\r\n\r\n")[0]
            if payload.startswith((b"GET ", b"HEAD ", b"POST ", b"HTTP/")):
                lines = text.decode("latin-1").split("\r\n")
                self.layer("HTTP", *lines)
                said = f"  HTTP {lines[0]}"
            else:
                self.layer("data", f"{len(payload)} bytes, the rest of the response body")
        extra = f", {options}" if options else ""
        self.summary = (f"{src}:{sport} -> {dst}:{dport}  TCP [{', '.join(names)}] {numbers}, "
                        f"window {window}, {len(payload)} bytes{extra}{said}")

    @staticmethod
    def tcp_options(data):
        found, i = [], 0
        while i < len(data):
            kind = data[i]
            if kind == 0:
                break
            if kind == 1:
                i += 1
                continue
            length = data[i + 1] if i + 1 < len(data) else 0
            if length < 2:
                break
            value = data[i + 2:i + length]
            if kind == 2 and len(value) == 2:
                found.append(f"MSS {struct.unpack('>H', value)[0]}")
            elif kind == 3 and len(value) == 1:
                found.append(f"window scale {value[0]}")
            elif kind == 4:
                found.append("SACK permitted")
            else:
                found.append(f"option {kind}")
            i += length
        return ", ".join(found)

    def details(self):
        lines = [f"frame {self.number}: {len(self.data)} bytes, {self.summary}"]
        for name, body in self.layers:
            for j, line in enumerate(body):
                lines.append(f"  {name if j == 0 else '':<9} {line}".rstrip())
        for line in self.varying:
            lines.append(f"  {'varies':<9} {line}")
        if len(self.data) <= HEX_DUMP_MAX and not self.varying:
            for offset in range(0, len(self.data), 16):
                chunk = self.data[offset:offset + 16]
                lines.append(f"  {offset:04x}  " + " ".join(f"{b:02x}" for b in chunk))
        return lines


def decode(frames):
    """The Frame of each captured frame, in order."""
    isns = {}
    return [Frame(number, data, isns) for number, data in enumerate(frames, 1)]


def closed(frames):
    """Whether the capture holds a whole TCP close: a FIN from each side, each acknowledged
    by the other."""
    fins, acknowledged = {}, set()   # (address, port) -> relative sequence number of its FIN
    for frame in frames:
        if frame.tcp is None:
            continue
        src, sport, dst, dport, seq, ack, flags, length = frame.tcp
        if flags & 0x01:
            fins[(src, sport)] = seq + length
        if flags & 0x10 and (dst, dport) in fins and ack == fins[(dst, dport)] + 1:
            acknowledged.add((dst, dport))
    return len(fins) == 2 and acknowledged == set(fins)


def request(port):
    """One GET / from CLIENT_PORT to the forwarded `port`; returns the status line."""
    with socket.socket() as client:
        # SO_REUSEADDR: the port may still be in TIME_WAIT from the last capture (to another
        # forwarded port, so the connection itself is new).
        client.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        client.bind(("127.0.0.1", CLIENT_PORT))
        client.settimeout(20)
        client.connect(("127.0.0.1", port))
        client.sendall(REQUEST)
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += receive(client)
        head, body = answer.split(b"\r\n\r\n", 1)
        length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                      if line.lower().startswith(b"content-length:"))
        while len(body) < length:
            body += receive(client)
    return head.split(b"\r\n")[0].decode("latin-1")


def receive(client):
    chunk = client.recv(65536)
    if not chunk:
        raise AssertionError("the kernel closed the connection before the whole answer")
    return chunk


def capture(iso, timeout=60):
    """Boots `iso` with the capture on, makes the request, waits for the close; returns the
    decoded frames and the request's status line."""
    if os.path.exists(CAPTURE):
        os.remove(CAPTURE)
    with Qemu(iso, pcap=CAPTURE, timeout=timeout + 60) as vm:
        vm.wait_for(r"READY", timeout=timeout)
        status = request(vm.port)
        deadline = time.monotonic() + timeout
        while not closed(decode(pcap.read_frames(CAPTURE))):
            if time.monotonic() > deadline:
                raise AssertionError(f"no complete close in {CAPTURE} after {timeout} s")
            time.sleep(0.05)
    return decode(pcap.read_frames(CAPTURE)), status


def report(frames, status):
    """What `make capture` prints."""
    lines = [f"capture: {len(frames)} frames in build/capture.pcap; the request was answered {status}",
             "", "summary:"]
    for frame in frames:
        lines.append(f"{frame.number:3}  {frame.summary}")
    for frame in frames:
        lines.append("")
        lines += frame.details()
    return "\n".join(lines)


def self_test():
    """The decoder on frames of a real capture (run by tests/check_docs.py); raises
    AssertionError."""
    arp = bytes.fromhex("ffffffffffff5254001234560806000108000604000152540012345"
                        "60a00020fffffffffffff0a000202") + bytes(18)
    syn = bytes.fromhex("52540012345652550a00020208004500002c00020000400662ba0a0002020a00020f"
                        "b79800500005dc01000000006002ffffec260000020405b40000")
    syn_ack = bytes.fromhex("52550a00020252540012345608004500002c00004000400622bc0a00020f0a000202"
                            "0050b798c9c7a96b0005dc026012100068e20000020405b40000")
    fin = bytes.fromhex("52540012345652550a00020208004500002800080000400662b80a0002020a00020f"
                        "b79800500005dc02c9c7a96c5011ffff00000000") + bytes(6)
    last_ack = bytes.fromhex("52550a00020252540012345608004500002800004000400622c00a00020f0a000202"
                             "0050b798c9c7a96c0005dc035010100000000000") + bytes(6)
    frames = decode([arp, syn, syn_ack])
    assert frames[0].summary == "52:54:00:12:34:56 -> broadcast  ARP who has 10.0.2.2? tell 10.0.2.15", frames[0].summary
    assert frames[0].details()[-1] == "  0030  00 00 00 00 00 00 00 00 00 00 00 00", frames[0].details()
    assert frames[1].summary == ("10.0.2.2:47000 -> 10.0.2.15:80  TCP [SYN] seq 0, window 65535, 0 bytes, "
                                 "MSS 1460"), frames[1].summary
    assert frames[2].summary == ("10.0.2.15:80 -> 10.0.2.2:47000  TCP [SYN, ACK] seq 0, ack 1, window 4096, "
                                 "0 bytes, MSS 1460"), frames[2].summary
    assert not any(line.startswith("  0000") for line in frames[2].details()), "a hex dump of varying bytes"
    # The close: a FIN from each side, each acknowledged.
    assert not closed(decode([syn, syn_ack, fin]))
    assert not closed(decode([syn, syn_ack, fin, last_ack]))
    server_fin = bytearray(last_ack)
    server_fin[14 + 20 + 13] = 0x11
    client_ack = bytearray(fin)
    client_ack[14 + 20 + 4:14 + 20 + 12] = bytes.fromhex("0005dc03c9c7a96d")
    client_ack[14 + 20 + 13] = 0x10
    assert closed(decode([syn, syn_ack, fin, last_ack, bytes(server_fin), bytes(client_ack)]))


def main(args):
    iso = args[0] if args else build_iso("")
    frames, status = capture(iso)
    print(report(frames, status))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
