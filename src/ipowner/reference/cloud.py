"""The shipped table of large cloud and CDN operators (``data/cloud-providers.json``).

Each operator is recognised by its main ASNs and by patterns on a holder's name or handle; the table
also names the public pages its ASNs are published on. Regions come only from an operator's own range
file, read by ``providers.cloud``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from ipowner.model import SourceInfo, SourceKind
from ipowner.paths import shipped

TABLE_SOURCE_ID = "table:cloud-providers"


@dataclass(slots=True)
class CloudOperator:
    """A cloud or CDN operator: ``name`` is its cloud product ("Amazon Web Services"), ``company`` the firm."""

    key: str
    name: str
    company: str
    country: str | None
    asns: frozenset[int]
    patterns: list[re.Pattern[str]]
    sources: list[str] = field(default_factory=list)


@dataclass(slots=True)
class CloudTable:
    operators: list[CloudOperator]
    compiled: str | None = None
    by_asn: dict[int, CloudOperator] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for op in self.operators:
            for a in op.asns:
                self.by_asn.setdefault(a, op)

    def get(self, key: str) -> CloudOperator | None:
        return next((op for op in self.operators if op.key == key), None)

    def by_holder(self, *names: str | None) -> CloudOperator | None:
        """The first operator whose holder patterns match one of ``names`` (a holder's name or handle)."""
        for op in self.operators:
            for n in names:
                if n and any(rx.search(n) for rx in op.patterns):
                    return op
        return None

    def source(self) -> SourceInfo:
        date = datetime.fromisoformat(self.compiled).replace(tzinfo=UTC) if self.compiled else None
        return SourceInfo(
            id=TABLE_SOURCE_ID,
            kind=SourceKind.TABLE,
            name="ipowner cloud/CDN provider table (ASNs from the providers' and PeeringDB's public records)",
            date=date,
            path="data/cloud-providers.json",
        )


@lru_cache(maxsize=1)
def cloud_table() -> CloudTable:
    """The shipped table of large cloud and CDN operators, parsed once."""
    doc = json.loads(shipped("cloud-providers.json").read_text(encoding="utf-8"))
    operators = [
        CloudOperator(
            key=p["key"],
            name=p["name"],
            company=p["company"],
            country=p.get("country"),
            asns=frozenset(int(a) for a in p["asns"]),
            patterns=[re.compile(rx, re.IGNORECASE) for rx in p.get("holder_patterns", [])],
            sources=list(p.get("sources", [])),
        )
        for p in doc["providers"]
    ]
    return CloudTable(operators=operators, compiled=doc.get("compiled"))
