"""CSV output whose cells a spreadsheet will not evaluate."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from ipowner.render.escape import csv_safe


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return csv_safe(";".join(str(v) for v in value))
    return csv_safe(value)


def write_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]], stream: TextIO) -> None:
    """Header then rows; every text cell passes through ``csv_safe``."""
    w = csv.writer(stream, lineterminator="\n")
    w.writerow(columns)
    for row in rows:
        w.writerow([_cell(v) for v in row])
