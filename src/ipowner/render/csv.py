"""CSV and TSV output whose cells a spreadsheet will not evaluate.

CSV is RFC 4180 (quoted where needed). TSV is the IANA ``text/tab-separated-values`` form: no quoting,
which is safe because every text cell passes through ``csv_safe``, and that writes tabs, newlines and
every other control character as visible escapes, so no cell can hold a delimiter or a line break.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from typing import Any, Literal, TextIO

from ipowner.render.escape import MAX_FIELD, csv_safe, terminal_safe

Dialect = Literal["csv", "tsv"]

# A list cell (hostnames, ports, flags) is cut per item at ``MAX_FIELD`` and as a whole at this length, so
# that 35 certificate names stay whole while a list of hostile megabyte names stays bounded.
MAX_LIST = 3500


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return csv_safe(";".join(terminal_safe(v, MAX_FIELD) for v in value), MAX_LIST)
    return csv_safe(value)


def write_csv(columns: Sequence[str], rows: Iterable[Sequence[Any]], stream: TextIO, *,
              dialect: Dialect = "csv") -> None:
    """Header then rows; every text cell passes through ``csv_safe``."""
    if dialect == "tsv":
        w = csv.writer(stream, delimiter="\t", quoting=csv.QUOTE_NONE, quotechar=None, lineterminator="\n")
    else:
        w = csv.writer(stream, lineterminator="\n")
    w.writerow(columns)
    for row in rows:
        w.writerow([_cell(v) for v in row])
