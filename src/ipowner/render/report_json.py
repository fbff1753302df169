"""Report as one JSON document (schema ``ipowner.report/3``) or as JSON Lines.

JSONL: a ``provenance`` line, one ``destination`` line per destination in rank order, one
``rollup`` line per rollup row, then a ``policy`` line when ``--fail-on`` was given; each line
carries ``schema`` and ``kind`` (``Report.lines``). ASCII-only output: control and bidi characters
stay \\u escapes.
"""

from __future__ import annotations

from typing import TextIO

from ipowner.model.report import Report
from ipowner.render.json import write_json, write_lines


def write_report_json(report: Report, stream: TextIO) -> None:
    write_json(report.to_dict(), stream)


def write_report_jsonl(report: Report, stream: TextIO) -> None:
    write_lines(report.lines(), stream)
