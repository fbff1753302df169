"""``traffic()``: captures and logs in, destinations out (no lookups)."""

from __future__ import annotations

import gc
import hashlib
import ipaddress
import os
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future
from contextlib import contextmanager
from typing import BinaryIO

from ipowner.errors import UsageError
from ipowner.model.traffic import AppSummary, Destination, DeviceSummary, InputInfo, TrafficResult
from ipowner.capture.formats import CAPTURE_FORMATS, Engine, ReadContext, read_input
from ipowner.capture.context import core_available
from ipowner.capture.engine import port_label, scope_of

ProgressFactory = Callable[[str, int | None], Callable[[int], None] | None]


class _Hashing:
    """A read-only stream that hashes what passes through it.

    Hashing runs on a second thread (hashlib releases the GIL on large buffers), in read order.
    """

    def __init__(self, raw: BinaryIO) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self.raw = raw
        self.h = hashlib.sha256()
        self.pool = ThreadPoolExecutor(max_workers=1)
        self.pending: deque[Future] = deque()

    def read(self, n: int = -1) -> bytes:
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
    bucket: float = 60.0,
    columns: Mapping[str, str] | None = None,
    fast: bool = True,
    batch: bool | None = None,
    compiled: bool | None = None,
    progress: ProgressFactory | None = None,
) -> TrafficResult:
    """Read captures and logs into per-destination flows, bytes and hostnames.

    ``inputs`` are file paths, or ``-`` for standard input; the format is found from the content.
    ``device`` names the device address(es) when the flow initiator is not the device.
    ``columns`` maps roles (``address``, ``bytes_sent``...) to column names for generic CSV input.
    ``fast=False`` uses the dpkt-based slow path. By default captures go through the compiled core
    (readers/_core.c) when it was built (``compiled=True`` requires it, ``False`` refuses it); ``batch``
    chooses a pure-Python path instead: the batch path (True) or the per-frame fast path (False); without
    the core, the batch path is used for captures of 4 MB or more. All paths give the same result (the
    choice exists for differential tests and benchmarks).
    Unreadable or partly readable inputs never raise: they are marked partial with a warning.
    """
    if bucket <= 0:
        raise UsageError("the timeline bucket must be a positive number of seconds")
    devices: set[str] = set()
    for d in [device] if isinstance(device, str) else (device or []):
        try:
            devices.add(ipaddress.ip_address(d).compressed)
        except ValueError:
            raise UsageError(f"--device {d!r} is not an IP address") from None
    if compiled and not core_available():
        raise UsageError("the compiled capture reader is not built in this installation")
    with _few_collections():
        return _read_all(inputs, Engine(bucket=bucket, devices=devices), columns, fast, batch, compiled, progress)


@contextmanager
def _few_collections() -> Iterator[None]:
    """Reading makes millions of short-lived objects and few cycles: the collector runs less often meanwhile
    (it cost about a fifth of the reading time)."""
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], 50_000), *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


def _read_all(inputs: Iterable[str | os.PathLike[str]], engine: Engine, columns: Mapping[str, str] | None,
              fast: bool, batch: bool | None, compiled: bool | None,
              progress: ProgressFactory | None) -> TrafficResult:
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
        ctx = ReadContext(name=name, stream=stream, engine=engine, info=info, progress=cb, fast=fast,
                          batch=batch, compiled=compiled)  # type: ignore[arg-type]
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
    return _result(engine, infos)


def _result(engine: Engine, infos: list[InputInfo]) -> TrafficResult:
    engine.fold_all()
    kinds = set()
    for i in infos:
        if i.format in CAPTURE_FORMATS:
            kinds.add("frame")
        elif i.format.startswith("zeek") or i.format in ("pcapdroid-csv", "csv"):
            kinds.add("ip")
    byte_kind = "ip" if "ip" in kinds else "frame" if "frame" in kinds else "none"
    use_ip = byte_kind == "ip"
    res = TrafficResult(inputs=infos, byte_kind=byte_kind, timeline_bucket=engine.bucket)
    if "ip" in kinds and "frame" in kinds:
        res.warnings.append("captures and logs mixed: all byte counts shown are IP-level (frame sizes are not in logs)")
    given = engine.devices_given
    dests: dict[str, Destination] = {}
    devs: dict[str, DeviceSummary] = {}
    apps: dict[str, AppSummary] = {}
    dev_remotes: dict[str, set[str]] = {}
    l2b: dict[str, bool] = {}
    timeline: dict[str, dict[float, list[int]]] = {}
    for (dev, remote, app), p in engine.pairs.items():
        ps, pr = p.packets_sent, p.packets_received
        bs, br = (p.ip_bytes_sent, p.ip_bytes_received) if use_ip else (p.bytes_sent, p.bytes_received)
        ibs, ibr = p.ip_bytes_sent, p.ip_bytes_received
        tl_flip = False
        if given and remote in given and dev not in given and dev is not None:
            dev, remote = remote, dev
            ps, pr, bs, br, ibs, ibr = pr, ps, br, bs, ibr, ibs
            tl_flip = True
        d = dests.get(remote)
        if d is None:
            d = dests[remote] = Destination(address=remote)
        counts = (p.flows, ps, pr, bs, br, ibs, ibr)
        _add_counts(d, counts)
        d.first_seen = _min(d.first_seen, p.first_seen)
        d.last_seen = _max(d.last_seen, p.last_seen)
        for key in p.ports:
            port = port_label(key)
            if port not in d.ports:
                d.ports.append(port)
        if dev is not None and dev not in d.devices:
            d.devices.append(dev)
        if app and app not in d.apps:
            d.apps.append(app)
        l2b[remote] = l2b.get(remote, False) or p.l2_broadcast
        tl = timeline.setdefault(remote, {})
        for bk, (s, r) in p.timeline.items():
            slot = tl.setdefault(bk, [0, 0])
            slot[0] += r if tl_flip else s
            slot[1] += s if tl_flip else r
        if dev is not None:
            v = devs.get(dev)
            if v is None:
                v = devs[dev] = DeviceSummary(address=dev)
            _add_counts(v, counts)
            v.first_seen = _min(v.first_seen, p.first_seen)
            v.last_seen = _max(v.last_seen, p.last_seen)
            dev_remotes.setdefault(dev, set()).add(remote)
            if app and app not in v.apps:
                v.apps.append(app)
        if app:
            a = apps.get(app)
            if a is None:
                a = apps[app] = AppSummary(app=app)
            _add_counts(a, counts)
            if remote not in a.destinations:
                a.destinations.append(remote)
    for addr, d in dests.items():
        d.scope = scope_of(addr, l2b.get(addr, False))
        d.hostnames = list(engine.names.get(addr, {}))
        d.concealment = list(engine.concealment.get(addr, {}))
        d.ports.sort(key=_port_key)
    for dev, v in devs.items():
        v.destinations = len(dev_remotes.get(dev, ()))
    res.destinations = sorted(dests.values(), key=lambda d: (-(d.bytes_sent + d.bytes_received), -d.flows, d.address))
    res.device_summaries = sorted(devs.values(), key=lambda v: (-(v.bytes_sent + v.bytes_received), v.address))
    res.devices = [v.address for v in res.device_summaries]
    res.app_summaries = sorted(apps.values(), key=lambda a: (-(a.bytes_sent + a.bytes_received), a.app))
    b = engine.bucket
    res.timeline = {addr: [(bk * b, s, r) for bk, (s, r) in sorted(tl.items())] for addr, tl in timeline.items() if tl}
    firsts = [d.first_seen for d in res.destinations if d.first_seen is not None]
    lasts = [d.last_seen for d in res.destinations if d.last_seen is not None]
    if len(infos) == 1 and firsts:
        infos[0].first_seen, infos[0].last_seen = min(firsts), max(lasts)
    return res


def _port_key(p: str) -> tuple[str, int]:
    proto, _, num = p.partition("/")
    return (proto, int(num) if num.isdigit() else -1)


def _add_counts(t: Destination | DeviceSummary | AppSummary, counts: tuple[int, ...]) -> None:
    """Add (flows, packets sent/received, bytes sent/received, IP bytes sent/received) to a summary."""
    flows, ps, pr, bs, br, ibs, ibr = counts
    t.flows += flows
    t.packets_sent += ps
    t.packets_received += pr
    t.bytes_sent += bs
    t.bytes_received += br
    t.ip_bytes_sent += ibs
    t.ip_bytes_received += ibr


def _min(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


__all__ = ["traffic"]
