"""pcapng files: several sections and interfaces, each interface with its own link type, timestamp
resolution (if_tsresol) and offset (if_tsoffset). Enhanced, simple and obsolete packet blocks."""

from __future__ import annotations

import struct

from ipowner.capture.context import CHUNK, MAX_RECORD, ReadContext
from ipowner.capture.frame import SUPPORTED_LINKTYPES, make_handler

SHB = 0x0A0D0D0A
BOM = 0x1A2B3C4D
MAX_BLOCK = 16 << 20  # a block larger than this is taken as corruption
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
        self.supported = lt in SUPPORTED_LINKTYPES


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
    if core is not None:
        handle = core.frame
    elif ctx.fast:
        handle = make_handler(ctx.engine)
    else:
        from ipowner.capture._slow import make_slow_handler

        handle = make_slow_handler(ctx.engine)
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
    batched = _Batched(ctx) if core is None and ctx.use_batch() else None
    pending: list[int] = []  # enhanced packet blocks waiting for the batch path (offsets in buf)
    epb_at = struct.Struct("<II").unpack_from
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
            if batched is not None and e == "<" and not apps:
                # little-endian enhanced packet blocks in a row: collected here, checked and read in batches
                o = off
                had = len(pending)
                add = pending.append
                while o + 12 <= n:
                    bt, bl = epb_at(buf, o)
                    if bt != 6 or bl < 32 or bl & 3 or bl > MAX_BLOCK or o + bl > n:
                        break
                    add(o)
                    o += bl
                if o != off:
                    blocks += len(pending) - had
                    off = o
                    continue
            if pending:
                r, last_ts = batched.flush(buf, pending, consumed, ifaces, last_ts)  # type: ignore[union-attr]
                records += r
                pending.clear()
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
            if btype == 6:  # enhanced packet block
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
        if pending:
            r, last_ts = batched.flush(buf, pending, consumed, ifaces, last_ts)  # type: ignore[union-attr]
            records += r
            pending.clear()
        if stop:
            ctx.stop(stop + "; reading stopped there")
            break
        if eof:
            if n - off:
                ctx.stop(f"last block (block {blocks + 1} at byte {consumed + off}) is truncated: "
                         f"{n - off} bytes present")
            break
        consumed += off
        chunk = ctx.read(CHUNK)
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


class _Batched:
    """Enhanced packet blocks of one input, checked and handed to the batch path together."""

    def __init__(self, ctx: ReadContext) -> None:
        import numpy as np

        from ipowner.capture._batch import Batcher

        self.np = np
        self.ctx = ctx
        self.batcher = Batcher(ctx.engine)
        self.span = np.arange(24)

    def flush(self, buf: bytes, pending: list[int], consumed: int, ifaces: list[_Iface],
              last_ts: float) -> tuple[int, float]:
        """Feed the blocks at ``pending``; (records read, last timestamp), as the block loop keeps them."""
        np = self.np
        at = np.array(pending, np.int64)
        w = np.frombuffer(buf, np.uint8)[at[:, None] + 4 + self.span].view("<u4").astype(np.int64)
        blen, iid, hi, lo, incl, orig = (w[:, k] for k in range(6))
        valid = (iid < len(ifaces)) & (incl <= blen - 32) & (incl <= MAX_RECORD)
        if not valid.all():
            for k in np.flatnonzero(~valid).tolist():
                self.ctx.warn(f"packet block at byte {consumed + pending[k]} is inconsistent; skipped")
            at, iid, hi, lo, incl, orig = (x[valid] for x in (at, iid, hi, lo, incl, orig))
        if not len(at):
            return 0, last_ts
        muls = np.array([i.mul for i in ifaces], np.float64)
        offsets = np.array([float(i.offset) for i in ifaces], np.float64)
        lts = np.array([i.lt for i in ifaces], np.int64)
        sup = np.array([i.supported for i in ifaces], bool)
        ts = ((hi.astype(np.uint64) << np.uint64(32)) | lo.astype(np.uint64)).astype(np.float64) * muls[iid]
        ts = ts + offsets[iid]
        keep = sup[iid]
        last = float(ts[-1])
        if not keep.all():
            at, incl, orig, ts, iid = at[keep], incl[keep], orig[keep], ts[keep], iid[keep]
        if len(at):
            self.batcher.frames(buf, at + 28, incl, orig, ts, lts[iid])
        return len(valid) if valid.all() else int(valid.sum()), last
