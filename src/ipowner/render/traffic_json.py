"""Traffic as one JSON document (``ipowner.traffic/3``) or as JSON Lines, one destination per line.

Each JSON Lines row carries the result's ``byte_kind``, so that a line read alone says what its bytes count.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from ipowner.model.traffic import SCHEMA_TRAFFIC, Destination, TrafficResult
from ipowner.render.json import write_json, write_jsonl


def destination_rows(result: TrafficResult, destinations: Iterable[Destination] | None = None) -> Iterator[dict[str, Any]]:
    """Every destination (of the result, or ``destinations`` given apart) as its JSON object, with the
    result's ``byte_kind``."""
    for d in result.destinations if destinations is None else destinations:
        row = d.to_dict()
        row["byte_kind"] = result.byte_kind
        yield row


def write_traffic_json(result: TrafficResult, stream: TextIO) -> None:
    write_json(result.to_dict(), stream)


def write_traffic_jsonl(result: TrafficResult, stream: TextIO) -> None:
    write_jsonl(destination_rows(result), SCHEMA_TRAFFIC, stream)


def write_traffic_jsonl_rows(result: TrafficResult, destinations: Iterable[Destination], stream: TextIO) -> None:
    """``write_traffic_jsonl`` for destinations given one at a time (``capture.traffic.read_traffic_rows``):
    the same lines, none held after it is written."""
    write_jsonl(destination_rows(result, destinations), SCHEMA_TRAFFIC, stream)
