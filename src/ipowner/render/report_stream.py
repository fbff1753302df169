"""A report spooled by the DuckDB engine (``engines.report_duck.SpooledReport``) written as JSON or JSON Lines.

The same text as ``report_json`` writes for the Python engine's ``Report``: the document is the head's
``to_dict()`` with the totals, the destinations and the rollups taken from the spool as they come; the
destinations' documents are spooled already encoded for the format (``encoder``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol, TextIO

from ipowner.errors import UsageError
from ipowner.model.report import Report, RollupRow, Totals, destination_line, policy_line, rollup_line
from ipowner.render.json import Streamed, encode, write_json_streamed

FORMATS = ("json", "jsonl")


class Spooled(Protocol):
    head: Report
    totals: Totals
    groups: tuple[str, ...]

    def destination_texts(self) -> Any: ...

    def rollup_rows(self, group: str) -> Any: ...


def _line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def encoder(fmt: str) -> Callable[[dict[str, Any]], str]:
    """How a destination's ``to_dict()`` is spooled for format ``fmt`` (json or jsonl)."""
    if fmt == "json":
        return encode
    if fmt == "jsonl":
        return _line
    raise UsageError(f"the duckdb report engine writes {' and '.join(FORMATS)}, not {fmt}")


def write_spooled(report: Spooled, fmt: str, stream: TextIO) -> None:
    """Write ``report`` in ``fmt``, whose ``encoder`` spooled its destinations."""
    if fmt == "json":
        doc = report.head.to_dict()
        doc["totals"] = report.totals
        doc["destinations"] = Streamed(report.destination_texts(), encoded=True)
        doc["rollups"] = {g: Streamed(_dicts(report.rollup_rows(g))) for g in report.groups}
        write_json_streamed(doc, stream)
        return
    if fmt != "jsonl":
        encoder(fmt)  # the one-line error
    stream.write(_line(report.head.provenance_line(report.totals)) + "\n")
    for rank, text in enumerate(report.destination_texts(), 1):
        # The line's own keys, then the destination's: its spooled text without the opening brace.
        stream.write(_line(destination_line(rank, {}))[:-1] + "," + text[1:] + "\n")
    for group in report.groups:
        for rank, row in enumerate(report.rollup_rows(group), 1):
            stream.write(_line(rollup_line(group, rank, row)) + "\n")
    if report.head.policy is not None:
        stream.write(_line(policy_line(report.head.policy)) + "\n")


def _dicts(rows: Any) -> Any:
    for row in rows:
        assert isinstance(row, RollupRow)
        yield row.to_dict()
