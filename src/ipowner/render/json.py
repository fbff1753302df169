"""JSON and JSON Lines output: versioned documents, deterministic key order for rows."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
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


class Streamed:
    """A list of a document given as an iterable of its items, written by ``write_json_streamed`` without being
    held; ``encoded``: the items are texts already made by ``encode`` (the items of a depth-1 list)."""

    def __init__(self, items: Iterable[Any], *, encoded: bool = False) -> None:
        self.items = items
        self.encoded = encoded


def encode(value: Any) -> str:
    """One value as ``dumps`` writes it on a line of its own."""
    return _encode(value)


def _chunks(value: Any, depth: int) -> Iterator[str]:
    """``_laid_out`` piece by piece, with ``Streamed`` lists taken as the lists they stand for."""
    if isinstance(value, Streamed):
        first = True
        if depth >= _LAID_OUT_LEVELS:
            yield "["
            for item in value.items:
                if not first:
                    yield ", "
                yield item if value.encoded else _encode(item)
                first = False
            yield "]"
            return
        pad = "\n" + "  " * (depth + 1)
        for item in value.items:
            yield ("[" if first else ",") + pad
            if value.encoded:
                yield item
            else:
                yield from _chunks(item, depth + 1)
            first = False
        yield "[]" if first else "\n" + "  " * depth + "]"
        return
    if depth >= _LAID_OUT_LEVELS or not value or not isinstance(value, (dict, list)):
        yield _encode(value)
        return
    pad = "\n" + "  " * (depth + 1)
    if isinstance(value, dict):
        yield "{"
        for i, (k, v) in enumerate(value.items()):
            yield ("," if i else "") + pad + _encode(str(k)) + ": "
            yield from _chunks(v, depth + 1)
        yield "\n" + "  " * depth + "}"
    else:
        yield "["
        for i, v in enumerate(value):
            yield ("," if i else "") + pad
            yield from _chunks(v, depth + 1)
        yield "\n" + "  " * depth + "]"


def write_json_streamed(doc: dict[str, Any], stream: TextIO) -> None:
    """``write_json`` of a document whose big lists are ``Streamed``: the same text, without holding them.

    Up to 1 MiB the text is held and indented in full, as ``dumps`` does; past it, written as it comes.
    """
    held: list[str] = []
    size = 0
    pieces = _chunks(doc, 0)
    for piece in pieces:
        held.append(piece)
        size += len(piece)
        if size > _INDENTED_UP_TO:
            stream.write("".join(held))
            held = []
            for more in pieces:
                held.append(more)
                if len(held) >= 1024:
                    stream.write("".join(held))
                    held = []
            stream.write("".join(held))
            stream.write("\n")
            return
    stream.write(json.dumps(json.loads("".join(held)), ensure_ascii=True, indent=2, allow_nan=False))
    stream.write("\n")


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
