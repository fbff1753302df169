#!/usr/bin/env python3
"""The lower-bound reference for capture ingest: a minimal struct-offset loop in pure Python.

Reads a pcap or pcapng file in large chunks, finds the IP header at a fixed offset per link type
(Ethernet with VLAN tags, Linux SLL and SLL2, raw IP, BSD loopback), and counts frames and original
frame bytes per address pair, folded into per-address (endpoint) totals at the end. Nothing more: no
flows, no direction, no DNS/TLS/HTTP, no fragments handling beyond counting every frame. Any reader
that does real work is slower than this; the benchmark reports how much.

Usage: struct_loop.py CAPTURE [--json]   (prints packets, bytes, addresses; --json adds the endpoints)
"""

from __future__ import annotations

import ipaddress
import json
import struct
import sys
import time
from collections import defaultdict

CHUNK = 8 << 20


def _ip_offset(linktype: int, buf: bytes, o: int) -> tuple[int, int]:
    """(offset of the IP header, IP version or 0) for the frame starting at ``o``."""
    if linktype == 1:  # Ethernet, skipping 802.1Q / 802.1ad tags
        et = (buf[o + 12] << 8) | buf[o + 13]
        o += 14
        while et in (0x8100, 0x88A8):
            et = (buf[o + 2] << 8) | buf[o + 3]
            o += 4
    elif linktype == 276:  # Linux SLL2
        et = (buf[o] << 8) | buf[o + 1]
        o += 20
    elif linktype == 113:  # Linux SLL
        et = (buf[o + 14] << 8) | buf[o + 15]
        o += 16
    elif linktype in (101, 12, 14):  # raw IP
        return o, buf[o] >> 4
    elif linktype == 228:
        return o, 4
    elif linktype == 229:
        return o, 6
    elif linktype in (0, 108):  # BSD loopback: 4-byte family
        return o + 4, buf[o + 4] >> 4
    else:
        return o, 0
    return o, (4 if et == 0x0800 else 6 if et == 0x86DD else 0)


def count(path: str) -> tuple[dict[bytes, list[int]], int, int]:
    """Per address-pair [frames, bytes] (keys: src+dst packed), total frames, total bytes."""
    with open(path, "rb") as f:
        head = f.read(4)
        f.seek(0)
        return _count_pcapng(f) if head == b"\x0a\x0d\x0d\x0a" else _count_pcap(f)


# The loops below are written out in full (no generator, no per-packet call for Ethernet): this is the
# reference for how fast pure Python can walk a capture, so it should be as tight as plain code gets.


def _count_pcap(f) -> tuple[dict[bytes, list[int]], int, int]:
    hdr = f.read(24)
    magic = hdr[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        e = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        e = ">"
    else:
        raise SystemExit(f"{f.name}: not a pcap or pcapng file")
    linktype = struct.unpack(e + "I", hdr[20:24])[0] & 0x0FFFFFFF
    rec = struct.Struct(e + "8xII").unpack_from
    pairs: dict[bytes, list[int]] = {}
    get = pairs.get
    frames = total = 0
    buf = b""
    while True:
        data = f.read(CHUNK)
        if not data:
            break
        buf = buf + data if buf else data
        o, n = 0, len(buf)
        while o + 16 <= n:
            caplen, origlen = rec(buf, o)
            end = o + 16 + caplen
            if end > n:
                break
            frames += 1
            total += origlen
            p = o + 16
            o = end
            if caplen < 20:
                continue
            if linktype == 1:
                et = buf[p + 12 : p + 14]
                p += 14
                while et == b"\x81\x00" or et == b"\x88\xa8":
                    et = buf[p + 2 : p + 4]
                    p += 4
                ver = 4 if et == b"\x08\x00" else 6 if et == b"\x86\xdd" else 0
            else:
                p, ver = _ip_offset(linktype, buf, p)
            if ver == 4:
                k = buf[p + 12 : p + 20]
            elif ver == 6:
                k = buf[p + 8 : p + 40]
            else:
                continue
            v = get(k)
            if v is None:
                pairs[k] = [1, origlen]
            else:
                v[0] += 1
                v[1] += origlen
        buf = buf[o:]
    return pairs, frames, total


def _count_pcapng(f) -> tuple[dict[bytes, list[int]], int, int]:
    linktypes: list[int] = []
    e = "<"
    blk = struct.Struct("<II").unpack_from
    epb = struct.Struct("<I8xII").unpack_from
    pairs: dict[bytes, list[int]] = {}
    get = pairs.get
    frames = total = 0
    buf = b""
    while True:
        data = f.read(CHUNK)
        if not data:
            break
        buf = buf + data if buf else data
        o, n = 0, len(buf)
        while o + 12 <= n:
            btype, blen = blk(buf, o)
            if btype == 0x0A0D0D0A:
                e = "<" if buf[o + 8 : o + 12] == b"\x4d\x3c\x2b\x1a" else ">"
                blk = struct.Struct(e + "II").unpack_from
                epb = struct.Struct(e + "I8xII").unpack_from
                btype, blen = blk(buf, o)
                linktypes = []
            if o + blen > n:
                break
            if btype == 6:
                iface, caplen, origlen = epb(buf, o + 8)
                p = o + 28
                linktype = linktypes[iface]
            elif btype == 3:  # simple packet block: interface 0
                origlen = struct.unpack_from(e + "I", buf, o + 8)[0]
                caplen = min(origlen, blen - 16)
                p = o + 12
                linktype = linktypes[0]
            else:
                if btype == 1:
                    linktypes.append(struct.unpack_from(e + "H", buf, o + 8)[0])
                o += blen
                continue
            o += blen
            frames += 1
            total += origlen
            if caplen < 20:
                continue
            if linktype == 1:
                et = buf[p + 12 : p + 14]
                p += 14
                while et == b"\x81\x00" or et == b"\x88\xa8":
                    et = buf[p + 2 : p + 4]
                    p += 4
                ver = 4 if et == b"\x08\x00" else 6 if et == b"\x86\xdd" else 0
            else:
                p, ver = _ip_offset(linktype, buf, p)
            if ver == 4:
                k = buf[p + 12 : p + 20]
            elif ver == 6:
                k = buf[p + 8 : p + 40]
            else:
                continue
            v = get(k)
            if v is None:
                pairs[k] = [1, origlen]
            else:
                v[0] += 1
                v[1] += origlen
        buf = buf[o:]
    return pairs, frames, total


def endpoints(pairs: dict[bytes, list[int]]) -> dict[str, list[int]]:
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for k, (p, b) in pairs.items():
        half = len(k) // 2
        for a in (k[:half], k[half:]):
            e = out[str(ipaddress.ip_address(a))]
            e[0] += p
            e[1] += b
    return dict(out)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if argv else 2
    t = time.perf_counter()
    pairs, frames, total = count(argv[0])
    eps = endpoints(pairs)
    dt = time.perf_counter() - t
    doc = {"packets": frames, "bytes": total, "addresses": len(eps), "seconds": round(dt, 3)}
    if "--json" in argv:
        doc["endpoints"] = {a: {"packets": p, "bytes": b} for a, (p, b) in sorted(eps.items())}
    print(json.dumps(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
