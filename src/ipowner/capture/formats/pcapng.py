"""pcapng files: several sections and interfaces, each interface with its own link type, timestamp
resolution (if_tsresol) and offset (if_tsoffset). Enhanced, simple and obsolete packet blocks."""

from __future__ import annotations

import struct

from ipowner.capture.context import ReadContext
from ipowner.capture.rules import EMPTY_RUN_MAX, LINK_TYPES, MAX_BLOCK, MAX_RECORD, PCAPNG_EPB, READ_CHUNK

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
    """An interface description block's body: link type, snap length and the options read here (time
    resolution and offset). An option running past the body ends the options; one too short for its value
    is passed over, the default kept."""
    lt, _, snaplen = struct.unpack_from(e + "HHI", body, 0)
    mul, offset = 1e-6, 0
    p = 8
    while p + 4 <= len(body):
        code, ln = struct.unpack_from(e + "HH", body, p)
        if code == 0 or p + 4 + ln > len(body):
            break
        val = body[p + 4 : p + 4 + ln]
        if code == 9 and ln >= 1:
            r = val[0]
            mul = 2.0 ** -(r & 0x7F) if r & 0x80 else 10.0 ** -r
        elif code == 14 and ln >= 8:
            offset = struct.unpack(e + "q", val[:8])[0]
        p += 4 + ((ln + 3) & ~3)
    return _Iface(lt, snaplen, mul, offset)


# The shortest body each block type has (type, length and trailing length included): a shorter block is
# inconsistent and skipped with a warning, never read past its end.
MIN_LENGTH = {SHB: 28, 1: 20, 2: 32, 3: 16, PCAPNG_EPB: 32}


def read(ctx: ReadContext) -> None:
    """Feed every packet of a pcapng stream to the engine. ``ctx.info.records`` holds the packets read so
    far whatever happens (an error later keeps the count)."""
    counted = _Counted()
    try:
        _read(ctx, counted)
    finally:
        ctx.info.records += counted.records
        ctx.engine.current_app = None


class _Counted:
    __slots__ = ("records",)

    def __init__(self) -> None:
        self.records = 0


def _read(ctx: ReadContext, counted: _Counted) -> None:
    core = ctx.engine.attach_core() if ctx.use_core() else None
    handle = core.frame if core is not None else ctx.walker(ctx.engine)
    e = "<"
    ifaces: list[_Iface] = []
    warned_lt: set[int] = set()
    buf = b""
    off = 0
    consumed = 0
    eof = False
    blocks = 0
    run = 0  # packet blocks capturing nothing, in a row
    progress = ctx.progress
    last_ts = 0.0
    apps: dict[str, str] = {}  # PCAPdroid uid -> app name, from its custom blocks
    skipped: list[int] = []  # offsets of inconsistent blocks passed over (one warning for them all)
    ended = False  # reading stopped at a run of empty packet blocks (its reason given)
    while True:
        n = len(buf)
        stop = None
        while off + 12 <= n:
            if core is not None and not apps:
                # enhanced packet blocks in a row, walked by the compiled core up to anything else
                o, nb, ts, run = core.pcapng(buf, off, e == ">",
                                             tuple((i.lt, i.mul, i.offset, i.supported) for i in ifaces), run)
                if o != off:
                    blocks += nb
                    counted.records += nb
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
            if blen < MIN_LENGTH.get(btype, 12):
                if btype == SHB:
                    stop = f"section header at byte {consumed + off} is {blen} bytes, shorter than its fields"
                    break
                skipped.append(consumed + off)
                off += blen
                continue
            packet: tuple[int, int, int, float, _Iface] | None = None  # (offset, captured, original, time, iface)
            if btype == PCAPNG_EPB:  # enhanced packet block
                iid, hi, lo, incl, orig = struct.unpack_from(e + "IIIII", buf, off + 8)
                if iid >= len(ifaces) or incl > blen - 32 or incl > MAX_RECORD:
                    skipped.append(consumed + off)
                else:
                    i = ifaces[iid]
                    packet = (off + 28, incl, orig, ((hi << 32) | lo) * i.mul + i.offset, i)
                    if apps:
                        ctx.engine.current_app = _epb_app(buf, off + 28 + ((incl + 3) & ~3), off + blen - 4, e, apps)
            elif btype == 3:  # simple packet block: no timestamp, interface 0
                if ifaces:
                    orig = struct.unpack_from(e + "I", buf, off + 8)[0]
                    incl = min(orig, blen - 16, ifaces[0].snaplen or orig, MAX_RECORD)
                    packet = (off + 12, incl, orig, last_ts, ifaces[0])
                else:
                    skipped.append(consumed + off)
            elif btype == 2:  # obsolete packet block
                iid, _, hi, lo, incl, orig = struct.unpack_from(e + "HHIIII", buf, off + 8)
                if iid < len(ifaces) and incl <= blen - 32 and incl <= MAX_RECORD:
                    i = ifaces[iid]
                    packet = (off + 28, incl, orig, ((hi << 32) | lo) * i.mul + i.offset, i)
                else:
                    skipped.append(consumed + off)
            elif btype in (0x0BAD, 0x40000BAD) and blen >= 28:  # custom block: PCAPdroid's uid -> app map
                _custom(buf, off, blen, e, apps)
            elif btype == 1:  # interface description
                iface = _iface(buf[off + 8 : off + blen - 4], e)
                ifaces.append(iface)
                if not iface.supported and iface.lt not in warned_lt:
                    warned_lt.add(iface.lt)
                    ctx.info.partial = True
                    ctx.warn(f"interface {len(ifaces) - 1} has link type {iface.lt}, which is not supported; "
                             "its packets were skipped")
            if packet is not None:
                at, incl, orig, ts, i = packet
                if incl:
                    run = 0
                else:
                    run += 1
                    if run >= EMPTY_RUN_MAX:
                        counted.records = ctx.stop_empty_run(counted.records, run, "packet block")
                        ended = True
                        break
                last_ts = ts
                if i.supported:
                    handle(buf, at, incl, orig, ts, i.lt)
                counted.records += 1
            off += blen
        if stop:
            ctx.stop(stop + "; reading stopped there")
            break
        if ended:
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
    if skipped:
        more = f" (and {len(skipped) - 1} more)" if len(skipped) > 1 else ""
        ctx.info.partial = True  # packets were lost
        ctx.warn(f"packet block at byte {skipped[0]}{more} is inconsistent (lengths or interface); skipped")


def _custom(buf: bytes, off: int, blen: int, e: str, apps: dict[str, str]) -> None:
    """A custom block: PCAPdroid's uid -> app map (read within the block, never past it)."""
    pen, _, ctype = struct.unpack_from(e + "IHB", buf, off + 8)
    if pen == PCAPDROID_PEN and ctype == 1:
        uid, plen, alen = struct.unpack_from(e + "iBB", buf, off + 16)
        names = buf[off + 22 : min(off + 22 + plen + alen, off + blen - 4)]
        pkg = names[:plen].decode("utf-8", "replace")
        app = names[plen:].decode("utf-8", "replace")
        apps[str(uid)] = app or pkg or f"uid:{uid}"


def _epb_app(buf: bytes, p: int, end: int, e: str, apps: dict[str, str]) -> str | None:
    """The app named by a PCAPdroid packet comment ("u-<uid>") among the block's options."""
    while p + 4 <= end:
        code, ln = struct.unpack_from(e + "HH", buf, p)
        if code == 0:
            break
        if code == 1:
            text = buf[p + 4 : min(p + 4 + ln, end)]
            if text.startswith(b"u-"):
                uid = text[2:].decode("ascii", "replace")
                return apps.get(uid, f"uid:{uid}")
        p += 4 + ((ln + 3) & ~3)
    return None
