#!/usr/bin/env python3
"""Write a synthetic pcap with very many destinations, for the memory benchmark (bench/memory.py).

Everything is synthetic: one device (192.168.1.2) sends one UDP datagram to each of ``--destinations``
distinct public IPv4 addresses (spread over 11.0.0.0 upwards, an address every 7), at ``--rate`` packets
per second of capture time, so that flows go idle and are folded as in a long real capture. Optionally
``--dns-only N`` DNS responses each name an address that is never contacted (``nc-<i>.example``, in
104.0.0.0 upwards), and ``--names K`` gives every contacted address K names through DNS answers
(``d<i>-<k>.example``, RFC 2606 names).

Usage: gen_destinations.py OUT.pcap [--destinations 2000000] [--rate 1000] [--dns-only 0] [--names 0]
"""

from __future__ import annotations

import argparse
import struct
import sys

DEVICE = bytes([192, 168, 1, 2])
RESOLVER = bytes([192, 168, 1, 1])
ETH = b"\x02\x00\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x00\x02" + b"\x08\x00"


def _ipv4(src: bytes, dst: bytes, udp: bytes) -> bytes:
    return struct.pack("!BBHHHBBH", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0) + src + dst + udp


def _udp(sport: int, dport: int, payload: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 1) + payload


def _qname(name: str) -> bytes:
    return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"


def dns_response(txid: int, answers: list[tuple[str, bytes]]) -> bytes:
    """A DNS response with one question (the first name) and an A record per (name, address)."""
    out = struct.pack("!HHHHHH", txid & 0xFFFF, 0x8180, 1, len(answers), 0, 0)
    out += _qname(answers[0][0]) + struct.pack("!HH", 1, 1)
    for name, addr in answers:
        out += _qname(name) + struct.pack("!HHIH", 1, 1, 300, 4) + addr
    return out


def address(base: int, i: int) -> bytes:
    return (base + i * 7).to_bytes(4, "big")


def write(out: str, destinations: int, rate: float, dns_only: int, names: int) -> int:
    packets = 0
    usec_step = max(1, int(1_000_000 / rate))
    t = 1_700_000_000 * 1_000_000
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        buf = bytearray()

        def emit(frame: bytes) -> None:
            nonlocal t, packets
            buf.extend(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(frame), len(frame)))
            buf.extend(frame)
            t += usec_step
            packets += 1
            if len(buf) > 1 << 22:
                f.write(buf)
                buf.clear()

        for i in range(destinations):
            dst = address(0x0B000000, i)
            if names:
                answers = [(f"d{i}-{k}.example", dst) for k in range(names)]
                emit(ETH + _ipv4(RESOLVER, DEVICE, _udp(53, 10000 + i % 50000, dns_response(i, answers))))
            emit(ETH + _ipv4(DEVICE, dst, _udp(20000 + i % 40000, 443, b"\x00" * 16)))
        for i in range(dns_only):
            answer = [(f"nc-{i}.example", address(0x68000000, i))]
            emit(ETH + _ipv4(RESOLVER, DEVICE, _udp(53, 10000 + i % 50000, dns_response(i, answer))))
        f.write(buf)
    return packets


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("output")
    ap.add_argument("--destinations", type=int, default=2_000_000)
    ap.add_argument("--rate", type=float, default=1000.0, help="packets per second of capture time")
    ap.add_argument("--dns-only", type=int, default=0, help="DNS answers naming addresses never contacted")
    ap.add_argument("--names", type=int, default=0, help="names given to every contacted address by DNS")
    a = ap.parse_args()
    n = write(a.output, a.destinations, a.rate, a.dns_only, a.names)
    print(f"{a.output}: {n} packets, {a.destinations} destinations", file=sys.stderr)


if __name__ == "__main__":
    main()
