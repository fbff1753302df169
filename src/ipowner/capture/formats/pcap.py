"""Classic pcap (libpcap) files: micro- and nanosecond timestamps, either byte order, streamed."""

from __future__ import annotations

import struct
from collections.abc import Callable

from ipowner.capture.context import ReadContext
from ipowner.capture.rules import EMPTY_RUN_MAX, LINK_TYPES, MAX_RECORD, READ_CHUNK

MAGICS = {
    b"\xd4\xc3\xb2\xa1": ("<", 1e-6),
    b"\xa1\xb2\xc3\xd4": (">", 1e-6),
    b"\x4d\x3c\xb2\xa1": ("<", 1e-9),
    b"\xa1\xb2\x3c\x4d": (">", 1e-9),
}


def is_pcap(head: bytes) -> bool:
    return head[:4] in MAGICS


def read(ctx: ReadContext) -> None:
    """Feed every record of a pcap stream to the engine; stop with a warning at the first bad record."""
    hdr = ctx.read(24)
    if len(hdr) < 24:
        ctx.stop(f"pcap global header cut short ({len(hdr)} of 24 bytes)")
        return
    endian, mul = MAGICS[hdr[:4]]
    _, _, _, _, snaplen, network = struct.unpack(endian + "HHiIII", hdr[4:24])
    lt = network & 0x03FFFFFF
    if lt not in LINK_TYPES:
        ctx.stop(f"link type {lt} is not supported")
        return
    if ctx.use_core():
        core = ctx.engine.attach_core()
        big = endian == ">"
        _read_chunks(ctx, endian, lambda buf, off, run: core.pcap(buf, off, big, mul, lt, run))
    else:
        _read_chunks(ctx, endian, _frame_walker(ctx, endian, mul, lt))


# (buf, offset, empty records in a row so far) -> (offset reached, records, why it stopped, empty run)
Walker = Callable[[bytes, int, int], tuple[int, int, int, int]]
CUT, OVERSIZED, EMPTY_RUN = 0, 1, 2  # why a walk stopped: the buffer's end, a record header, empty records


def _read_chunks(ctx: ReadContext, endian: str, walk: Walker) -> None:
    """Hand the stream to ``walk`` chunk by chunk; it reads whole records from the offset it is given and
    stops at a record cut by the chunk's end (read again with the next chunk), an oversized header or the
    record that completes a run of ``EMPTY_RUN_MAX`` records capturing nothing. ``ctx.info.records`` is
    kept up to date after every chunk, so an error later keeps the count."""
    buf = b""
    off = 0
    consumed = 24
    run = 0
    eof = False
    while True:
        off, n, why, run = walk(buf, off, run)
        ctx.info.records += n
        if why != CUT or eof:
            _stop(ctx, endian, buf, off, consumed, why, run)
            break
        consumed += off
        buf, eof = _refill(ctx, buf, off, consumed)
        off = 0


def _frame_walker(ctx: ReadContext, endian: str, mul: float, lt: int) -> Walker:
    """Records one by one through the per-frame walker."""
    handle = ctx.walker(ctx.engine)
    unpack = struct.Struct(endian + "IIII").unpack_from

    def walk(buf: bytes, off: int, run: int) -> tuple[int, int, int, int]:
        n = len(buf)
        records = 0
        while off + 16 <= n:
            sec, frac, incl, orig = unpack(buf, off)
            if incl > MAX_RECORD:
                return off, records, OVERSIZED, run
            nxt = off + 16 + incl
            if nxt > n:
                break
            if incl:
                run = 0
            else:
                run += 1
                if run >= EMPTY_RUN_MAX:
                    return off, records, EMPTY_RUN, run
            handle(buf, off + 16, incl, orig, sec + frac * mul, lt)
            records += 1
            off = nxt
        return off, records, CUT, run

    return walk


def _stop(ctx: ReadContext, endian: str, buf: bytes, off: int, consumed: int, why: int, run: int) -> None:
    """The one-line warning where reading stopped: an oversized record header, a run of empty records, or a
    cut last record."""
    records = ctx.info.records
    left = len(buf) - off
    incl = int.from_bytes(buf[off + 8 : off + 12], "little" if endian == "<" else "big") if left >= 12 else 0
    if why == OVERSIZED:
        ctx.stop(f"record {records + 1} at byte {consumed + off} claims {incl} bytes "
                 f"(more than {MAX_RECORD}); reading stopped there")
    elif why == EMPTY_RUN:
        ctx.info.records = ctx.stop_empty_run(records, run, "record")
    elif left:
        want = 16 + incl if left >= 16 else 16
        ctx.stop(f"last record (record {records + 1} at byte {consumed + off}) is truncated: "
                 f"{left} of {want} bytes present")



def _refill(ctx: ReadContext, buf: bytes, off: int, consumed: int) -> tuple[bytes, bool]:
    """The unread rest of ``buf`` followed by the next chunk, and whether the input has ended."""
    chunk = ctx.read(READ_CHUNK)
    if ctx.progress is not None:
        ctx.progress(consumed)
    return buf[off:] + chunk, not chunk
