"""Flat CSV rows for lookup records (one row per address; see docs/schema.md for the columns)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TextIO

from ipowner.model import AddressRecord
from ipowner.model.serialize import iso
from ipowner.render.csv import write_csv

if TYPE_CHECKING:
    from ipowner.lookups.lookup import LookupResult

COLUMNS = [
    "query",
    "address",
    "special",
    "special_name",
    "special_prefix",
    "looked_through",
    "looked_through_mechanism",
    "looked_through_special",
    "teredo_server",
    "location_country",
    "represented_country",
    "registered_country",
    "city",
    "subdivision",
    "accuracy_km",
    "anycast",
    "asn",
    "as_name",
    "as_network",
    "holder",
    "holder_handle",
    "holder_country",
    "holder_country_basis",
    "holder_rule",
    "holder_inferred",
    "holder_reason",
    "registry_chain",
    "registry",
    "registry_basis",
    "registry_status",
    "registry_delegated",
    "registry_country",
    "registry_opaque_id",
    "network_start",
    "network_end",
    "network_cidrs",
    "network_name",
    "network_handle",
    "abuse_email",
    "resolved_from",
    "cloud_provider",
    "cloud_region",
    "cloud_region_country",
    "cloud_region_place",
    "cloud_service",
    "errors",
    "sources",
    "credits",
]


def lookup_row(rec: AddressRecord) -> list[Any]:
    lt = rec.looked_through
    asn = rec.asn
    loc = rec.location
    h = rec.holder
    n = rec.network
    reg = rec.registry
    sources = [s for _, s in sorted(rec.sources.items())]
    return [
        rec.query,
        rec.address,
        rec.special.label if rec.special else None,
        rec.special.name if rec.special else None,
        rec.special.prefix if rec.special else None,
        lt.ipv4 if lt else None,
        lt.mechanism if lt else None,
        lt.special.label if lt and lt.special else None,
        lt.teredo_server if lt else None,
        loc.country,
        loc.represented_country,
        rec.registered_country,
        loc.city,
        loc.subdivision,
        loc.accuracy_km,
        loc.is_anycast,
        asn.number if asn else None,
        asn.name if asn else None,
        asn.network if asn else None,
        h.name if h else None,
        h.handle if h else None,
        h.country if h else None,
        h.country_basis if h else None,
        h.rule if h else None,
        h.inferred if h else None,
        h.reason if h else None,
        " > ".join(f"{c.name or c.handle}" + (f" ({c.role})" if c.role in ("nir", "sub-assignment") else "")
                   for c in rec.registry_chain) or None,
        reg.registry if reg else None,
        reg.basis_text if reg else None,
        reg.status if reg else None,
        iso(reg.delegated) if reg else None,
        reg.country if reg else None,
        reg.opaque_id if reg else None,
        n.start if n else None,
        n.end if n else None,
        n.cidrs if n else None,
        n.name if n else None,
        n.handle if n else None,
        rec.abuse.email if rec.abuse else None,
        rec.resolution.hostname if rec.resolution else None,
        *(_trait(rec, k) for k in ("cloud_provider", "cloud_region", "cloud_region_country", "cloud_region_place",
                                   "cloud_service")),
        rec.errors,
        [f"{s.id}@{iso(s.date) or 'unknown'}" for s in sources],
        list(dict.fromkeys(s.credit for s in sources if s.credit)),
    ]


def _trait(rec: AddressRecord, key: str) -> Any:
    value = rec.traits.get(key) if isinstance(rec.traits, dict) else None
    return value if isinstance(value, str) else None


def write_lookup_csv(result: LookupResult, stream: TextIO) -> None:
    """Header, then one row per record of ``result``."""
    write_csv(COLUMNS, (lookup_row(r) for r in result.records), stream)


def write_lookup_tsv(result: LookupResult, stream: TextIO) -> None:
    """The same rows as tab-separated values."""
    write_csv(COLUMNS, (lookup_row(r) for r in result.records), stream, dialect="tsv")
