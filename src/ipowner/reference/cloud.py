"""The shipped table of large cloud and CDN operators (``data/cloud-providers.json``).

Each operator is recognised by its main ASNs and by patterns on a holder's name or handle; the table
also names the public pages its ASNs are published on. Regions come only from an operator's own range
file: the shipped snapshot of them (``data/cloud-ranges.json.xz``, read here by ``read_snapshot``) or a
user's file, indexed by ``providers.cloud``; ``region_table()`` places the regions
(``data/cloud-regions.json``).
"""

from __future__ import annotations

import json
import lzma
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from ipowner.model import SourceInfo, SourceKind
from ipowner.paths import shipped, user_data_dir

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


# ---------------------------------------------------------------------------------------------------
# The providers' regions, and the shipped snapshot of their range files

REGIONS_SOURCE_ID = "table:cloud-regions"
SNAPSHOT_FILE = "cloud-ranges.json.xz"
SNAPSHOT_FORMAT = "ipowner.cloud-ranges/1"
# What is known of every shipped provider's terms (data/README.md, "Cloud range files: terms").
RANGE_FILE_TERMS = "no licence or terms stated in the file; published for anyone to download and use"
_MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class RegionPlace:
    """Where a provider's region is, as its documentation says: a country and a city or area."""

    country: str
    place: str


@dataclass(slots=True, eq=False)  # hashed by identity: one table per process
class RegionTable:
    regions: dict[str, dict[str, RegionPlace]]  # operator key -> region -> place
    sources: dict[str, str]  # operator key -> the documentation the places come from
    compiled: str | None = None

    def place(self, provider: str | None, region: str | None) -> RegionPlace | None:
        if not provider or not region:
            return None
        return self.regions.get(provider, {}).get(region)

    def source(self) -> SourceInfo:
        date = datetime.fromisoformat(self.compiled).replace(tzinfo=UTC) if self.compiled else None
        return SourceInfo(
            id=REGIONS_SOURCE_ID,
            kind=SourceKind.TABLE,
            name="ipowner cloud region table (countries and places from the providers' region documentation)",
            date=date,
            path="data/cloud-regions.json",
        )


@lru_cache(maxsize=1)
def region_table() -> RegionTable:
    """The shipped table of cloud regions (``data/cloud-regions.json``), parsed once."""
    doc = json.loads(shipped("cloud-regions.json").read_text(encoding="utf-8"))
    regions: dict[str, dict[str, RegionPlace]] = {}
    sources: dict[str, str] = {}
    for key, p in doc["providers"].items():
        regions[key] = {r: RegionPlace(v["country"], v["place"]) for r, v in p["regions"].items()}
        sources[key] = p["source"]
    return RegionTable(regions, sources, doc.get("compiled"))


@dataclass(frozen=True, slots=True)
class SnapshotSource:
    """One provider's file in the snapshot: whose, from where, of which date."""

    id: str  # "ranges:aws"
    kind: str  # the file kind ("aws", "google-cloud", "google", ...)
    provider: str  # operator key
    publisher: str  # "AWS"
    name: str  # "AWS ip-ranges.json"
    url: str
    date: datetime | None
    date_basis: str | None
    note: str | None = None


@dataclass(slots=True)
class CloudSnapshot:
    """The shipped (or a user's rebuilt) snapshot: sources, and rows (source index, prefix, region,
    service, country, city), kept as read; the provider indexes them."""

    sources: list[SnapshotSource]
    rows: list[list[Any]]
    built: str | None
    path: str


def _text(v: Any, limit: int = 200) -> str | None:
    return v if isinstance(v, str) and 0 < len(v) <= limit and v.isprintable() else None


def read_snapshot(path: Path) -> CloudSnapshot:
    """A snapshot file (``ipowner.cloud-ranges/1``, xz-compressed JSON); ``ValueError`` with the reason when
    it is not one. Rows of the wrong shape are dropped here, each row's prefix is checked by the index."""
    with lzma.open(path, "rb") as fh:
        data = fh.read(_MAX_SNAPSHOT_BYTES + 1)
    if len(data) > _MAX_SNAPSHOT_BYTES:
        raise ValueError("cloud snapshot larger than 64 MiB")
    doc = json.loads(data)
    if not isinstance(doc, dict) or doc.get("format") != SNAPSHOT_FORMAT:
        raise ValueError(f"not a cloud snapshot (format {SNAPSHOT_FORMAT} expected)")
    sources: list[SnapshotSource] = []
    for s in doc.get("sources") or []:
        if not isinstance(s, dict) or not _text(s.get("id"), 60) or not _text(s.get("provider"), 40):
            raise ValueError("cloud snapshot source of the wrong shape")
        when = _text(s.get("date"), 40)
        try:
            date = datetime.fromisoformat(when.replace("Z", "+00:00")) if when else None
        except ValueError:
            date = None
        sources.append(SnapshotSource(
            id=s["id"], kind=_text(s.get("kind"), 40) or s["provider"], provider=s["provider"],
            publisher=_text(s.get("publisher"), 60) or s["provider"], name=_text(s.get("name")) or s["id"],
            url=_text(s.get("url"), 400) or "", date=date, date_basis=_text(s.get("date_basis")),
            note=_text(s.get("note")),
        ))
    rows = [r for r in doc.get("ranges") or []
            if isinstance(r, list) and len(r) == 6 and isinstance(r[0], int) and 0 <= r[0] < len(sources)
            and isinstance(r[1], str) and all(x is None or _text(x, 80) for x in r[2:])]
    return CloudSnapshot(sources, rows, _text(doc.get("built"), 40), str(path))


def shipped_snapshot_path() -> Path:
    """The snapshot in use: the user's rebuilt one (``ipowner data update``) if there is one, else the shipped."""
    user = user_data_dir() / SNAPSHOT_FILE
    return user if user.is_file() else shipped(SNAPSHOT_FILE)
