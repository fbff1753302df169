"""JSON and JSON Lines output: versioned documents, deterministic key order for rows."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TextIO

# ensure_ascii keeps bidi and control characters as \\u escapes, so a terminal never acts on them.
_encode = json.JSONEncoder(ensure_ascii=True, allow_nan=False).encode
_LAID_OUT_LEVELS = 2  # the document's keys and the items of its lists; each record is one line
_INDENTED_UP_TO = 1 << 20  # characters laid out: smaller documents are indented in full


def dumps(doc: Any) -> str:
    """A document indented in full when it is small; past 1 MiB, its keys and the items of its lists one
    per line, every record on a line of its own.

    One record per line lets ``grep`` find whole records of a big document and keeps the C encoder doing
    the work (``indent=`` switches to the pure-Python encoder: 2.7x slower on a 1M-packet traffic document).
    """
    text = _laid_out(doc, 0)
    if len(text) <= _INDENTED_UP_TO:
        return json.dumps(doc, ensure_ascii=True, indent=2, allow_nan=False)
    return text


def _laid_out(value: Any, depth: int) -> str:
    if depth >= _LAID_OUT_LEVELS or not value or not isinstance(value, (dict, list)):
        return _encode(value)
    pad = "\n" + "  " * (depth + 1)
    if isinstance(value, dict):
        parts = [_encode(str(k)) + ": " + _laid_out(v, depth + 1) for k, v in value.items()]
        opening, closing = "{", "}"
    else:
        parts = [_laid_out(v, depth + 1) for v in value]
        opening, closing = "[", "]"
    return opening + pad + ("," + pad).join(parts) + "\n" + "  " * depth + closing


def write_json(doc: dict[str, Any], stream: TextIO) -> None:
    """One JSON document; ``doc`` carries its own ``schema`` key."""
    stream.write(dumps(doc))
    stream.write("\n")


def write_lines(lines: Iterable[dict[str, Any]], stream: TextIO) -> None:
    """One JSON object per line, as given (each line carries its own ``schema``)."""
    for line in lines:
        stream.write(json.dumps(line, ensure_ascii=True, allow_nan=False, separators=(",", ":")))
        stream.write("\n")


def write_jsonl(rows: Iterable[dict[str, Any]], schema: str, stream: TextIO) -> None:
    """One JSON object per line, each carrying the schema version first."""
    write_lines(({"schema": schema, **row} for row in rows), stream)
