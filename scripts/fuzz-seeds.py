#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (Fuzz/Corpus/TARGET/seed-*), a few small valid
inputs each, in the input formats the targets document (Fuzz/TARGETFuzzer.swift). The bytes
follow the golden-byte tests of Tests/TCPIPCoreTests/Wire and the constants of
Fuzz/Support/StackFixture.swift. Deterministic: rerunning rewrites the same files.

    python3 scripts/fuzz-seeds.py
"""
import json
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Fuzz", "Corpus")

# StackFixture's constants.
LOCAL_IP, PEER_IP = bytes([10, 0, 0, 2]), bytes([10, 0, 0, 1])
LOCAL_MAC, PEER_MAC = bytes([2, 0, 0, 0, 0, 0x0B]), bytes([2, 0, 0, 0, 0, 0x0A])
ISS, PEER_ISN = 100_000, 5_000
LISTEN_PORT, PEER_PORT, ACTIVE_PORT, ACTIVE_PEER_PORT, UDP_PORT = 80, 40000, 50000, 40001, 53
EMBRYONIC_PEER_PORT, FRAGMENT_ID = 40002, 0x4242
# What the fixture left: the stack's SND.UNA and SND.NXT, and its RCV.NXT.
SND_UNA, SND_NXT, RCV_NXT = ISS + 1, ISS + 1 + 3000, PEER_ISN + 1 + 100


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(proto, payload, ident=1, mf=False, offset=0, src=PEER_IP, dst=LOCAL_IP, options=b""):
    ihl = 5 + len(options) // 4
    flags = (0x2000 if mf else 0) | (offset // 8)
    h = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 4 * ihl + len(payload), ident, flags, 64, proto, 0, src, dst)
    h += options
    return h[:10] + struct.pack("!H", checksum(h)) + h[12:] + payload


def ethernet(etype, payload, dst=LOCAL_MAC, src=PEER_MAC):
    return dst + src + struct.pack("!H", etype) + payload


def tcp_options(mss=None, ws=None, sack_ok=False, ts=None, sack=()):
    o = b""
    if mss is not None:
        o += struct.pack("!BBH", 2, 4, mss)
    if ts is not None:
        o += (b"\x04\x02" if sack_ok else b"\x01\x01") + struct.pack("!BBII", 8, 10, *ts)
    elif sack_ok:
        o += b"\x01\x01\x04\x02"
    if ws is not None:
        o += bytes([1, 3, 3, ws])
    if sack:
        o += bytes([1, 1, 5, 2 + 8 * len(sack)]) + b"".join(struct.pack("!II", l, r) for l, r in sack)
    return o


def tcp(seq, ack, flags, payload=b"", options=b"", sport=PEER_PORT, dport=LISTEN_PORT, window=65535):
    off = (20 + len(options)) // 4
    h = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, window, 0, 0) + options
    seg = h + payload
    pseudo = PEER_IP + LOCAL_IP + struct.pack("!BBH", 0, 6, len(seg))
    seg = seg[:16] + struct.pack("!H", checksum(pseudo + seg)) + seg[18:]
    return ethernet(0x0800, ipv4(6, seg))


def udp(sport, dport, data):
    d = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    pseudo = PEER_IP + LOCAL_IP + struct.pack("!BBH", 0, 17, len(d))
    return d[:6] + struct.pack("!H", checksum(pseudo + d) or 0xFFFF) + d[8:]


def icmp(type_, code, rest, body):
    m = struct.pack("!BBH", type_, code, 0) + rest + body
    return m[:2] + struct.pack("!H", checksum(m)) + m[4:]


def arp(op, sha, spa, tha, tpa):
    return struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + sha + spa + tha + tpa


FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16
TS = lambda v: tcp_options(ts=(v, 0))


def stack_steps(*steps):
    """Steps of the Stack target: (control byte, frame)."""
    return b"".join(bytes([c]) + struct.pack("!H", len(f)) + f for c, f in steps)


def stack_seeds():
    repair = 0x08  # checksums
    data = tcp(RCV_NXT, SND_UNA, ACK | PSH, b"B" * 50, TS(1002))
    acked = tcp(RCV_NXT, SND_NXT, ACK, b"", TS(1003))
    sacked = tcp(RCV_NXT, SND_UNA + 1448, ACK, b"", tcp_options(ts=(1003, 0), sack=[(SND_UNA + 2896, SND_NXT)]))
    fin = tcp(RCV_NXT, SND_NXT, ACK | FIN, b"", TS(1004))
    rst = tcp(RCV_NXT, 0, RST, b"", b"")
    synack = tcp(
        7_000,
        ISS + 1,
        SYN | ACK,
        options=tcp_options(mss=1400, ws=2, sack_ok=True, ts=(77, 1)),
        sport=ACTIVE_PEER_PORT,
        dport=ACTIVE_PORT,
    )
    embryonic_ack = tcp(9_001, ISS + 1, ACK, b"", TS(1001), sport=EMBRYONIC_PEER_PORT)
    new_syn = tcp(12_345, 0, SYN, options=tcp_options(mss=536), sport=40100)
    rest = bytes([0x55]) * 136
    last_fragment = ethernet(0x0800, ipv4(17, rest, ident=FRAGMENT_ID, offset=64))
    ping = ethernet(0x0800, ipv4(1, icmp(8, 0, struct.pack("!HH", 7, 1), b"ping" * 8)))
    quoted = ipv4(6, struct.pack("!HHI", LISTEN_PORT, PEER_PORT, SND_UNA), src=LOCAL_IP, dst=PEER_IP)
    frag_needed = ethernet(0x0800, ipv4(1, icmp(3, 4, struct.pack("!HH", 0, 576), quoted[:28])))
    datagram = ethernet(0x0800, ipv4(17, udp(5353, UDP_PORT, b"query")))
    arp_who = ethernet(0x0806, arp(1, PEER_MAC, PEER_IP, bytes(6), LOCAL_IP), dst=b"\xff" * 6)
    options_packet = ethernet(0x0800, ipv4(17, udp(5353, UDP_PORT, b"opt"), options=b"\x01\x01\x07\x03\x04\x00\x00\x00"))
    return {
        "data-then-read": stack_steps((repair | 0x20, data), (0x01, acked)),
        "sack-then-ack": stack_steps((repair, sacked), (repair | 0x03, acked)),
        "fin-and-close": stack_steps((repair, data), (repair | 0xC0, fin), (0x06, acked)),
        "reset": stack_steps((repair, rst)),
        "synack-active": stack_steps((repair, synack), (0x44, data)),
        "embryonic-accept": stack_steps((repair | 0x80, embryonic_ack), (repair, new_syn)),
        "fragments-udp": stack_steps((repair, last_fragment), (0x60, datagram)),
        "icmp": stack_steps((repair, ping), (repair, frag_needed)),
        "arp-options-time": stack_steps((0x00, arp_who), (repair | 0x10, options_packet), (0xE7, b"")),
        "write-retransmit": stack_steps((0x44, data), (0x45, b""), (0x46, b"")),
    }


def tcp_options_seeds():
    return {
        "linux-syn": tcp_options(mss=1460, ws=7, sack_ok=True, ts=(1, 0)),
        "sack-blocks": tcp_options(ts=(5, 6), sack=[(1, 2), (3, 4), (5, 6)]),
        "four-blocks": tcp_options(sack=[(1, 2), (3, 4), (5, 6), (7, 8)]),
        "nop-eol": b"\x01\x01\x00\x02",
        "unknown-kind": b"\x1e\x04\xab\xcd\x02\x04\x02\x18",
        "bad-length": b"\x02\x01",
        "wrong-lengths": b"\x02\x03\x05\x03\x03\x04\x00\x00\x08\x09",
    }


def ipv4_seeds():
    udp_payload = udp(1, 2, b"x")
    return {
        "plain": b"\x03" + ipv4(17, udp_payload),
        "record-route": b"\x03" + ipv4(1, b"", options=b"\x07\x07\x04\x00\x00\x00\x00\x00"),
        "timestamps-nop": b"\x03" + ipv4(1, b"", options=b"\x01\x44\x0c\x05" + bytes(8)),
        "fragment": b"\x00" + ipv4(17, bytes(16), mf=True, offset=1480),
        "bad-option": b"\x02" + ipv4(1, b"", options=b"\x83\x01\x00\x00"),
    }


def reassembly_seeds():
    def frag(mf, dg, opts, time, off, length, fill):
        return bytes([mf | dg << 1 | opts << 3 | time << 6]) + struct.pack("!HHB", off // 8, length, fill)

    return {
        "in-order": frag(1, 0, 1, 0, 0, 1480, 1) + frag(1, 0, 0, 0, 1480, 1480, 1) + frag(0, 0, 0, 0, 2960, 48, 1),
        "reversed": frag(0, 1, 0, 0, 16, 8, 2) + frag(1, 1, 0, 0, 8, 8, 2) + frag(1, 1, 2, 0, 0, 8, 2),
        "overlap-duplicate": frag(1, 2, 0, 0, 0, 64, 3) + frag(1, 2, 0, 0, 0, 64, 3) + frag(1, 2, 0, 0, 32, 64, 3),
        "timeout": frag(1, 3, 0, 0, 0, 64, 4) + frag(0, 3, 0, 3, 64, 8, 4),
        "evictions": b"".join(frag(1, d, 0, 1, 0, 2000, 5) for d in range(4)) + frag(0, 0, 0, 0, 2000, 8, 5),
    }


def arp_seeds():
    them = bytes([2, 0, 0, 0, 0, 0x0A])
    request = arp(1, them, bytes([10, 0, 0, 1]), bytes(6), bytes([10, 0, 0, 2]))
    reply = arp(2, bytes([2, 0, 0, 0, 0, 5]), bytes([10, 0, 0, 5]), LOCAL_MAC, bytes([10, 0, 0, 2]))
    frame = ethernet(0x0806, request, dst=b"\xff" * 6, src=them)
    return {
        "request-to-us": b"\x0d" + request,
        "resolve-then-reply": b"\x02\x05\x40" + b"\x02\x05\x40" + b"\x0d" + reply,
        "unanswered": b"\x02\x06\x10" + b"\x03\x0b" + b"\x03\x0b" + b"\x03\xff",
        "raw-frame": b"\x00" + struct.pack("!H", len(frame)) + frame,
        "flood": b"".join(b"\x02" + bytes([n, 20]) for n in range(3, 10)),
    }


def control_seeds():
    lines = [
        {"op": "socket", "type": "stream"},
        {"op": "connect", "fd": 3, "address": "10.99.0.1", "port": 8000, "timeout_ms": 3000},
        {"op": "send", "fd": 3, "data": "R0VUIC8gSFRUUC8xLjANCg0K"},
        {"op": "recv", "fd": 3, "max": 65536, "timeout_ms": 3000},
        {"op": "setsockopt", "fd": 3, "option": "TCP_NODELAY", "value": True},
        {"op": "sendto", "fd": 4, "address": "10.0.0.1", "port": 53, "data": "", "list": [1, "a", None]},
        {"op": "close", "fd": 3, "note": "\u00e9\t\"\\\u0001"},
    ]
    seeds = {"line-%d" % i: json.dumps(l, ensure_ascii=False).encode() for i, l in enumerate(lines)}
    seeds["not-an-object"] = b"[1,2,3]"
    seeds["no-op"] = b'{"fd":3}'
    return seeds


def main():
    for target, seeds in [
        ("Stack", stack_seeds()),
        ("TCPOptions", tcp_options_seeds()),
        ("IPv4Header", ipv4_seeds()),
        ("Reassembly", reassembly_seeds()),
        ("ARP", arp_seeds()),
        ("ControlRequest", control_seeds()),
    ]:
        folder = os.path.join(ROOT, target)
        os.makedirs(folder, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(folder, "seed-" + name), "wb") as f:
                f.write(data)


if __name__ == "__main__":
    main()
