"""JSON and JSON Lines output: versioned documents, deterministic key order for rows."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, TextIO


def dumps(doc: Any) -> str:
    # ensure_ascii keeps bidi and control characters as \\u escapes, so a terminal never acts on them.
    return json.dumps(doc, ensure_ascii=True, indent=2, allow_nan=False)


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
