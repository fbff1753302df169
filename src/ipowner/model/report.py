"""The ownership and jurisdiction report: destinations with their judgement, rollups, provenance.

A report keeps three facts apart for every destination: where the server is (location), who
holds the address space (holder) and who registered it (registry). Each ``DestinationReport`` is
made of the observed ``Destination``, the looked-up ``AddressRecord`` and the ``Jurisdiction``
judged from it. ``Report.to_dict()`` is the versioned JSON document (schema ``ipowner.report/3``, see
docs/schema.md) and ``Report.from_json`` reads it back: `ipowner diff` reads a saved one, so an old
report keeps the answers of its day.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypedDict

from ipowner.errors import DocumentError
from ipowner.model.address import AddressRecord
from ipowner.model.counts import Counts
from ipowner.model.kinds import ByteKind, Flag, HolderRule, RegistryBasis, ReportLine, RollupGroup, Scope
from ipowner.model.serialize import (
    Epoch,
    check_schema,
    epoch_iso,
    epoch_of,
    from_plain,
    iso,
    json_keys,
    record_from_plain,
    to_plain,
)
from ipowner.model.sources import SourceInfo
from ipowner.model.traffic import Destination, Hostname, InputInfo

SCHEMA_REPORT = "ipowner.report/3"
SCHEMA_REPORTS_READ = ("ipowner.report/3", "ipowner.report/2", "ipowner.report/1")  # /2: holder_rule had four values; /1: registry_basis two

# Flags a judgement can raise (the names older code imports; the values are ``Flag``'s).
FLAG_HOLDER_ABROAD = Flag.HOLDER_ABROAD
FLAG_REGISTERED_ABROAD = Flag.REGISTERED_ABROAD
FLAG_HOLDER_UNKNOWN = Flag.HOLDER_UNKNOWN
FLAG_LOCATION_UNKNOWN = Flag.LOCATION_UNKNOWN
FLAG_HOLDER_INFERRED = Flag.HOLDER_INFERRED


@dataclass(slots=True)
class CloudInfo:
    """A cloud or CDN provider recognised for a destination, and how."""

    key: str  # "aws", "google", ... (data/cloud-providers.json)
    name: str  # "Amazon Web Services"
    company: str  # "Amazon"
    country: str | None  # the company's home country
    basis: str  # "asn:16509" | "holder:<name>" | "ranges:<file>"
    region: str | None = None  # from the provider's range file (the shipped snapshot or a user's file)
    service: str | None = None
    source: str | None = None  # SourceInfo.id
    region_country: str | None = None  # where the region is (the region table, or the provider's geofeed)
    region_place: str | None = None  # the city or area the provider names for the region
    publisher: str | None = None  # who published the range file ("AWS")
    file_date: datetime | None = None  # the range file's own date
    statement: str | None = None  # "provider's range file" | "inferred from routing (...)" | "holder name"


@dataclass(slots=True)
class Jurisdiction:
    """The facts that decide which countries' law reaches one destination, kept apart."""

    location_country: str | None = None  # geolocated country (None for anycast or unknown)
    location: str = "unknown"  # what a reader sees: a country name, "anycast, no single location", "unknown"
    anycast: bool = False
    represented_country: str | None = None
    holder: str | None = None
    holder_handle: str | None = None
    holder_country: str | None = None
    holder_inferred: bool = False
    holder_rule: HolderRule | None = None
    registry: str | None = None  # the RIR, e.g. "APNIC"
    registry_country: str | None = None
    registry_basis: RegistryBasis | None = None
    registry_date: datetime | None = None  # the date of the basis (a delegation file's end date, a response's retrieval)
    registry_evidence: str | None = None  # the basis in words, e.g. "APNIC, delegation statistics of 2026-06-17"
    registry_stale: bool = False  # the basis is older than its stated age (docs/data.md)
    registry_uncertain: str | None = None  # why the registry named may not be the one that holds the block
    nir: str | None = None  # a national registry under the RIR, e.g. "CNNIC"
    nir_country: str | None = None
    registered_country: str | None = None  # the address block's registration country (from the newest dated source)
    registered_country_date: datetime | None = None  # the date of that source
    registered_country_basis: str | None = None  # that source in words, with its date
    registered_country_other: str | None = None  # an older source that disagrees: "DE per RIPE NCC delegation statistics of 2014-06-30, stale"
    asn: int | None = None
    as_name: str | None = None
    as_country: str | None = None
    cloud: CloudInfo | None = None
    verdict: str = ""
    flags: list[Flag] = field(default_factory=list)


@dataclass(slots=True)
class DestinationReport:
    """One destination of a report: what was observed, what was looked up, and the judgement."""

    destination: Destination  # hostnames, ports, devices and apps sorted for the report
    record: AddressRecord | None = None  # None for peers that were not looked up
    jurisdiction: Jurisdiction = field(default_factory=Jurisdiction)
    domains: list[str] = field(default_factory=list)  # registered domains of the hostnames (Public Suffix List)

    # The document's keys: the destination's (without the IP-level counts and the concealment list,
    # which a report does not show), then the report's own.
    _json_keys: ClassVar[tuple[str, ...]] = (
        "address", "scope", "flows", "packets_sent", "packets_received", "bytes_sent", "bytes_received",
        "first_seen", "last_seen", "hostnames", "domains", "ports", "devices", "apps", "jurisdiction", "lookup",
    )

    @classmethod
    def of(cls, destination: Destination, record: AddressRecord | None = None, *,
           domains: Iterable[str] = ()) -> DestinationReport:
        """The report's view of ``destination``: its lists in a stable order (the destination is not changed)."""
        d = destination
        shown = dataclasses.replace(
            d,
            hostnames=sorted(d.hostnames, key=lambda h: (h.name, h.source, h.concealment or "")),
            ports=sorted(d.ports),
            devices=sorted(d.devices),
            apps=sorted(d.apps),
            concealment=list(d.concealment),
        )
        return cls(destination=shown, record=record, domains=list(domains))

    # What the destination observed, as attributes of the report row (renderers and policies read these).
    @property
    def address(self) -> str:
        return self.destination.address

    @property
    def scope(self) -> Scope:
        return self.destination.scope

    @property
    def counts(self) -> Counts:
        return self.destination.counts()

    @property
    def flows(self) -> int:
        return self.destination.flows

    @property
    def packets_sent(self) -> int:
        return self.destination.packets_sent

    @property
    def packets_received(self) -> int:
        return self.destination.packets_received

    @property
    def bytes_sent(self) -> int:
        return self.destination.bytes_sent

    @property
    def bytes_received(self) -> int:
        return self.destination.bytes_received

    @property
    def first_seen(self) -> Epoch | None:
        return self.destination.first_seen

    @property
    def last_seen(self) -> Epoch | None:
        return self.destination.last_seen

    @property
    def hostnames(self) -> list[Hostname]:
        return self.destination.hostnames

    @property
    def ports(self) -> list[str]:
        return self.destination.ports

    @property
    def devices(self) -> list[str]:
        return self.destination.devices

    @property
    def apps(self) -> list[str]:
        return self.destination.apps

    @property
    def lookup(self) -> AddressRecord | None:
        """The full ``ipowner.lookup/2`` record the judgement was made from (the document's ``lookup`` key)."""
        return self.record

    def to_dict(self) -> dict[str, Any]:
        return to_plain(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DestinationReport:
        where = f"destination {data.get('address')}"
        dest = from_plain(Destination, {k: v for k, v in data.items() if k not in ("lookup", "jurisdiction")}, where)
        for h in dest.hostnames:  # the report does not carry the list: it is the hostnames' labels
            if h.concealment is not None and h.concealment not in dest.concealment:
                dest.concealment.append(h.concealment)
        return cls(
            destination=dest,
            record=from_plain(AddressRecord | None, data.get("lookup"), f"{where}.lookup"),
            jurisdiction=from_plain(Jurisdiction, data.get("jurisdiction") or {}, f"{where}.jurisdiction"),
            domains=from_plain(list[str], data.get("domains") or [], f"{where}.domains"),
        )


@dataclass(slots=True)
class RollupRow(Counts):
    """One row of a rollup: the destinations sharing one key (a country, a holder, an AS...) summed."""

    key: str  # the grouping value ("" when unknown)
    label: str  # what a reader sees
    destinations: int = 0

    # A rollup shows bytes and flows; the packet and IP-level counts are summed but not written.
    _json_keys: ClassVar[tuple[str, ...]] = ("key", "label", "bytes_sent", "bytes_received", "flows", "destinations")

    def to_dict(self) -> dict[str, Any]:
        return to_plain(self)


@dataclass(slots=True)
class DataSourceNote:
    """A data source of the report, with its age relative to the capture."""

    source: SourceInfo
    age_days: float | None = None  # data date minus capture date (positive: data newer than the capture)
    warning: str | None = None

    @classmethod
    def _json_shape(cls) -> list[tuple[str, Any]]:
        return [*json_keys(SourceInfo), ("age_days", float | None), ("warning", str | None)]

    def to_dict(self) -> dict[str, Any]:
        """The source's own keys, then ``age_days`` and ``warning``."""
        return {**self.source.to_dict(), "age_days": self.age_days, "warning": self.warning}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DataSourceNote:
        return cls(
            source=from_plain(SourceInfo, {k: v for k, v in data.items() if k not in ("age_days", "warning")},
                              "data source"),
            age_days=from_plain(float | None, data.get("age_days"), "data source.age_days"),
            warning=from_plain(str | None, data.get("warning"), "data source.warning"),
        )


@dataclass(slots=True)
class Provenance:
    """Where a report came from: tool, time, options, inputs, capture span, data sources and credits."""

    tool: str = "ipowner"
    tool_version: str = ""
    generated: datetime | None = None
    command_line: list[str] | None = None
    offline: bool = False
    inputs: list[InputInfo] = field(default_factory=list)
    capture_start: Epoch | None = None
    capture_end: Epoch | None = None
    byte_kind: ByteKind = ByteKind.FRAME
    data_sources: list[DataSourceNote] = field(default_factory=list)
    credits: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return to_plain(self)


ROLLUP_KINDS = tuple(g.value for g in RollupGroup)


class PolicyHit(TypedDict):
    """One destination breaking one ``--fail-on`` rule."""

    address: str
    hostnames: list[str]
    rule: str  # as given, e.g. "location:CN"
    value: str  # the offending value
    bytes_sent: int
    verdict: str


@dataclass(slots=True)
class PolicyResult:
    """The ``--fail-on`` gate: the rules given and the destinations that broke them."""

    rules: list[str] = field(default_factory=list)
    offending: list[PolicyHit] = field(default_factory=list)

    _json_keys: ClassVar[tuple[str, ...]] = ("rules", "fired", "offending")

    @property
    def fired(self) -> bool:
        return bool(self.offending)

    def to_dict(self) -> dict[str, Any]:
        return to_plain(self)


# (bucket start, bytes sent, bytes received)
TimelinePoint = tuple[Epoch, int, int]


class Totals(TypedDict):
    """Sums over a report's internet destinations."""

    destinations: int
    bytes_sent: int
    bytes_received: int
    flows: int


@dataclass(slots=True)
class Report:
    """Destinations with their judgement, rollups, timelines and provenance (``ipowner.report/3``)."""

    provenance: Provenance = field(default_factory=Provenance)
    destinations: list[DestinationReport] = field(default_factory=list)  # ranked by bytes sent
    rollups: dict[str, list[RollupRow]] = field(default_factory=dict)  # RollupGroup value -> rows
    timeline: list[TimelinePoint] = field(default_factory=list)  # all internet destinations
    timeline_by_location: dict[str, list[TimelinePoint]] = field(default_factory=dict)
    timeline_bucket: float = 60.0
    warnings: list[str] = field(default_factory=list)
    partial: bool = False
    policy: PolicyResult | None = None

    SCHEMA: ClassVar[str] = SCHEMA_REPORT
    _json_keys: ClassVar[tuple[str, ...]] = (
        "provenance", "partial", "warnings", "totals", "destinations", "rollups", "timeline_bucket", "timeline",
        "timeline_by_location", "policy",
    )
    _json_types: ClassVar[dict[str, Any]] = {"rollups": dict[RollupGroup, list[RollupRow]]}

    @property
    def internet(self) -> list[DestinationReport]:
        return [d for d in self.destinations if d.scope == Scope.INTERNET]

    def totals(self) -> Totals:
        total = Counts()
        internet = self.internet
        for d in internet:
            total.add(d.destination)
        return {"destinations": len(internet), "bytes_sent": total.bytes_sent,
                "bytes_received": total.bytes_received, "flows": total.flows}

    def to_dict(self) -> dict[str, Any]:
        """The ``ipowner.report/3`` document."""
        return {"schema": SCHEMA_REPORT, **to_plain(self)}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Report:
        """A saved report document back into the model: ``Report.from_json(doc).to_dict() == doc``."""
        check_schema(doc, SCHEMA_REPORTS_READ)
        if not isinstance(doc.get("destinations"), list):
            raise DocumentError("report", "no destinations list")
        return record_from_plain(cls, {k: v for k, v in doc.items() if k != "totals"}, "report")

    def lines(self) -> Iterator[dict[str, Any]]:
        """The JSON Lines form: a provenance line (with totals, partial, warnings), one line per destination
        with its rank, one per rollup row with its group and rank, and a policy line when a gate was given."""
        yield self.provenance_line(self.totals())
        for rank, d in enumerate(self.destinations, 1):
            yield destination_line(rank, d.to_dict())
        for group, rows in self.rollups.items():
            for rank, row in enumerate(rows, 1):
                yield rollup_line(str(group), rank, row)
        if self.policy is not None:
            yield policy_line(self.policy)

    def provenance_line(self, totals: Totals) -> dict[str, Any]:
        """The first line of the JSON Lines form (``totals`` given: a streamed report sums them elsewhere)."""
        return {"schema": SCHEMA_REPORT, "kind": ReportLine.PROVENANCE.value, **self.provenance.to_dict(),
                "totals": totals, "partial": self.partial, "warnings": list(self.warnings)}

    @classmethod
    def from_lines(cls, lines: Iterable[Mapping[str, Any]]) -> Report:
        """A report from its JSON Lines form. The lines carry no timeline: it stays empty."""
        rep = cls()
        for i, line in enumerate(lines):
            where = f"line {i + 1}"
            check_schema(line, SCHEMA_REPORTS_READ)
            kind = from_plain(ReportLine, line.get("kind"), f"{where}.kind")
            body = {k: v for k, v in line.items() if k not in ("schema", "kind", "rank", "group")}
            if kind is ReportLine.PROVENANCE:
                rep.provenance = from_plain(Provenance, body, where)
                rep.partial = from_plain(bool, line.get("partial", False), f"{where}.partial")
                rep.warnings = from_plain(list[str], line.get("warnings") or [], f"{where}.warnings")
            elif kind is ReportLine.DESTINATION:
                rep.destinations.append(from_plain(DestinationReport, body, where))
            elif kind is ReportLine.ROLLUP:
                group = from_plain(RollupGroup, line.get("group"), f"{where}.group")
                rep.rollups.setdefault(group, []).append(from_plain(RollupRow, body, where))
            else:
                rep.policy = from_plain(PolicyResult, body, where)
        return rep


def destination_line(rank: int, destination: dict[str, Any]) -> dict[str, Any]:
    """A destination's line of the JSON Lines form: ``destination`` is its ``to_dict()``."""
    return {"schema": SCHEMA_REPORT, "kind": ReportLine.DESTINATION.value, "rank": rank, **destination}


def rollup_line(group: str, rank: int, row: RollupRow) -> dict[str, Any]:
    return {"schema": SCHEMA_REPORT, "kind": ReportLine.ROLLUP.value, "group": group, "rank": rank, **row.to_dict()}


def policy_line(policy: PolicyResult) -> dict[str, Any]:
    return {"schema": SCHEMA_REPORT, "kind": ReportLine.POLICY.value, **policy.to_dict()}


def _epoch_iso(t: float | None) -> str | None:
    """Kept for the renderers that import it; ``serialize.epoch_iso`` is the public name."""
    return epoch_iso(t)


__all__ = [
    "ROLLUP_KINDS",
    "SCHEMA_REPORT",
    "SCHEMA_REPORTS_READ",
    "CloudInfo",
    "DataSourceNote",
    "DestinationReport",
    "Jurisdiction",
    "PolicyHit",
    "PolicyResult",
    "Provenance",
    "Report",
    "RollupRow",
    "TimelinePoint",
    "Totals",
    "destination_line",
    "epoch_of",
    "iso",
    "policy_line",
    "rollup_line",
]
