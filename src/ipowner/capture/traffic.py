"""``traffic()``: captures and logs in, destinations out (no lookups)."""

from __future__ import annotations

import hashlib
import ipaddress
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO

from ipowner.capture.aggregate import aggregate
from ipowner.capture.context import ReadContext
from ipowner.capture.core import NO_CORE_ENV, core_available, core_disabled
from ipowner.capture.engine import Engine
from ipowner.capture.formats import read_input
from ipowner.capture.frame import WalkerFactory, make_handler
from ipowner.capture.rules import DEFAULT_BUCKET
from ipowner.errors import UsageError
from ipowner.model.traffic import InputInfo, TrafficResult

ProgressFactory = Callable[[str, int | None], Callable[[int], None] | None]


class _Hashing:
    """A read-only stream that hashes what passes through it.

    Hashing runs on a second thread (hashlib releases the GIL on large buffers), in read order.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.h = hashlib.sha256()
        self.pool = ThreadPoolExecutor(max_workers=1)
        self.pending: deque[Future[None]] = deque()

    def read(self, n: int = -1, /) -> bytes:
        data = self.raw.read(n)
        if data:
            self.pending.append(self.pool.submit(self.h.update, data))
            while len(self.pending) > 4:  # a reader faster than the hash must not queue the whole file
                self.pending.popleft().result()
        return data

    def hexdigest(self) -> str:
        self.pool.shutdown(wait=True)
        return self.h.hexdigest()

    def close(self) -> None:
        self.pool.shutdown(wait=True)


def traffic(
    inputs: Iterable[str | os.PathLike[str]],
    *,
    device: str | Iterable[str] | None = None,
    bucket: float = DEFAULT_BUCKET,
    columns: Mapping[str, str] | None = None,
    compiled: bool | None = None,
    progress: ProgressFactory | None = None,
) -> TrafficResult:
    """Read captures and logs into per-destination flows, bytes and hostnames.

    ``inputs`` are file paths, or ``-`` for standard input; the format is found from the content.
    ``device`` names the device address(es) when the flow initiator is not the device.
    ``columns`` maps roles (``address``, ``bytes_sent``...) to column names for generic CSV input.
    Captures go through the compiled core (capture/_core.c) when it is available (``compiled=True``
    requires it, ``False`` refuses it and uses the per-frame walker, capture/frame.py); both give the same
    result. Unreadable or partly readable inputs never raise: they are marked partial with a warning.
    Process-wide state (the garbage collector's settings among it) is left as it is.
    """
    return read_traffic(inputs, device=device, bucket=bucket, columns=columns, compiled=compiled,
                        progress=progress)


def read_traffic(
    inputs: Iterable[str | os.PathLike[str]],
    *,
    device: str | Iterable[str] | None = None,
    bucket: float = DEFAULT_BUCKET,
    columns: Mapping[str, str] | None = None,
    compiled: bool | None = None,
    progress: ProgressFactory | None = None,
    walker: WalkerFactory = make_handler,
) -> TrafficResult:
    """``traffic()`` with the per-frame walker chosen: ``walker(engine)`` returns the frame handler used
    when the compiled core is not (``frame.make_handler`` unless given; the tests give their dpkt oracle)."""
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
    engine = Engine(bucket=bucket, devices=devices)
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
        ctx = ReadContext(name=name, stream=stream, engine=engine, info=info, progress=cb, compiled=compiled,
                          walker=walker)
        try:
            read_input(ctx, columns=columns)
            if cb is not None and size:
                cb(size)  # done: lets a progress bar close even when reading stopped early
            while stream.read(1 << 20):  # hash the rest of what was not read
                pass
            info.sha256 = stream.hexdigest()
        except OSError as exc:
            ctx.stop(f"read error: {exc.strerror or exc}")
        except Exception as exc:  # noqa: BLE001 - a reader bug must not lose what was read
            ctx.stop(f"reading stopped after frame {engine.counter[0] - base}: internal error "
                     f"({type(exc).__name__}: {exc})")
        finally:
            stream.close()
            if close:
                raw.close()
        engine.fold_all()
        if engine.dns_errors:
            frame, why = engine.first_dns_error or (0, "")
            ctx.stop(f"{engine.dns_errors} malformed DNS message(s) skipped (first in frame {frame - base}: {why})")
            engine.dns_errors, engine.first_dns_error = 0, None
    return aggregate(engine, infos)


__all__ = ["traffic"]
