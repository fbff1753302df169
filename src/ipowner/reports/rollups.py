"""Rollups: internet destinations summed per jurisdiction fact (location, holder, AS, registry, ...).

Each rollup row holds the bytes, flows and destinations of one key; a destination with several keys
(hostnames' domains, devices, apps) counts under each. Rows are ranked by bytes sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from ipowner.model.report import DestinationReport, RollupRow
from ipowner.reference.countries import country_name
from ipowner.reports.jurisdiction import ANYCAST

# The keys (key, label) a destination counts under in one rollup.
KeysOf = Callable[[DestinationReport], list[tuple[str, str]]]


def rollup(dests: Iterable[DestinationReport], keys_of: KeysOf) -> list[RollupRow]:
    """One row per key of ``keys_of``, ranked by bytes sent, then received; the unknown key last among equals."""
    rows: dict[str, RollupRow] = {}
    for d in dests:
        for key, label in keys_of(d):
            row = rows.get(key)
            if row is None:
                row = rows[key] = RollupRow(key=key, label=label)
            row.add(d.destination)
            row.destinations += 1
    return sorted(rows.values(), key=lambda r: (-r.bytes_sent, -r.bytes_received, r.key == "", r.key))


def location_keys(d: DestinationReport) -> list[tuple[str, str]]:
    j = d.jurisdiction
    if j.anycast:
        return [("anycast", ANYCAST)]
    if j.location_country:
        return [(j.location_country, country_name(j.location_country) or j.location_country)]
    return [("", "unknown")]


def location_key(d: DestinationReport) -> str:
    """The location rollup's key of a destination: a country code, "anycast" or "" (unknown)."""
    return location_keys(d)[0][0]


def holder_country_keys(d: DestinationReport) -> list[tuple[str, str]]:
    c = d.jurisdiction.holder_country
    return [(c, country_name(c) or c)] if c else [("", "unknown")]


def holder_keys(d: DestinationReport) -> list[tuple[str, str]]:
    j = d.jurisdiction
    if j.holder is None:
        return [("", "unknown")]
    label = j.holder + (" (inferred)" if j.holder_inferred else "")
    return [(j.holder_handle or j.holder, label)]


def asn_keys(d: DestinationReport) -> list[tuple[str, str]]:
    j = d.jurisdiction
    if j.asn is None:
        return [("", "unknown")]
    return [(f"AS{j.asn}", f"AS{j.asn}" + (f" {j.as_name}" if j.as_name else ""))]


def registry_keys(d: DestinationReport) -> list[tuple[str, str]]:
    j = d.jurisdiction
    if not j.registry and not j.nir:
        return [("", "unknown")]
    key = " > ".join(x for x in (j.registry, j.nir) if x)
    return [(key, key)]


def domain_keys(d: DestinationReport) -> list[tuple[str, str]]:
    return [(x, x) for x in d.domains] or [("", "(no hostname seen)")]


def device_keys(d: DestinationReport) -> list[tuple[str, str]]:
    return [(x, x) for x in d.devices]


def app_keys(d: DestinationReport) -> list[tuple[str, str]]:
    return [(x, x) for x in d.apps]


# Every rollup a report carries, in the order the renderers show them.
ROLLUPS: dict[str, KeysOf] = {
    "location": location_keys,
    "holder_country": holder_country_keys,
    "holder": holder_keys,
    "asn": asn_keys,
    "registry": registry_keys,
    "domain": domain_keys,
    "device": device_keys,
    "app": app_keys,
}


def rollups(internet: list[DestinationReport]) -> dict[str, list[RollupRow]]:
    """Every rollup of ``ROLLUPS`` over the internet destinations."""
    return {group: rollup(internet, keys_of) for group, keys_of in ROLLUPS.items()}
