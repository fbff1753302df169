"""pcapng files: several sections and interfaces, each interface with its own link type, timestamp
resolution (if_tsresol) and offset (if_tsoffset). Enhanced, simple and obsolete packet blocks."""

from __future__ import annotations

import struct

from ipowner.capture.context import ReadContext
from ipowner.capture.rules import LINK_TYPES, MAX_BLOCK, MAX_RECORD, PCAPNG_EPB, READ_CHUNK

SHB = 0x0A0D0D0A
BOM = 0x1A2B3C4D
PCAPDROID_PEN = 62652  # PCAPdroid's enterprise number in its custom blocks (uid -> app mapping)


def is_pcapng(head: bytes) -> bool:
    return head[:4] == b"\x0a\x0d\x0d\x0a"


class _Iface:
    __slots__ = ("lt", "mul", "offset", "snaplen", "supported")

    def __init__(self, lt: int, snaplen: int, mul: float, offset: int) -> None:
        self.lt = lt
        self.snaplen = snaplen
        self.mul = mul
        self.offset = offset
        self.supported = lt in LINK_TYPES


def _iface(body: bytes, e: str) -> _Iface:
    lt, _, snaplen = struct.unpack_from(e + "HHI", body, 0)
    mul, offset = 1e-6, 0
    p = 8
    while p + 4 <= len(body):
        code, ln = struct.unpack_from(e + "HH", body, p)
        val = body[p + 4 : p + 4 + ln]
        if code == 0:
            break
        if code == 9 and ln >= 1:
            r = val[0]
            mul = 2.0 ** -(r & 0x7F) if r & 0x80 else 10.0 ** -r
        elif code == 14 and ln >= 8:
            offset = struct.unpack(e + "q", val[:8])[0]
        p += 4 + ((ln + 3) & ~3)
    return _Iface(lt, snaplen, mul, offset)


def read(ctx: ReadContext) -> None:
    core = ctx.engine.attach_core() if ctx.use_core() else None
    handle = core.frame if core is not None else ctx.walker(ctx.engine)
    e = "<"
    ifaces: list[_Iface] = []
    warned_lt: set[int] = set()
    buf = b""
    off = 0
    consumed = 0
    eof = False
    records = 0
    blocks = 0
    progress = ctx.progress
    last_ts = 0.0
    apps: dict[str, str] = {}  # PCAPdroid uid -> app name, from its custom blocks
    while True:
        n = len(buf)
        stop = None
        while off + 12 <= n:
            if core is not None and not apps:
                # enhanced packet blocks in a row, walked by the compiled core up to anything else
                o, nb, ts = core.pcapng(buf, off, e == ">",
                                        tuple((i.lt, i.mul, i.offset, i.supported) for i in ifaces))
                if o != off:
                    blocks += nb
                    records += nb
                    if ts is not None:
                        last_ts = ts
                    off = o
                    continue
            btype = struct.unpack_from(e + "I", buf, off)[0]
            if btype == SHB:
                bom = buf[off + 8 : off + 12]
                if bom == b"\x4d\x3c\x2b\x1a":
                    e = "<"
                elif bom == b"\x1a\x2b\x3c\x4d":
                    e = ">"
                else:
                    stop = f"section header at byte {consumed + off} has no valid byte-order magic"
                    break
                ifaces = []
            blen = struct.unpack_from(e + "I", buf, off + 4)[0]
            if blen < 12 or blen % 4 or blen > MAX_BLOCK:
                stop = f"block {blocks + 1} at byte {consumed + off} has an invalid length {blen}"
                break
            if off + blen > n:
                break
            blocks += 1
            if btype == PCAPNG_EPB:  # enhanced packet block
                iid, hi, lo, incl, orig = struct.unpack_from(e + "IIIII", buf, off + 8)
                if iid >= len(ifaces) or incl > blen - 32 or incl > MAX_RECORD:
                    ctx.warn(f"packet block at byte {consumed + off} is inconsistent; skipped")
                else:
                    i = ifaces[iid]
                    last_ts = ((hi << 32) | lo) * i.mul + i.offset
                    if apps:
                        ctx.engine.current_app = _epb_app(buf, off + 28 + ((incl + 3) & ~3), off + blen - 4, e, apps)
                    if i.supported:
                        handle(buf, off + 28, incl, orig, last_ts, i.lt)
                    records += 1
            elif btype == 3:  # simple packet block: no timestamp, interface 0
                if ifaces:
                    orig = struct.unpack_from(e + "I", buf, off + 8)[0]
                    incl = min(orig, blen - 16, ifaces[0].snaplen or orig)
                    if ifaces[0].supported:
                        handle(buf, off + 12, incl, orig, last_ts, ifaces[0].lt)
                    records += 1
            elif btype == 2:  # obsolete packet block
                iid, _, hi, lo, incl, orig = struct.unpack_from(e + "HHIIII", buf, off + 8)
                if iid < len(ifaces) and incl <= blen - 32:
                    i = ifaces[iid]
                    last_ts = ((hi << 32) | lo) * i.mul + i.offset
                    if i.supported:
                        handle(buf, off + 28, incl, orig, last_ts, i.lt)
                    records += 1
            elif btype in (0x0BAD, 0x40000BAD) and blen >= 28:  # custom block: PCAPdroid's uid -> app map
                pen, ver, ctype = struct.unpack_from(e + "IHB", buf, off + 8)
                if pen == PCAPDROID_PEN and ctype == 1:
                    uid, plen, alen = struct.unpack_from(e + "iBB", buf, off + 16)
                    names = buf[off + 22 : off + 22 + plen + alen]
                    pkg = names[:plen].decode("utf-8", "replace")
                    app = names[plen:].decode("utf-8", "replace")
                    apps[str(uid)] = app or pkg or f"uid:{uid}"
            elif btype == 1:  # interface description
                try:
                    iface = _iface(buf[off + 8 : off + blen - 4], e)
                except struct.error:
                    stop = f"interface block at byte {consumed + off} is malformed"
                    break
                ifaces.append(iface)
                if not iface.supported and iface.lt not in warned_lt:
                    warned_lt.add(iface.lt)
                    ctx.info.partial = True
                    ctx.warn(f"interface {len(ifaces) - 1} has link type {iface.lt}, which is not supported; "
                             "its packets were skipped")
            off += blen
        if stop:
            ctx.stop(stop + "; reading stopped there")
            break
        if eof:
            if n - off:
                ctx.stop(f"last block (block {blocks + 1} at byte {consumed + off}) is truncated: "
                         f"{n - off} bytes present")
            break
        consumed += off
        chunk = ctx.read(READ_CHUNK)
        if not chunk:
            eof = True
        buf = buf[off:] + chunk
        off = 0
        if progress is not None:
            progress(consumed)
    ctx.engine.current_app = None
    ctx.info.records += records


def _epb_app(buf: bytes, p: int, end: int, e: str, apps: dict[str, str]) -> str | None:
    """The app named by a PCAPdroid packet comment ("u-<uid>") among the block's options."""
    while p + 4 <= end:
        code, ln = struct.unpack_from(e + "HH", buf, p)
        if code == 0:
            break
        if code == 1:
            text = buf[p + 4 : p + 4 + ln]
            if text.startswith(b"u-"):
                uid = text[2:].decode("ascii", "replace")
                return apps.get(uid, f"uid:{uid}")
        p += 4 + ((ln + 3) & ~3)
    return None
