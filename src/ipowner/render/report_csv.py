"""Report as one CSV table: a ``kind`` column tells destination, rollup and provenance rows apart.

Every text cell passes through ``csv_safe`` (formula prefixes neutralised, controls made visible).
"""

from __future__ import annotations

from typing import TextIO

from ipowner.model.report import Report
from ipowner.render.csv import write_csv
from ipowner.render.report_rows import DEST_COLUMNS, destination_rows, provenance_items

EXTRA = ["destinations", "group", "key", "label", "detail"]
COLUMNS = ["kind", *DEST_COLUMNS, *EXTRA]


def write_report_csv(report: Report, stream: TextIO) -> None:
    rows = []
    for r in destination_rows(report):
        rows.append(["destination", *[r[c] for c in DEST_COLUMNS], None, None, None, None, None])
    blank = dict.fromkeys(DEST_COLUMNS)
    for group, items in report.rollups.items():
        for rank, row in enumerate(items, 1):
            vals = dict(blank, rank=rank, bytes_sent=row.bytes_sent, bytes_received=row.bytes_received, flows=row.flows)
            rows.append(["rollup", *[vals[c] for c in DEST_COLUMNS], row.destinations, group, row.key, row.label, None])
    for group, key, value, detail in provenance_items(report):
        rows.append(["provenance", *[None] * len(DEST_COLUMNS), None, group, key, value, detail])
    if report.policy is not None:
        for o in report.policy.offending:
            vals = dict(blank, address=o["address"], hostnames=o["hostnames"], bytes_sent=o["bytes_sent"], verdict=o["verdict"])
            rows.append(["policy", *[vals[c] for c in DEST_COLUMNS], None, "fail-on", o["rule"], o["value"], None])
    write_csv(COLUMNS, rows, stream)
