"""Connection logs streamed as flow-table rows: one row per record, handed on in batches, none kept.

``stream_flows`` reads Zeek logs (TSV or JSON lines), PCAPdroid CSV and generic CSV with the same
readers as ``traffic()`` (capture/formats/), but where ``traffic()`` folds records into pairs, the
``RowEngine`` here turns each record the readers report into a ``TrafficPair`` row (``flows`` 1 for a
counted connection, 0 for a record that only names a peer) and hands full batches to ``emit``. Memory
stays one batch whatever the log's size; rows of one pair repeat, and readers of the table sum them.
Captures (pcap, pcapng) are refused: their packets must be folded into flows before any row exists.
"""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import BinaryIO

from ipowner.capture.context import ReadContext
from ipowner.capture.detect import COMPRESSION_HEAD, compression
from ipowner.capture.engine import Engine, port_label, scope_of
from ipowner.capture.formats import read_input
from ipowner.capture.traffic import _compressed_outcome, _Decompressed, _Hashing
from ipowner.errors import UsageError
from ipowner.model.kinds import Concealment, HostnameSource, Scope
from ipowner.model.traffic import Hostname, InputInfo, TrafficPair

BATCH_ROWS = 65536  # rows handed to ``emit`` at a time
LOG_FORMATS = ("zeek-tsv", "zeek-json", "pcapdroid-csv", "csv")

Emit = Callable[[list[TrafficPair]], None]


class RowEngine(Engine):
    """The engine the log readers report to, turning each record into a row instead of folding it.

    A hostname a record gives for its own destination goes on that record's row; a name for another
    address (a Zeek dns.log answer) has no row to go on and is counted in ``names_left_out``.
    """

    def __init__(self, emit: Emit, *, devices: set[str], batch_rows: int = BATCH_ROWS) -> None:
        super().__init__(devices=devices)
        self.emit = emit
        self.batch_rows = batch_rows
        self.batch: list[TrafficPair] = []
        self.rows = 0
        self.names_left_out = 0
        self._scopes: dict[str, Scope] = {}  # per address seen in the current batch

    def _row(self, device: str | None, remote: str, app: str | None, proto: str, port: int | None) -> TrafficPair:
        if len(self.batch) >= self.batch_rows:
            self.flush()
        scope = self._scopes.get(remote)
        if scope is None:
            scope = self._scopes[remote] = Scope(scope_of(remote))
        row = TrafficPair(device=device, address=remote, app=app, scope=scope)
        if proto:
            row.ports = [port_label((proto, port if proto in ("tcp", "udp", "sctp") else None))]
        self.batch.append(row)
        self.rows += 1
        return row

    def add_log_pair(self, device: str | None, remote: str, app: str | None, *, proto: str, port: int | None,
                     packets_sent: int, packets_received: int, ip_bytes_sent: int, ip_bytes_received: int,
                     first: float | None, last: float | None, flows: int = 1) -> None:
        row = self._row(device, remote, app, proto, port)
        row.flows = flows
        row.packets_sent, row.packets_received = packets_sent, packets_received
        row.bytes_sent, row.bytes_received = ip_bytes_sent, ip_bytes_received  # a log's bytes are IP-level
        row.ip_bytes_sent, row.ip_bytes_received = ip_bytes_sent, ip_bytes_received
        row.first_seen = first
        row.last_seen = last if last is not None else first

    def note_peer(self, device: str | None, remote: str, *, proto: str, port: int | None, ts: float | None,
                  app: str | None = None) -> None:
        row = self._row(device, remote, app, proto, port)
        row.first_seen = row.last_seen = ts

    def add_name(self, address: str, name: str, source: str, concealment: str | None = None) -> None:
        if not name:
            return
        last = self.batch[-1] if self.batch else None
        if last is None or last.address != address:
            self.names_left_out += 1
            return
        host = Hostname(name, HostnameSource(source), Concealment(concealment) if concealment else None)
        if host not in last.hostnames:
            last.hostnames.append(host)

    def flush(self) -> None:
        """Hand the rows gathered so far to ``emit``."""
        if self.batch:
            batch, self.batch = self.batch, []
            self._scopes.clear()
            self.emit(batch)


def stream_flows(inputs: Iterable[str | os.PathLike[str]], emit: Emit, *, device: str | Iterable[str] | None = None,
                 columns: Mapping[str, str] | None = None, batch_rows: int = BATCH_ROWS) -> list[InputInfo]:
    """Read connection logs record by record, handing rows to ``emit`` in batches of ``batch_rows``.

    Returns what was read of each input (name, SHA-256, format, records, warnings, partial); an input
    that is not a connection log (a capture, text) is marked partial with a warning and skipped.
    Unreadable or partly readable inputs never raise.
    """
    devices: set[str] = set()
    for d in [device] if isinstance(device, str) else (device or []):
        try:
            devices.add(ipaddress.ip_address(d).compressed)
        except ValueError:
            raise UsageError(f"--device {d!r} is not an IP address") from None
    engine = RowEngine(emit, devices=devices, batch_rows=batch_rows)
    infos: list[InputInfo] = []
    for item in inputs:
        name = str(item)
        info = InputInfo(name=name, sha256=None, format="unknown")
        infos.append(info)
        try:
            if name == "-":
                raw: BinaryIO = sys.stdin.buffer
                close = False
            else:
                raw = open(name, "rb")  # noqa: SIM115 - closed below
                close = True
        except OSError as exc:
            info.partial = True
            info.warnings.append(f"{name}: cannot open: {exc.strerror or exc}")
            continue
        stream = _Hashing(raw)
        decompressed: _Decompressed | None = None
        ctx = ReadContext(name=name, stream=stream, engine=engine, info=info, compiled=False)
        left_out = engine.names_left_out
        try:
            head = stream.read(COMPRESSION_HEAD)
            stream.unread(head)
            kind = compression(head)
            if kind is not None:
                ctx.stream = decompressed = _Decompressed(kind, stream, info)
            read_input(ctx, columns=columns, only=LOG_FORMATS,
                       refusal="is not a connection log: only Zeek logs and CSV are streamed as rows (read it "
                               "without --stream)")
            if decompressed is not None:
                _compressed_outcome(ctx, decompressed)
            while stream.read(1 << 20):  # hash the rest of what was not read
                pass
            info.sha256 = stream.hexdigest()
        except OSError as exc:
            ctx.stop(f"read error: {exc.strerror or exc}")
        except Exception as exc:  # noqa: BLE001 - a reader bug must not lose what was read
            ctx.stop(f"reading stopped after record {info.records}: internal error ({type(exc).__name__}: {exc})")
        finally:
            if decompressed is not None:
                decompressed.close()
            stream.close()
            if close:
                raw.close()
        engine.flush()
        if engine.names_left_out > left_out:
            n = engine.names_left_out - left_out
            ctx.warn(f"{n} hostname(s) name addresses other than their record's destination and are not in the "
                     "streamed rows (read without --stream to keep them)")
    return infos


__all__ = ["BATCH_ROWS", "LOG_FORMATS", "RowEngine", "stream_flows"]
