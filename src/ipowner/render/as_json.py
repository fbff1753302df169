"""An AS answer as one JSON document (``ipowner.as/1``), or as one JSON Lines line."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from ipowner.render.json import write_json, write_lines

if TYPE_CHECKING:
    from ipowner.model.asn import AsLookup


def write_as_json(answer: AsLookup, stream: TextIO) -> None:
    write_json(answer.to_dict(), stream)


def write_as_jsonl(answer: AsLookup, stream: TextIO) -> None:
    write_lines([answer.to_dict()], stream)
