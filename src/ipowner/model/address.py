"""What is known about one looked-up address.

Each populated field has an entry in ``provenance`` (dotted field path -> ``SourceInfo.id``), and
``sources`` lists those sources with their dates, so every answer can say where it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from ipowner.model.kinds import ChainRole, HolderRule, Mechanism, RegistryBasis
from ipowner.model.serialize import from_plain, plain, record_from_plain
from ipowner.model.sources import SourceInfo

# Version of the JSON document `ipowner lookup --format json|jsonl` writes (see docs/schema.md).
SCHEMA_LOOKUP = "ipowner.lookup/2"
SCHEMA_LOOKUPS_READ = ("ipowner.lookup/2", "ipowner.lookup/1")  # /1 had no registry key


@dataclass(slots=True)
class Special:
    """An address in an IANA special-purpose block (or outside allocated space)."""

    label: str  # private, loopback, link-local, shared, documentation, benchmarking, multicast, reserved, unallocated, ...
    name: str  # IANA's name of the block
    prefix: str  # the block, e.g. "10.0.0.0/8"
    rfc: str | None = None
    globally_reachable: bool | None = None


@dataclass(slots=True)
class LookedThrough:
    """An IPv4 address carried inside an IPv6 translation or tunnel address."""

    mechanism: Mechanism
    prefix: str  # the translation prefix, e.g. "64:ff9b::/96"
    ipv4: str  # the address attributed (for Teredo: the client's)
    teredo_server: str | None = None
    special: Special | None = None  # set when the embedded IPv4 is itself special-purpose


@dataclass(slots=True)
class Location:
    """Where the address is believed to be (geolocation)."""

    country: str | None = None  # ISO 3166-1 alpha-2: where the address is believed to be
    represented_country: str | None = None
    continent: str | None = None
    subdivision: str | None = None
    city: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    accuracy_km: int | None = None
    time_zone: str | None = None
    is_anycast: bool | None = None


@dataclass(slots=True)
class AsnInfo:
    """The origin AS announcing the address."""

    number: int | None = None
    name: str | None = None  # the AS organisation as the source spells it
    network: str | None = None  # the announced prefix the source matched


@dataclass(slots=True)
class Holder:
    """Who holds the address (the organisation on the most specific registry object), and the rule that named it."""

    name: str | None = None
    handle: str | None = None
    country: str | None = None
    country_basis: str | None = None  # where the country came from (registrant address, network country)
    rule: HolderRule | None = None  # the evidence rule that named the holder
    inferred: bool = False
    reason: str | None = None  # why the holder is unknown or only inferred
    evidence: list[str] = field(default_factory=list)  # handles, roles, URLs


@dataclass(slots=True)
class ChainLink:
    """One link of the registry chain IANA > RIR > NIR > holder."""

    role: ChainRole
    name: str | None
    handle: str | None = None
    url: str | None = None
    basis: str | None = None  # why this link is in the chain (the evidence)


@dataclass(slots=True)
class Network:
    """The most specific registry object covering the address."""

    start: str | None = None
    end: str | None = None
    cidrs: list[str] = field(default_factory=list)
    name: str | None = None
    handle: str | None = None
    type: str | None = None
    country: str | None = None
    registry: str | None = None
    parent_handle: str | None = None
    registration: datetime | None = None
    last_changed: datetime | None = None
    url: str | None = None


@dataclass(slots=True)
class Registration:
    """The registry of the address block as published tables state it, without asking the registry.

    From the registry's delegation statistics when a file lists the block (status, delegation date,
    country, opaque id), else from IANA's tables (the IPv4 /8 designations, the RDAP bootstrap).
    """

    registry: str  # "APNIC", "RIPE NCC"
    basis: RegistryBasis  # which table says so
    basis_date: datetime | None = None  # the date of that table (a delegation file's end date)
    stale: bool = False  # the basis is older than ipowner's stated age for it (docs/data.md)
    status: str | None = None  # allocated, assigned, available, reserved (delegation statistics only)
    delegated: datetime | None = None  # when the registry delegated the block
    country: str | None = None  # the country the delegation file lists ("EU" included)
    opaque_id: str | None = None  # the holder's opaque id in an extended delegation file
    block: str | None = None  # the block as listed: a CIDR, or "first-last" when the count is not one
    file: str | None = None  # the delegation file's name

    @property
    def basis_text(self) -> str:
        """"APNIC, delegation statistics of 2026-06-17" (", stale" when it is)."""
        when = f" of {self.basis_date.date().isoformat()}" if self.basis_date else ""
        return f"{self.registry}, {self.basis}{when}" + (", stale" if self.stale else "")


@dataclass(slots=True)
class Abuse:
    """The abuse contact the network object lists."""

    email: str | None = None
    phone: str | None = None
    handle: str | None = None
    name: str | None = None


@dataclass(slots=True)
class Resolution:
    """How a hostname query became this address."""

    hostname: str
    answers: list[str] = field(default_factory=list)
    resolver: str = "system"
    time: datetime | None = None


@dataclass(slots=True)
class AddressRecord:
    """What is known about one looked-up address, with the source of every fact."""

    query: str  # what the user asked for (an address or a hostname)
    address: str  # the address looked up, in canonical form
    special: Special | None = None
    looked_through: LookedThrough | None = None
    location: Location = field(default_factory=Location)
    registered_country: str | None = None
    asn: AsnInfo | None = None
    holder: Holder | None = None
    registry_chain: list[ChainLink] = field(default_factory=list)
    network: Network | None = None
    registry: Registration | None = None  # the registry of the block per published tables (offline)
    abuse: Abuse | None = None
    traits: dict[str, Any] = field(default_factory=dict)  # anonymizer flags, ISP, connection type, ...
    resolution: Resolution | None = None
    provenance: dict[str, str] = field(default_factory=dict)  # field path -> SourceInfo.id
    sources: dict[str, SourceInfo] = field(default_factory=dict)  # SourceInfo.id -> SourceInfo
    errors: list[str] = field(default_factory=list)  # per-address reasons something could not be answered

    _json_types: ClassVar[dict[str, Any]] = {"sources": list[SourceInfo]}  # written sorted by id

    @property
    def attributed(self) -> str:
        """The address whose facts describe this one (the embedded IPv4 for translation addresses)."""
        return self.looked_through.ipv4 if self.looked_through else self.address

    @property
    def needs_lookup(self) -> bool:
        """False for special-purpose addresses that nothing further can be learnt about."""
        if self.looked_through is not None:
            return self.looked_through.special is None
        return self.special is None

    def note(self, path: str, source: SourceInfo) -> None:
        """Record that field ``path`` came from ``source``."""
        self.provenance[path] = source.id
        self.sources.setdefault(source.id, source)

    def to_dict(self) -> dict[str, Any]:
        """One record of the ``ipowner.lookup/2`` document (docs/schema.md)."""
        d = {
            "query": self.query,
            "address": self.address,
            "special": plain(self.special),
            "looked_through": plain(self.looked_through),
            "location": plain(self.location),
            "registered_country": self.registered_country,
            "asn": plain(self.asn),
            "holder": plain(self.holder),
            "registry_chain": plain(self.registry_chain),
            "network": plain(self.network),
            "registry": plain(self.registry),
            "abuse": plain(self.abuse),
            "traits": plain(self.traits),
            "resolution": plain(self.resolution),
            "provenance": dict(sorted(self.provenance.items())),
            "sources": [s.to_dict() for _, s in sorted(self.sources.items())],
            "errors": list(self.errors),
        }
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AddressRecord:
        """The inverse of ``to_dict`` (a JSON Lines record's ``schema`` key is ignored)."""
        rec = record_from_plain(cls, {k: v for k, v in data.items() if k != "sources"}, "record")
        sources = from_plain(list[SourceInfo], data.get("sources") or [], "record.sources")
        rec.sources = {s.id: s for s in sources}
        return rec
