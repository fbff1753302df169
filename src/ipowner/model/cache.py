"""What the RDAP cache holds, for ``ipowner cache`` (``ipowner.cache/2``).

Version 1 wrote ``oldest``, ``newest`` and ``fetched`` as epoch seconds; version 2 writes them as
ISO 8601 UTC, like every other time. Both are read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ipowner.model.kinds import CacheRow, RdapRequestKind
from ipowner.model.serialize import Epoch, check_schema, from_plain, record_from_plain, to_plain

SCHEMA_CACHE = "ipowner.cache/2"
SCHEMA_CACHE_READ = ("ipowner.cache/1", SCHEMA_CACHE)


@dataclass(slots=True)
class CacheStats:
    """The cache file and what it holds."""

    path: str
    size_bytes: int = 0
    ttl_seconds: float = 7 * 86400.0  # how long an entry is used
    answers: int = 0  # address ranges answered
    answers_fresh: int = 0  # of which younger than the time to live
    answers_leaf: int = 0  # of which for a whole leaf (assigned) network
    answers_by_registry: dict[str, int] = field(default_factory=dict)  # registry key ("?": unknown) -> answers
    objects: dict[RdapRequestKind, int] = field(default_factory=dict)  # entities, autnums, parents by kind
    oldest: Epoch | None = None  # when the oldest answer was fetched
    newest: Epoch | None = None

    SCHEMA: ClassVar[str] = SCHEMA_CACHE

    def to_dict(self) -> dict[str, Any]:
        """The ``ipowner cache stats --format json`` document."""
        return {"schema": SCHEMA_CACHE, **to_plain(self)}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> CacheStats:
        check_schema(doc, SCHEMA_CACHE_READ)
        return record_from_plain(cls, doc, "cache")


@dataclass(slots=True)
class CachedAnswerRow:
    """An address range and the raw registry responses that answer it."""

    first: str  # first address of the range the entry answers for
    last: str
    url: str
    registry: str | None
    handle: str | None
    fetched: Epoch
    leaf: bool  # the range is a whole leaf network (else the /24 or /48 around the fetched address)
    bundle: dict[str, Any]  # the raw responses (network, referrals, the NIR's reply)

    type: ClassVar[CacheRow] = CacheRow.ANSWER
    _json_keys: ClassVar[tuple[str, ...]] = ("type", "first", "last", "url", "registry", "handle", "fetched", "leaf",
                                             "bundle")
    _json_types: ClassVar[dict[str, Any]] = {"type": CacheRow}


@dataclass(slots=True)
class CachedObjectRow:
    """An entity, autnum or parent network kept by URL (failures too: a 404 is an answer)."""

    url: str
    kind: RdapRequestKind
    fetched: Epoch
    status: int  # HTTP status, 0 for a failure without one
    body: str  # the response as received, or the reason it failed

    type: ClassVar[CacheRow] = CacheRow.OBJECT
    _json_keys: ClassVar[tuple[str, ...]] = ("type", "url", "kind", "fetched", "status", "body")
    _json_types: ClassVar[dict[str, Any]] = {"type": CacheRow}


CacheEntry = CachedAnswerRow | CachedObjectRow


@dataclass(slots=True)
class CacheExport:
    """Every cached entry: the ``ipowner cache export`` JSON Lines."""

    entries: list[CacheEntry] = field(default_factory=list)

    def lines(self) -> Iterator[dict[str, Any]]:
        for e in self.entries:
            yield {"schema": SCHEMA_CACHE, **to_plain(e)}

    @classmethod
    def from_lines(cls, lines: Iterable[Mapping[str, Any]]) -> CacheExport:
        out = cls()
        for i, line in enumerate(lines):
            check_schema(line, SCHEMA_CACHE_READ)
            kind = from_plain(CacheRow, line.get("type"), f"line {i + 1}.type")
            row_type = CachedAnswerRow if kind is CacheRow.ANSWER else CachedObjectRow
            out.entries.append(from_plain(row_type, line, f"line {i + 1}"))
        return out


@dataclass(slots=True)
class CacheImported:
    """What ``cache_import`` did with a file ``cache export`` wrote."""

    source: str  # the file, or "-" for stdin
    answers: int = 0  # answers by range imported
    objects: int = 0  # entities, autnums, parents and negative answers imported
    unchanged: int = 0  # rows the cache already held as new or newer
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> rows that failed a check
    first_skipped: str | None = None  # "line N: why" of the first row skipped

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def summary(self) -> str:
        """The one line ``ipowner cache import`` prints."""
        line = f"imported {self.answers} answers and {self.objects} objects from {self.source}"
        if self.unchanged:
            line += f"; {self.unchanged} already in the cache as new or newer"
        if self.skipped:
            why = ", ".join(f"{n} {reason}" for reason, n in sorted(self.skipped.items(), key=lambda kv: -kv[1]))
            line += f"; skipped {self.skipped_total} rows ({why}; first at {self.first_skipped})"
        return line


@dataclass(slots=True)
class CacheCleared:
    """What ``cache_clear`` removed."""

    removed: int = 0  # entries deleted
    expired_only: bool = False
    damaged: str | None = None  # set when the cache file could not be opened and was removed whole: why


__all__ = [
    "SCHEMA_CACHE",
    "CacheCleared",
    "CacheEntry",
    "CacheExport",
    "CacheImported",
    "CacheStats",
    "CachedAnswerRow",
    "CachedObjectRow",
]
