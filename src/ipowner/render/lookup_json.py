"""A lookup as one JSON document (``ipowner.lookup/2``) or as JSON Lines, one record per line."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from ipowner.model import SCHEMA_LOOKUP
from ipowner.render.json import write_json, write_jsonl

if TYPE_CHECKING:
    from ipowner.lookups.lookup import LookupResult


def write_lookup_json(result: LookupResult, stream: TextIO) -> None:
    write_json(result.to_dict(), stream)


def write_lookup_jsonl(result: LookupResult, stream: TextIO) -> None:
    write_jsonl((r.to_dict() for r in result.records), SCHEMA_LOOKUP, stream)
