"""Turn record dataclasses into plain JSON-ready dicts (dates as ISO 8601 UTC)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any


def iso(value: datetime | date | None) -> str | None:
    """ISO 8601 in UTC with a trailing Z; None stays None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value.isoformat()


# Public field names per dataclass type: looked up once, since plain() runs for every field of every record.
_FIELDS: dict[type, tuple[str, ...]] = {}
_SCALARS = frozenset({str, int, float, bool, type(None)})


def plain(value: Any) -> Any:
    """Recursively convert dataclasses, dates, enums, sets and tuples to JSON types."""
    cls = type(value)
    if cls in _SCALARS:
        return value
    names = _FIELDS.get(cls)
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(value) if not f.name.startswith("_"))
    if names is not None:
        return {name: plain(getattr(value, name)) for name in names}
    if isinstance(value, (datetime, date)):
        return iso(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return [plain(v) for v in sorted(value, key=repr)]
    return value
