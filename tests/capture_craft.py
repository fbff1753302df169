"""Synthetic capture files built block by block, for the hostile-capture tests and the mutation fuzz.

Every file these helpers make is synthetic: addresses from the documentation ranges (RFC 5737, RFC 3849),
no real traffic. Tests that write one name it ``synthetic-...``.
"""

from __future__ import annotations

import socket
import struct

SHB, IDB, OPB, SPB, EPB = 0x0A0D0D0A, 1, 2, 3, 6


def block(btype: int, body: bytes, *, length: int | None = None) -> bytes:
    """A little-endian pcapng block: ``body`` padded to 4 bytes; ``length`` overrides both length words."""
    body += b"\0" * (-len(body) % 4)
    n = 12 + len(body) if length is None else length
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def option(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def section() -> bytes:
    return block(SHB, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))


def interface(linktype: int = 1, options: bytes = b"", snaplen: int = 65535) -> bytes:
    return block(IDB, struct.pack("<HHI", linktype, 0, snaplen) + options)


def packet(frame: bytes, ts: int = 1_700_000_000_000_000, iface: int = 0) -> bytes:
    """An enhanced packet block; ``ts`` in the interface's units (microseconds by default)."""
    return block(EPB, struct.pack("<IIIII", iface, ts >> 32, ts & 0xFFFFFFFF, len(frame), len(frame)) + frame)


def simple_packet(frame: bytes) -> bytes:
    return block(SPB, struct.pack("<I", len(frame)) + frame)


def udp_frame(src: str = "192.0.2.10", dst: str = "198.51.100.20", sport: int = 40000, dport: int = 9999,
              payload: bytes = b"", *, ethertype: int = 0x0800, version_ihl: int = 0x45) -> bytes:
    """An Ethernet frame holding an IPv4 UDP datagram (``version_ihl`` and ``ethertype`` as given)."""
    udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", version_ihl, 0, 20 + len(udp), 0, 0, 64, 17, 0, socket.inet_aton(src),
                     socket.inet_aton(dst))
    return b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + struct.pack("!H", ethertype) + ip + udp


def pcap_header(linktype: int = 1) -> bytes:
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype)


def pcap_record(frame: bytes, sec: int = 1_700_000_000, usec: int = 0) -> bytes:
    return struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame


def synthetic_pcapng(n: int = 4) -> bytes:
    """A small, valid pcapng: one interface, ``n`` UDP packets to distinct documentation addresses."""
    out = section() + interface(options=option(9, b"\x06") + option(0, b""))
    for i in range(n):
        out += packet(udp_frame(dst=f"198.51.100.{20 + i}"), ts=1_700_000_000_000_000 + i * 1000)
    return out


def synthetic_pcap(n: int = 4) -> bytes:
    return pcap_header() + b"".join(pcap_record(udp_frame(dst=f"203.0.113.{10 + i}"), usec=i) for i in range(n))


def dns_answer(txid: int, answers: list[tuple[str, str]], resolver: str = "192.0.2.53",
               client: str = "192.0.2.10") -> bytes:
    """An Ethernet frame with a DNS response from ``resolver``: an A record per (name, address)."""

    def qname(name: str) -> bytes:
        return b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"

    msg = struct.pack("!HHHHHH", txid, 0x8180, 1, len(answers), 0, 0) + qname(answers[0][0]) + struct.pack("!HH", 1, 1)
    for name, addr in answers:
        msg += qname(name) + struct.pack("!HHIH", 1, 1, 300, 4) + socket.inet_aton(addr)
    return udp_frame(src=resolver, dst=client, sport=53, dport=30000 + txid % 1000, payload=msg)
