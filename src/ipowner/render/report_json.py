"""Report as one JSON document (schema ``ipowner.report/1``) or as JSON Lines.

JSONL: a ``provenance`` line, one ``destination`` line per destination in rank order, one
``rollup`` line per rollup row, then a ``policy`` line when ``--fail-on`` was given; each line
carries ``schema`` and ``kind``. ASCII-only output: control and bidi characters stay \\u escapes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TextIO

from ipowner.model.report import SCHEMA_REPORT, Report
from ipowner.model.serialize import plain
from ipowner.render.json import write_json, write_jsonl


def write_report_json(report: Report, stream: TextIO) -> None:
    write_json(report.to_dict(), stream)


def _lines(report: Report) -> Iterator[dict[str, Any]]:
    doc = report.to_dict()
    yield {"kind": "provenance", **doc["provenance"], "totals": doc["totals"], "partial": doc["partial"],
           "warnings": doc["warnings"]}
    for rank, d in enumerate(doc["destinations"], 1):
        yield {"kind": "destination", "rank": rank, **d}
    for group, rows in report.rollups.items():
        for rank, row in enumerate(rows, 1):
            yield {"kind": "rollup", "group": group, "rank": rank, **plain(row)}
    if doc["policy"] is not None:
        yield {"kind": "policy", **doc["policy"]}


def write_report_jsonl(report: Report, stream: TextIO) -> None:
    write_jsonl(_lines(report), SCHEMA_REPORT, stream)
