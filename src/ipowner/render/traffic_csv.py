"""Traffic as CSV: one row per destination; hostnames as ``name (source[/concealment])``."""

from __future__ import annotations

from typing import Any, TextIO

from ipowner.model.traffic import TrafficResult
from ipowner.render.csv import write_csv
from ipowner.render.traffic_json import destination_rows

COLUMNS = ("address", "scope", "flows", "packets_sent", "packets_received", "bytes_sent", "bytes_received",
           "byte_kind", "ip_bytes_sent", "ip_bytes_received", "first_seen", "last_seen", "ports", "hostnames",
           "concealment", "devices", "apps")


def _cells(row: dict[str, Any]) -> list[Any]:
    row = dict(row)
    row["hostnames"] = [f"{h['name']} ({h['source']}{'/' + h['concealment'] if h['concealment'] else ''})"
                        for h in row["hostnames"]]
    return [row.get(c) for c in COLUMNS]


def write_traffic_csv(result: TrafficResult, stream: TextIO) -> None:
    write_csv(COLUMNS, (_cells(r) for r in destination_rows(result)), stream)
