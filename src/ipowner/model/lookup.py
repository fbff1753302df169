"""The result of ``ipowner.lookup()``: records, errors, sources and what RDAP did (``ipowner.lookup/2``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from ipowner._version import __version__
from ipowner.exitcodes import ExitCode, combine
from ipowner.model.address import SCHEMA_LOOKUP, SCHEMA_LOOKUPS_READ, AddressRecord
from ipowner.model.kinds import ErrorKind, RdapRequestKind
from ipowner.model.serialize import check_schema, from_plain, record_from_plain, to_plain
from ipowner.model.sources import SourceInfo


@dataclass(slots=True)
class Tool:
    """The program that wrote a document."""

    name: str = "ipowner"
    version: str = __version__


@dataclass(slots=True)
class QueryError:
    """Something the user asked about that could not be answered, or a data source that failed."""

    query: str | None  # the input as given; None for a problem not tied to one input (a bad database)
    kind: ErrorKind
    message: str  # one line, naming the input

    def to_dict(self) -> dict[str, Any]:
        return to_plain(self)


@dataclass(slots=True)
class RdapBootstrap:
    """The IANA bootstrap files an RDAP run used."""

    source: str  # a folder, a URL or "shipped snapshot"
    published: dict[str, str] = field(default_factory=dict)  # file -> IANA's publication time, as IANA writes it
    fetched: datetime | None = None  # when a refreshed copy was fetched


@dataclass(slots=True)
class RdapRun:
    """What the RDAP provider did in one lookup run."""

    addresses: int = 0  # distinct addresses asked
    from_cache: int = 0  # answered by a network cached by an earlier run
    deduplicated: int = 0  # answered by a network fetched earlier in the same run
    queried: int = 0  # addresses that needed a network query
    failed: int = 0
    not_cached: int = 0  # offline and not in the cache
    offline: bool = False  # cache only, no request made
    requests: dict[RdapRequestKind, int] = field(default_factory=dict)  # HTTP requests sent, by kind
    retries: int = 0
    rate_limited: int = 0  # 429 answers
    elapsed_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    bootstrap: RdapBootstrap | None = None  # None when no query was needed
    # Not written in the document (its keys are ``_json_keys``): the failed addresses by kind of failure
    # ({"no registry object (404)": 3}) and how many of those a cached "no such object" answered, for the
    # run's summary line. Each address's own reason is in its record's ``errors``.
    failures: dict[str, int] = field(default_factory=dict)
    negative_cached: int = 0

    _json_keys: ClassVar[tuple[str, ...]] = (
        "addresses", "from_cache", "deduplicated", "queried", "failed", "not_cached", "offline", "requests",
        "requests_total", "retries", "rate_limited", "elapsed_seconds", "notes", "bootstrap",
    )

    @property
    def requests_total(self) -> int:
        return sum(self.requests.values())

    def to_dict(self) -> dict[str, Any]:
        return to_plain(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RdapRun:
        """From the JSON object (or ``RunStats.to_dict()``: the same keys)."""
        run = record_from_plain(cls, data, "rdap")
        # Every kind is written, zeros included, in the kinds' order.
        run.requests = {k: run.requests.get(k, 0) for k in RdapRequestKind} | run.requests
        return run


@dataclass(slots=True)
class NetworkBlock:
    """One stretch of a looked-up network with the same facts in the databases (adjacent database networks
    with equal facts are one block)."""

    first: str
    last: str
    prefix: str | None  # the block as one CIDR, when it is one
    addresses: int
    special: str | None = None  # the IANA special-purpose label: nothing further is asked about it
    country: str | None = None  # location
    registered_country: str | None = None
    asn: int | None = None  # the AS that announces it
    as_name: str | None = None
    sources: list[str] = field(default_factory=list)  # SourceInfo ids of these facts


@dataclass(slots=True)
class RegistryObject:
    """A registry object (RDAP IP network) a looked-up network lies in, or partly in."""

    first: str
    last: str
    handle: str | None = None
    name: str | None = None
    holder: str | None = None
    holder_country: str | None = None
    registry: str | None = None
    covers_network: bool = False  # the object holds the whole looked-up network
    source: str | None = None  # SourceInfo id


@dataclass(slots=True)
class NetworkTally:
    """Addresses of a looked-up network by one value (an AS, a country, a holder); ``key`` None: unknown."""

    key: str | None
    name: str | None
    addresses: int
    blocks: int


@dataclass(slots=True)
class NetworkSummary:
    """A CIDR block or range answered as a network: what the known ranges inside it say (``lookup``)."""

    query: str  # as given
    network: str  # the CIDR, or "first-last" for a range that is no single CIDR
    version: int
    first: str
    last: str
    addresses: int  # addresses in the network
    summarised: int  # addresses the blocks cover (fewer when the walk stopped at its cap)
    complete: bool  # every address of the network is in a block
    blocks: list[NetworkBlock] = field(default_factory=list)
    by_asn: list[NetworkTally] = field(default_factory=list)
    by_country: list[NetworkTally] = field(default_factory=list)
    by_registered_country: list[NetworkTally] = field(default_factory=list)
    registry_objects: list[RegistryObject] = field(default_factory=list)
    by_holder: list[NetworkTally] = field(default_factory=list)  # addresses per holder of the registry objects
    notes: list[str] = field(default_factory=list)  # caps reached, objects not known offline


@dataclass(slots=True)
class LookupResult:
    """Records, errors, sources and the RDAP run of one lookup (``ipowner.lookup/2``)."""

    records: list[AddressRecord] = field(default_factory=list)  # input order; a hostname gives one per answer
    errors: list[QueryError] = field(default_factory=list)  # inputs not answered, and data-source problems
    sources: list[SourceInfo] = field(default_factory=list)  # every source consulted, sorted by id
    generated: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    rdap: RdapRun | None = None  # the RDAP run: requests by kind, cache hits, offline (None: not used)
    tool: Tool = field(default_factory=Tool)
    networks: list[NetworkSummary] = field(default_factory=list)  # CIDRs and ranges, in input order

    SCHEMA: ClassVar[str] = SCHEMA_LOOKUP
    _json_keys: ClassVar[tuple[str, ...]] = ("generated", "tool", "records", "networks", "errors", "sources",
                                             "rdap")
    _added_keys: ClassVar[tuple[str, ...]] = ("networks",)  # within lookup/1: earlier documents lack it

    @property
    def problems(self) -> list[str]:
        """Every error and every per-record error, as one-line messages."""
        out = [e.message for e in self.errors]
        for rec in self.records:
            out += [f"{rec.query} ({rec.address}): {m}" if rec.query != rec.address else f"{rec.address}: {m}"
                    for m in rec.errors]
        return out

    @property
    def exit_code(self) -> ExitCode:
        """0 all answered, 1 nothing answered, 4 partial (some inputs, records or sources failed)."""
        failed = len(self.errors) + sum(1 for r in self.records if r.errors)
        return combine(answered=len(self.records) + len(self.networks), failed=failed)

    def to_dict(self) -> dict[str, Any]:
        """The ``ipowner.lookup/2`` JSON document (docs/schema.md)."""
        return {"schema": SCHEMA_LOOKUP, **to_plain(self)}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> LookupResult:
        check_schema(doc, SCHEMA_LOOKUPS_READ)
        return record_from_plain(cls, doc, "lookup")

    def lines(self) -> Iterable[dict[str, Any]]:
        """The JSON Lines form: one record per line, each with the schema first and its own sources."""
        for r in self.records:
            yield {"schema": SCHEMA_LOOKUP, **r.to_dict()}

    @classmethod
    def from_lines(cls, lines: Iterable[Mapping[str, Any]]) -> LookupResult:
        """A result from its JSON Lines form: the records, and the sources they name (errors went to stderr)."""
        res = cls()
        sources: dict[str, SourceInfo] = {}
        for i, line in enumerate(lines):
            check_schema(line, SCHEMA_LOOKUPS_READ)
            rec = from_plain(AddressRecord, line, f"line {i + 1}")
            res.records.append(rec)
            sources.update(rec.sources)
        res.sources = [sources[k] for k in sorted(sources)]
        return res


__all__ = ["LookupResult", "NetworkBlock", "NetworkSummary", "NetworkTally", "QueryError", "RdapBootstrap", "RdapRun",
           "RegistryObject", "Tool"]
