"""``traffic()``: captures and logs in, destinations out (no lookups)."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO, Protocol, cast

from ipowner.capture.aggregate import aggregate_rows
from ipowner.capture.context import ReadContext
from ipowner.capture.core import NO_CORE_ENV, core_available, core_disabled
from ipowner.capture.detect import COMPRESSION_HEAD, compression
from ipowner.capture.engine import Engine, addr_text
from ipowner.capture.formats import read_input
from ipowner.capture.frame import WalkerFactory, make_handler
from ipowner.capture.rules import BUDGET_ENV, DEFAULT_BUCKET, TUNNEL_NAMES, Budget
from ipowner.errors import InputNotFoundError, UsageError
from ipowner.model.traffic import Destination, InputInfo, TrafficResult

ProgressFactory = Callable[[str, int | None], Callable[[int], None] | None]


class _Hashing:
    """A read-only stream that hashes what passes through it and counts it.

    Hashing runs on a second thread (hashlib releases the GIL on large buffers), in read order. Bytes given
    back with ``unread`` (already hashed and counted) are read again first.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.h = hashlib.sha256()
        self.pool = ThreadPoolExecutor(max_workers=1)
        self.pending: deque[Future[None]] = deque()
        self.count = 0  # bytes read from ``raw``
        self.ahead = b""

    def unread(self, data: bytes) -> None:
        self.ahead = data + self.ahead

    def read(self, n: int = -1, /) -> bytes:
        if self.ahead:
            out = self.ahead if n < 0 else self.ahead[:n]
            self.ahead = self.ahead[len(out):]
            if n < 0 or len(out) < n:
                out += self._read(n if n < 0 else n - len(out))
            return out
        return self._read(n)

    def _read(self, n: int) -> bytes:
        data = self.raw.read(n)
        if data:
            self.count += len(data)
            self.pending.append(self.pool.submit(self.h.update, data))
            while len(self.pending) > 4:  # a reader faster than the hash must not queue the whole file
                self.pending.popleft().result()
        return data

    def hexdigest(self) -> str:
        self.pool.shutdown(wait=True)
        return self.h.hexdigest()

    def close(self) -> None:
        self.pool.shutdown(wait=True)


# The decompression-bomb budget: past BOMB_FLOOR decompressed bytes, an input that has expanded more than
# BOMB_RATIO times the compressed bytes read so far is stopped with a warning. Captures and logs compress
# 2-30:1; gzip cannot exceed about 1032:1, bzip2, xz and zstd go far beyond. No absolute size cap: a large
# capture is streamed whatever its size.
BOMB_RATIO = 200
BOMB_FLOOR = 64 << 20
_PIECE = 1 << 20  # decompressed bytes asked for at a time: memory stays bounded whatever the ratio


class _ZstdFrames:
    """The compressed bytes on their way to the zstd decoder, with the frames they hold followed by their
    block headers (RFC 8878 section 3.1), so that a stream cut inside a frame is told from one that ends
    between frames: the library's streaming reader ends both alike, without an error."""

    def __init__(self, source: _Hashing) -> None:
        self.source = source
        self.need = 4  # bytes wanted before the next decision, kept in ``held``
        self.held = b""
        self.skip = 0  # bytes to pass over (block content, skippable frame, checksum)
        self.step = "magic"
        self.checksum = False
        self.bad = False  # not zstd framing: the decoder says why

    def between_frames(self) -> bool:
        return self.step == "magic" and not self.held and not self.skip

    def read(self, n: int = -1, /) -> bytes:
        data = self.source.read(n)
        if not self.bad:
            self._scan(data)
        return data

    def _scan(self, data: bytes) -> None:
        p, end = 0, len(data)
        while p < end:
            if self.skip:
                k = min(self.skip, end - p)
                self.skip -= k
                p += k
                continue
            k = min(self.need - len(self.held), end - p)
            self.held += data[p : p + k]
            p += k
            if len(self.held) == self.need:
                self._decide()

    def _decide(self) -> None:
        held, self.held = self.held, b""
        if self.step == "magic":
            magic = int.from_bytes(held, "little")
            if magic == 0xFD2FB528:
                self.step, self.need = "descriptor", 1
            elif magic & 0xFFFFFFF0 == 0x184D2A50:  # a skippable frame: its length follows
                self.step, self.need = "skippable", 4
            else:
                self.bad = True
        elif self.step == "skippable":
            self.skip = int.from_bytes(held, "little")
            self.step, self.need = "magic", 4
        elif self.step == "descriptor":
            fhd = held[0]
            single = (fhd >> 5) & 1
            self.checksum = bool(fhd & 4)
            self.skip = (0 if single else 1) + (0, 1, 2, 4)[fhd & 3] + ((single, 2, 4, 8)[fhd >> 6])
            self.step, self.need = "block", 3
        else:  # a block header: last-block bit, type (raw, RLE, compressed, reserved), size
            h = int.from_bytes(held, "little")
            btype = (h >> 1) & 3
            if btype == 3:
                self.bad = True
                return
            self.skip = 1 if btype == 1 else h >> 3
            if h & 1:
                self.skip += 4 if self.checksum else 0
                self.step, self.need = "magic", 4


class _Buffered(Protocol):
    def read1(self, n: int = -1, /) -> bytes:
        """At most one read of the stream below: an error there loses nothing decompressed before it."""
        ...

    def close(self) -> None: ...


class _Decompressed:
    """The content of a compressed input, decompressed piece by piece as the readers ask (never whole).

    Reads are filled to the size asked (the readers expect that of a file). A damaged or cut stream, or one
    past the bomb budget, ends the content there: ``problem`` says which, and where."""

    def __init__(self, kind: str, source: _Hashing, info: InputInfo) -> None:
        import bz2
        import gzip
        import lzma
        import zlib

        self.kind = kind
        self.source = source
        self.info = info
        self.out = 0  # decompressed bytes handed out
        self.ended = False
        self.problem: str | None = None
        self.problem_at = 0  # how many warnings the input had when it happened
        self.frames: _ZstdFrames | None = None
        self.file: _Buffered
        errors: tuple[type[BaseException], ...] = (OSError, ValueError, lzma.LZMAError, zlib.error)
        # the decompressors only call ``read``: the streams here are files enough (closed in ``close``)
        if kind == "gzip":
            self.file = gzip.GzipFile(fileobj=cast(BinaryIO, source), mode="rb")
        elif kind == "bzip2":
            self.file = bz2.BZ2File(cast(BinaryIO, source))
        elif kind == "xz":
            self.file = lzma.LZMAFile(cast(BinaryIO, source))  # noqa: SIM115
        else:
            import zstandard

            self.frames = _ZstdFrames(source)
            self.file = zstandard.ZstdDecompressor().stream_reader(cast(BinaryIO, self.frames), read_size=1 << 17,
                                                                   read_across_frames=True, closefd=False)
            errors += (zstandard.ZstdError,)
        self.errors = errors

    def read(self, n: int = -1, /) -> bytes:
        pieces: list[bytes] = []
        want = n if n >= 0 else 1 << 62
        got = 0
        while got < want and not self.ended:
            try:
                piece = self.file.read1(min(want - got, _PIECE))
            except EOFError:
                self._stop(f"the compressed stream is cut short after {self.source.count} bytes")
                break
            except self.errors as exc:
                self._stop(f"the compressed stream is damaged ({exc}) within its first {self.source.count} bytes")
                break
            if not piece:
                if self.frames is not None and not self.frames.between_frames():
                    self._stop(f"the compressed stream is cut short after {self.source.count} bytes "
                               "(inside a frame)")
                self.ended = True
                break
            pieces.append(piece)
            got += len(piece)
            self.out += len(piece)
            if self.out > BOMB_FLOOR and self.out > BOMB_RATIO * self.source.count:
                self._stop(f"it expands more than {BOMB_RATIO}:1 (a decompression bomb?) after "
                           f"{self.source.count} compressed bytes")
        return b"".join(pieces)

    def _stop(self, why: str) -> None:
        self.ended = True
        kept = f"the {self.out} bytes decompressed before it are read" if self.out else "nothing came out before it"
        self.problem = f"{self.kind}-compressed input: {why}; reading stopped there, {kept}"
        self.problem_at = len(self.info.warnings)

    def close(self) -> None:
        self.file.close()


def traffic(
    inputs: Iterable[str | os.PathLike[str]],
    *,
    device: str | Iterable[str] | None = None,
    bucket: float = DEFAULT_BUCKET,
    columns: Mapping[str, str] | None = None,
    compiled: bool | None = None,
    progress: ProgressFactory | None = None,
    timeline: bool = True,
    pairs: bool = False,
) -> TrafficResult:
    """Read captures and logs into per-destination flows, bytes and hostnames.

    ``inputs`` are file paths, or ``-`` for standard input; the format is found from the content.
    ``device`` names the device address(es) when the flow initiator is not the device.
    ``columns`` maps roles (``address``, ``bytes_sent``...) to column names for generic CSV input.
    Captures go through the compiled core (capture/_core.c) when it is available (``compiled=True``
    requires it, ``False`` refuses it and uses the per-frame walker, capture/frame.py); both give the same
    result. A path that does not exist raises ``InputNotFoundError`` (a ``FileNotFoundError`` and an
    ``InputError``) before anything is read; inputs that exist but cannot be read, or only in part, never
    raise: they are marked partial with a warning.
    ``pairs`` also keeps one row per (device, destination, app) in ``TrafficResult.pairs``.
    Process-wide state (the garbage collector's settings among it) is left as it is.
    ``timeline=False`` keeps no per-destination timeline (less memory; the counts are the same). Memory
    follows destinations; past the budget of ``rules.Budget`` (``IPOWNER_CAPTURE_BUDGET`` overrides it)
    timelines and names are summarised or spilled to a temporary file, said in ``warnings``; every
    destination keeps its exact counts. ``read_traffic_rows`` gives the destinations one at a time instead.
    """
    return read_traffic(inputs, device=device, bucket=bucket, columns=columns, compiled=compiled,
                        progress=progress, timeline=timeline, pairs=pairs)


def read_traffic(
    inputs: Iterable[str | os.PathLike[str]],
    *,
    device: str | Iterable[str] | None = None,
    bucket: float = DEFAULT_BUCKET,
    columns: Mapping[str, str] | None = None,
    compiled: bool | None = None,
    progress: ProgressFactory | None = None,
    walker: WalkerFactory = make_handler,
    timeline: bool = True,
    budget: Budget | None = None,
    pairs: bool = False,
) -> TrafficResult:
    """``traffic()`` with the per-frame walker chosen: ``walker(engine)`` returns the frame handler used
    when the compiled core is not (``frame.make_handler`` unless given; the tests give their dpkt oracle)."""
    result, rows = _read(inputs, device=device, bucket=bucket, columns=columns, compiled=compiled, progress=progress,
                         walker=walker, timeline=timeline, budget=budget, pairs=pairs)
    result.destinations = list(rows)
    return result


def read_traffic_rows(
    inputs: Iterable[str | os.PathLike[str]],
    *,
    device: str | Iterable[str] | None = None,
    bucket: float = DEFAULT_BUCKET,
    columns: Mapping[str, str] | None = None,
    compiled: bool | None = None,
    progress: ProgressFactory | None = None,
    walker: WalkerFactory = make_handler,
    budget: Budget | None = None,
) -> tuple[TrafficResult, Iterator[Destination]]:
    """``read_traffic`` (with no timeline) for a writer that streams destinations: the result holds none,
    the iterator gives them in the result's order, each built when it is asked for. Memory then follows the
    destinations' columns (capture/pairs.py), not a record per destination (JSON Lines of millions)."""
    return _read(inputs, device=device, bucket=bucket, columns=columns, compiled=compiled, progress=progress,
                 walker=walker, timeline=False, budget=budget, pairs=False)


def _read(inputs: Iterable[str | os.PathLike[str]], *, device: str | Iterable[str] | None, bucket: float,
          columns: Mapping[str, str] | None, compiled: bool | None, progress: ProgressFactory | None,
          walker: WalkerFactory, timeline: bool, budget: Budget | None,
          pairs: bool) -> tuple[TrafficResult, Iterator[Destination]]:
    if bucket <= 0:
        raise UsageError("the timeline bucket must be a positive number of seconds")
    devices: set[str] = set()
    for d in [device] if isinstance(device, str) else (device or []):
        try:
            devices.add(ipaddress.ip_address(d).compressed)
        except ValueError:
            raise UsageError(f"--device {d!r} is not an IP address") from None
    if compiled and not core_available():
        why = f"disabled ({NO_CORE_ENV} is set)" if core_disabled() else "not built in this installation"
        raise UsageError(f"the compiled capture reader is {why}")
    if walker is not make_handler and compiled:
        raise UsageError("a frame walker was chosen: the compiled reader cannot be required too")
    inputs = list(inputs)
    for item in inputs:
        if str(item) != "-" and not os.path.lexists(item):
            raise InputNotFoundError(item)
    budget = budget or budget_from_env()
    if not timeline:
        budget = budget._replace(timeline=0)
    engine = Engine(bucket=bucket, devices=devices, budget=budget)
    try:
        infos = _read_all(engine, inputs, columns=columns, compiled=compiled, progress=progress, walker=walker)
        result = aggregate_rows(engine, infos, pairs=pairs)
    finally:
        engine.close()
    return result


def budget_from_env() -> Budget:
    """The memory budget, with what ``IPOWNER_CAPTURE_BUDGET`` ("timeline=N,names=N,named=N") overrides."""
    raw = os.environ.get(BUDGET_ENV, "").strip()
    budget = Budget()
    if not raw:
        return budget
    for part in raw.split(","):
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or name not in Budget._fields or not value.strip().isdigit() or int(value) < 1:
            raise UsageError(f"{BUDGET_ENV}: {part.strip()!r} is not NAME=N with NAME one of "
                             f"{', '.join(Budget._fields)} and N a positive whole number")
        budget = budget._replace(**{name: int(value)})
    return budget


def _read_all(engine: Engine, inputs: Iterable[str | os.PathLike[str]], *, columns: Mapping[str, str] | None,
              compiled: bool | None, progress: ProgressFactory | None, walker: WalkerFactory) -> list[InputInfo]:
    """Read every input into ``engine``; one ``InputInfo`` each."""
    infos: list[InputInfo] = []
    for item in inputs:
        name = str(item)
        info = InputInfo(name=name, sha256=None, format="unknown")
        infos.append(info)
        size: int | None = None
        try:
            if name == "-":
                raw: BinaryIO = sys.stdin.buffer
                close = False
            else:
                raw = open(name, "rb")  # noqa: SIM115 - closed below
                close = True
                size = os.fstat(raw.fileno()).st_size
        except OSError as exc:
            info.partial = True
            info.warnings.append(f"{name}: cannot open: {exc.strerror or exc}")
            continue
        stream = _Hashing(raw)
        cb = progress(name, size) if progress else None
        base = engine.counter[0]
        decompressed: _Decompressed | None = None
        ctx = ReadContext(name=name, stream=stream, engine=engine, info=info, progress=cb, compiled=compiled,
                          walker=walker)
        unreadable = False  # the file itself failed to read: the rest cannot be hashed either
        try:
            head = stream.read(COMPRESSION_HEAD)
            stream.unread(head)
            kind = compression(head)
            if kind is not None:
                ctx.stream = decompressed = _Decompressed(kind, stream, info)
                if cb is not None:  # progress in bytes of the file as given, not of its content
                    ctx.progress = _progress_of(stream, cb)
            read_input(ctx, columns=columns)
            if decompressed is not None:
                _compressed_outcome(ctx, decompressed)
        except OSError as exc:
            unreadable = True
            ctx.stop(f"read error: {exc.strerror or exc}")
        except Exception as exc:  # noqa: BLE001 - a reader bug must not lose what was read
            # the records read before it count (at least the frames handled), and the input is still hashed
            info.records = max(info.records, engine.counter[0] - base)
            ctx.stop(f"reading stopped after frame {engine.counter[0] - base}: internal error "
                     f"({type(exc).__name__}: {exc})")
        try:
            if cb is not None and size:
                cb(size)  # done: lets a progress bar close even when reading stopped early
            if not unreadable:
                while stream.read(1 << 20):  # hash the rest of what was not read, on every path
                    pass
                info.sha256 = stream.hexdigest()
        except OSError as exc:
            ctx.stop(f"read error while hashing: {exc.strerror or exc}")
        finally:
            if decompressed is not None:
                decompressed.close()
            stream.close()
            if close:
                raw.close()
        engine.fold_all()
        if engine.log_bad_values:
            ctx.stop(f"{engine.log_bad_values} number(s) out of range (a negative or impossibly large count, a port "
                     "past 65535, a time that is not a number) read as unknown")
            engine.log_bad_values = 0
        _tunnel_notes(ctx, engine)
        if engine.dns_errors:
            frame, why = engine.first_dns_error or (0, "")
            ctx.stop(f"{engine.dns_errors} malformed DNS message(s) skipped (first in frame {frame - base}: {why})")
            engine.dns_errors, engine.first_dns_error = 0, None
    return infos


TUNNELS_LISTED = 8  # tunnel endpoint pairs named in a warning; the others are counted


def _tunnel_notes(ctx: ReadContext, engine: Engine) -> None:
    """Warnings naming the tunnels an input's packets came through: opened ones (their inner packets are the
    flows, their endpoints are not destinations) and ones left unread (counted as the tunnel's own flow)."""
    tunnels, engine.tunnels = engine.tunnels, {}
    for opened in (True, False):
        rows = sorted(((c[1] if opened else c[3], c[0] if opened else c[2], kind, a, b)
                       for (kind, a, b), c in tunnels.items() if (c[0] if opened else c[2])),
                      key=lambda r: (-r[0], r[2], r[3], r[4]))
        if not rows:
            continue
        named = []
        for by, pk, kind, a, b in rows[:TUNNELS_LISTED]:
            ends = f"{addr_text(a)} <-> {addr_text(b)}" if a else "other endpoints"
            named.append(f"{TUNNEL_NAMES.get(kind, str(kind))} {ends} ({pk} packets, {by} bytes)")
        if len(rows) > TUNNELS_LISTED:
            named.append(f"{len(rows) - TUNNELS_LISTED} more")
        if opened:
            ctx.warn("tunnels opened, their inner packets counted as the flows (the tunnel endpoints are not "
                     f"destinations): {'; '.join(named)}")
        else:
            ctx.warn("tunnel packets left unread (an outer fragment, an inner packet that is not IP, cut short or "
                     f"nested too deep), counted as the tunnel's own flow: {'; '.join(named)}")


def _progress_of(stream: _Hashing, progress: Callable[[int], None]) -> Callable[[int], None]:
    return lambda _consumed: progress(stream.count)


def _compressed_outcome(ctx: ReadContext, decompressed: _Decompressed) -> None:
    """Say what the compression did to the reading: where a damaged, cut or bomb stream stopped (before the
    reader's own lines, which follow from it), and name the compression when its content is not readable."""
    info = ctx.info
    if info.format == "binary" and info.warnings:
        prefix = f"{ctx.name}: "
        last = info.warnings[-1]
        info.warnings[-1] = f"{prefix}{decompressed.kind}-compressed input, but its content is {last[len(prefix):]}"
    if decompressed.problem is not None:
        info.partial = True
        info.warnings.insert(decompressed.problem_at, f"{ctx.name}: {decompressed.problem}")


__all__ = ["read_traffic_rows", "traffic"]
