"""Traffic as tables of one kind each (CSV or TSV): destinations, then rollups and sources beside them.

``write_traffic_csv``: one row per destination; hostnames as ``name (source[/concealment])``.
``ipowner traffic -o traffic.csv`` also writes ``traffic.rollups.csv`` (per device and per app) and
``traffic.sources.csv`` (the inputs, what the byte counts count, the warnings).
"""

from __future__ import annotations

from typing import Any, TextIO

from ipowner.model.serialize import epoch_iso
from ipowner.model.traffic import TrafficResult
from ipowner.render.csv import Dialect, write_csv
from ipowner.render.traffic_json import destination_rows

COLUMNS = ("address", "scope", "flows", "packets_sent", "packets_received", "bytes_sent", "bytes_received",
           "byte_kind", "ip_bytes_sent", "ip_bytes_received", "first_seen", "last_seen", "ports", "hostnames",
           "concealment", "devices", "apps")
ROLLUP_COLUMNS = ("group", "key", "flows", "destinations", "packets_sent", "packets_received", "bytes_sent",
                  "bytes_received", "ip_bytes_sent", "ip_bytes_received", "first_seen", "last_seen", "apps")
SOURCE_COLUMNS = ("group", "key", "value", "detail")


def _cells(row: dict[str, Any]) -> list[Any]:
    row = dict(row)
    row["hostnames"] = [f"{h['name']} ({h['source']}{'/' + h['concealment'] if h['concealment'] else ''})"
                        for h in row["hostnames"]]
    return [row.get(c) for c in COLUMNS]


def write_traffic_csv(result: TrafficResult, stream: TextIO, *, dialect: Dialect = "csv") -> None:
    write_csv(COLUMNS, (_cells(r) for r in destination_rows(result)), stream, dialect=dialect)


def write_traffic_rollups_csv(result: TrafficResult, stream: TextIO, *, dialect: Dialect = "csv") -> None:
    """One row per device and one per app (PCAPdroid); a destination reached by two devices counts under each."""
    rows: list[list[Any]] = []
    for d in result.device_summaries:
        rows.append(["device", d.address, d.flows, d.destinations, d.packets_sent, d.packets_received, d.bytes_sent,
                     d.bytes_received, d.ip_bytes_sent, d.ip_bytes_received, epoch_iso(d.first_seen),
                     epoch_iso(d.last_seen), list(d.apps)])
    for a in result.app_summaries:
        rows.append(["app", a.app, a.flows, len(a.destinations), a.packets_sent, a.packets_received, a.bytes_sent,
                     a.bytes_received, a.ip_bytes_sent, a.ip_bytes_received, None, None, None])
    write_csv(ROLLUP_COLUMNS, rows, stream, dialect=dialect)


def write_traffic_sources_csv(result: TrafficResult, stream: TextIO, *, dialect: Dialect = "csv") -> None:
    """The inputs (name, SHA-256, format, records, span), what the byte counts count, and the warnings."""
    from ipowner.render.report_rows import byte_kind_text

    rows: list[list[Any]] = [["bytes", "kind", result.byte_kind, byte_kind_text(result.byte_kind)]]
    for i in result.inputs:
        span = " to ".join(x for x in (epoch_iso(i.first_seen), epoch_iso(i.last_seen)) if x)
        detail = f"{i.format}, {i.records} records" + (", partial" if i.partial else "") + (f", {span}" if span else "")
        rows.append(["input", i.name, i.sha256 or "", detail])
        rows += [["warning", i.name, w, ""] for w in i.warnings]
    rows += [["warning", "", w, ""] for w in result.warnings]
    write_csv(SOURCE_COLUMNS, rows, stream, dialect=dialect)


def write_traffic_tsv(result: TrafficResult, stream: TextIO) -> None:
    write_traffic_csv(result, stream, dialect="tsv")


def write_traffic_rollups_tsv(result: TrafficResult, stream: TextIO) -> None:
    write_traffic_rollups_csv(result, stream, dialect="tsv")


def write_traffic_sources_tsv(result: TrafficResult, stream: TextIO) -> None:
    write_traffic_sources_csv(result, stream, dialect="tsv")
