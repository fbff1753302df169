"""The ownership and jurisdiction report: destinations with their judgement, rollups, provenance.

A report keeps three facts apart for every destination: where the server is (location), who
holds the address space (holder) and who registered it (registry). ``Report.to_dict()`` is the
versioned JSON document (schema ``ipowner.report/1``, see docs/schema.md); `ipowner diff` reads a
saved one back as it is, so an old report keeps the answers of its day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ipowner.model.address import AddressRecord
from ipowner.model.serialize import iso, plain
from ipowner.model.sources import SourceInfo
from ipowner.model.traffic import Hostname, InputInfo

SCHEMA_REPORT = "ipowner.report/1"
SCHEMA_DIFF = "ipowner.reports.diff/1"

# Flags a judgement can raise (stable strings: policy files and scripts match on them).
FLAG_HOLDER_ABROAD = "holder-country-differs-from-location"
FLAG_REGISTERED_ABROAD = "registered-country-differs-from-location"
FLAG_HOLDER_UNKNOWN = "holder-unknown"
FLAG_LOCATION_UNKNOWN = "location-unknown"
FLAG_HOLDER_INFERRED = "holder-inferred"


@dataclass(slots=True)
class CloudInfo:
    """A cloud or CDN provider recognised for a destination, and how."""

    key: str  # "aws", "google", ... (data/cloud-providers.json)
    name: str  # "Amazon Web Services"
    company: str  # "Amazon"
    country: str | None  # the company's home country
    basis: str  # "asn:16509" | "holder:<name>" | "ranges:<file>"
    region: str | None = None  # from a user-supplied range file
    service: str | None = None
    source: str | None = None  # SourceInfo.id


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
    holder_rule: str | None = None
    registry: str | None = None  # the RIR, e.g. "APNIC"
    registry_country: str | None = None
    registry_basis: str | None = None  # "registry data" (RDAP chain/network) | "IANA /8 table"
    nir: str | None = None  # a national registry under the RIR, e.g. "CNNIC"
    nir_country: str | None = None
    registered_country: str | None = None  # the address block's registration country
    asn: int | None = None
    as_name: str | None = None
    as_country: str | None = None
    cloud: CloudInfo | None = None
    verdict: str = ""
    flags: list[str] = field(default_factory=list)


@dataclass(slots=True)
class DestinationReport:
    address: str
    scope: str = "internet"
    flows: int = 0
    packets_sent: int = 0
    packets_received: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    first_seen: float | None = None
    last_seen: float | None = None
    hostnames: list[Hostname] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)  # registered domains of the hostnames (Public Suffix List)
    ports: list[str] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    apps: list[str] = field(default_factory=list)
    record: AddressRecord | None = None
    jurisdiction: Jurisdiction = field(default_factory=Jurisdiction)

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "scope": self.scope,
            "flows": self.flows,
            "packets_sent": self.packets_sent,
            "packets_received": self.packets_received,
            "bytes_sent": self.bytes_sent,
            "bytes_received": self.bytes_received,
            "first_seen": _epoch_iso(self.first_seen),
            "last_seen": _epoch_iso(self.last_seen),
            "hostnames": plain(self.hostnames),
            "domains": list(self.domains),
            "ports": list(self.ports),
            "devices": list(self.devices),
            "apps": list(self.apps),
            "jurisdiction": plain(self.jurisdiction),
            "lookup": self.record.to_dict() if self.record else None,
        }


@dataclass(slots=True)
class RollupRow:
    key: str  # the grouping value ("" when unknown)
    label: str  # what a reader sees
    bytes_sent: int = 0
    bytes_received: int = 0
    flows: int = 0
    destinations: int = 0


@dataclass(slots=True)
class DataSourceNote:
    source: SourceInfo
    age_days: float | None = None  # data date minus capture date (positive: data newer than the capture)
    warning: str | None = None


@dataclass(slots=True)
class Provenance:
    tool: str = "ipowner"
    tool_version: str = ""
    generated: datetime | None = None
    command_line: list[str] | None = None
    offline: bool = False
    inputs: list[InputInfo] = field(default_factory=list)
    capture_start: float | None = None
    capture_end: float | None = None
    byte_kind: str = "frame"
    data_sources: list[DataSourceNote] = field(default_factory=list)
    credits: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "tool_version": self.tool_version,
            "generated": iso(self.generated),
            "command_line": self.command_line,
            "offline": self.offline,
            "inputs": [plain(i) | {"first_seen": _epoch_iso(i.first_seen), "last_seen": _epoch_iso(i.last_seen)} for i in self.inputs],
            "capture_start": _epoch_iso(self.capture_start),
            "capture_end": _epoch_iso(self.capture_end),
            "byte_kind": self.byte_kind,
            "data_sources": [
                {**n.source.to_dict(), "age_days": n.age_days, "warning": n.warning} for n in self.data_sources
            ],
            "credits": list(self.credits),
        }


ROLLUP_KINDS = ("location", "holder_country", "holder", "asn", "registry", "domain", "device", "app")


@dataclass(slots=True)
class PolicyResult:
    rules: list[str] = field(default_factory=list)
    offending: list[dict[str, Any]] = field(default_factory=list)  # address, rule, value, verdict

    @property
    def fired(self) -> bool:
        return bool(self.offending)


@dataclass(slots=True)
class Report:
    provenance: Provenance = field(default_factory=Provenance)
    destinations: list[DestinationReport] = field(default_factory=list)  # ranked by bytes sent
    rollups: dict[str, list[RollupRow]] = field(default_factory=dict)  # ROLLUP_KINDS -> rows
    timeline: list[tuple[float, int, int]] = field(default_factory=list)  # (bucket start, sent, received), all destinations
    timeline_by_location: dict[str, list[tuple[float, int, int]]] = field(default_factory=dict)
    timeline_bucket: float = 60.0
    warnings: list[str] = field(default_factory=list)
    partial: bool = False
    policy: PolicyResult | None = None

    @property
    def internet(self) -> list[DestinationReport]:
        return [d for d in self.destinations if d.scope == "internet"]

    def totals(self) -> dict[str, int]:
        ds = self.internet
        return {
            "destinations": len(ds),
            "bytes_sent": sum(d.bytes_sent for d in ds),
            "bytes_received": sum(d.bytes_received for d in ds),
            "flows": sum(d.flows for d in ds),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_REPORT,
            "provenance": self.provenance.to_dict(),
            "partial": self.partial,
            "warnings": list(self.warnings),
            "totals": self.totals(),
            "destinations": [d.to_dict() for d in self.destinations],
            "rollups": {k: plain(v) for k, v in self.rollups.items()},
            "timeline_bucket": self.timeline_bucket,
            "timeline": [[_epoch_iso(t), s, r] for t, s, r in self.timeline],
            "timeline_by_location": {
                k: [[_epoch_iso(t), s, r] for t, s, r in v] for k, v in self.timeline_by_location.items()
            },
            "policy": None
            if self.policy is None
            else {"rules": self.policy.rules, "fired": self.policy.fired, "offending": self.policy.offending},
        }


def _epoch_iso(t: float | None) -> str | None:
    if t is None:
        return None
    return iso(datetime.fromtimestamp(t, tz=UTC))


def epoch_of(text: str | None) -> float | None:
    """Inverse of the ISO 8601 times written in reports."""
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

