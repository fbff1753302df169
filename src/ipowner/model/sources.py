"""Where a fact came from: a database, a registry response, IANA's registries, the resolver."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ipowner.model.kinds import SourceKind
from ipowner.model.serialize import to_plain


@dataclass(slots=True)
class SourceInfo:
    """One data source that contributed facts to a record.

    ``id`` is the stable key that ``AddressRecord.provenance`` points at; ``date`` is the database's
    build date or the time a registry response was retrieved (UTC).
    """

    id: str  # e.g. "embedded", "mmdb:GeoLite2-City", "iana-special", "rdap:arin", "resolver"
    kind: SourceKind
    name: str  # human-readable name
    date: datetime | None = None
    path: str | None = None  # file path or URL
    licence: str | None = None
    credit: str | None = None  # attribution text that must accompany the data

    def to_dict(self) -> dict[str, Any]:
        return to_plain(self)
