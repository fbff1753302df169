"""The answer about one AS number (``ipowner lookup AS15169``): document ``ipowner.as/1``.

Offline: the AS's name and the address ranges the embedded data maps to it (counts, and the list), the
registration countries of those ranges, the registry whose range of AS numbers holds it (IANA's bootstrap),
and the cloud provider whose AS it is. Online (or from the RDAP cache): the registry's autnum record, its
holder and the registry chain. Every fact names its source (``sources``); what could not be answered is a
line in ``errors``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from ipowner.exitcodes import ExitCode
from ipowner.model.address import ChainLink, Holder
from ipowner.model.lookup import Tool
from ipowner.model.serialize import check_schema, record_from_plain, to_plain
from ipowner.model.sources import SourceInfo

SCHEMA_AS = "ipowner.as/1"


@dataclass(slots=True)
class CountryCount:
    """A registration country, and how many of the database's ranges for the AS it is given for."""

    country: str
    ranges: int


@dataclass(slots=True)
class AsPrefixes:
    """The address ranges the embedded data maps to the AS, merged where adjacent.

    The embedded data is per range, not per BGP announcement: these are the blocks the AS originates in that
    data, which may join or split the announced prefixes.
    """

    ipv4_ranges: int = 0
    ipv6_ranges: int = 0
    ipv4_addresses: int = 0
    ipv6_slash48s: int = 0  # IPv6 size in /48s
    prefixes: list[str] = field(default_factory=list)  # CIDR blocks, IPv4 first, in address order
    truncated: bool = False  # the list stops at a bound (the counts do not)
    source: str | None = None  # SourceInfo.id


@dataclass(slots=True)
class AsRegistry:
    """The registry that administers the AS number, and on what basis."""

    name: str | None  # "ARIN"
    basis: str  # "IANA AS number bootstrap (RDAP)" | "RDAP autnum record"
    rdap_service: str | None = None  # the registry's RDAP base URL for it
    source: str | None = None


@dataclass(slots=True)
class AsCloud:
    """The cloud or CDN provider whose AS number this is (ipowner's provider table)."""

    key: str
    name: str
    company: str
    country: str | None
    source: str | None = None


@dataclass(slots=True)
class AsRegistration:
    """What the registry's RDAP autnum record says: who registered the AS, and the chain above it."""

    handle: str | None = None
    name: str | None = None  # the AS name in the record
    first: int | None = None  # the AS range the record covers
    last: int | None = None
    country: str | None = None
    holder: Holder | None = None
    registry_chain: list[ChainLink] = field(default_factory=list)
    url: str | None = None
    source: str | None = None


@dataclass(slots=True)
class AsLookup:
    """Everything known about one AS number, with sources (``ipowner.as/1``)."""

    query: str  # as given ("AS15169")
    number: int
    special: str | None = None  # IANA's special-purpose label (private use, documentation, reserved...)
    name: str | None = None  # the AS organisation as the embedded data spells it
    name_source: str | None = None
    registry: AsRegistry | None = None
    registration_countries: list[CountryCount] = field(default_factory=list)  # most addresses first
    registration_source: str | None = None
    prefixes: AsPrefixes = field(default_factory=AsPrefixes)
    cloud: AsCloud | None = None
    registration: AsRegistration | None = None  # the RDAP autnum record (None: not asked or not answered)
    registration_note: str | None = None  # why there is no record when that is no error (offline, not cached)
    errors: list[str] = field(default_factory=list)
    sources: list[SourceInfo] = field(default_factory=list)
    offline: bool = True
    generated: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    tool: Tool = field(default_factory=Tool)

    SCHEMA: ClassVar[str] = SCHEMA_AS
    _json_keys: ClassVar[tuple[str, ...]] = (
        "generated", "tool", "query", "number", "special", "name", "name_source", "registry",
        "registration_countries", "registration_source", "prefixes", "cloud", "registration", "registration_note", "errors",
        "sources", "offline",
    )

    @property
    def answered(self) -> bool:
        return bool(self.special or self.name or self.prefixes.prefixes or self.registration or self.registry)

    @property
    def exit_code(self) -> ExitCode:
        """0 answered, 1 nothing known, 4 answered in part (something failed)."""
        if not self.answered:
            return ExitCode.FAILURE
        return ExitCode.PARTIAL if self.errors else ExitCode.OK

    def to_dict(self) -> dict[str, Any]:
        """The ``ipowner.as/1`` JSON document (docs/schema.md)."""
        return {"schema": SCHEMA_AS, **to_plain(self)}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> AsLookup:
        check_schema(doc, (SCHEMA_AS,))
        return record_from_plain(cls, doc, "as")


__all__ = ["SCHEMA_AS", "AsCloud", "AsLookup", "AsPrefixes", "AsRegistration", "AsRegistry", "CountryCount"]
