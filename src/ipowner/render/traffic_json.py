"""Traffic as one JSON document (``ipowner.traffic/3``) or as JSON Lines, one destination per line.

Each JSON Lines row carries the result's ``byte_kind``, so that a line read alone says what its bytes count.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TextIO

from ipowner.model.traffic import SCHEMA_TRAFFIC, TrafficResult
from ipowner.render.json import write_json, write_jsonl


def destination_rows(result: TrafficResult) -> Iterator[dict[str, Any]]:
    """Every destination as its JSON object, with the result's ``byte_kind``."""
    for d in result.destinations:
        row = d.to_dict()
        row["byte_kind"] = result.byte_kind
        yield row


def write_traffic_json(result: TrafficResult, stream: TextIO) -> None:
    write_json(result.to_dict(), stream)


def write_traffic_jsonl(result: TrafficResult, stream: TextIO) -> None:
    write_jsonl(destination_rows(result), SCHEMA_TRAFFIC, stream)
