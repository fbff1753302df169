"""The jurisdiction judgement: per destination, location, holder and registry kept apart.

Facts and their sources only, no legal conclusions. A destination's verdict is one line built
from what the lookup found, e.g. "held by Amazon (US), located in Singapore; APNIC registered the
space", and disagreements between the facts are flagged rather than resolved.

Cloud and CDN providers are recognised from the origin AS and the holder's name by a small shipped
table (data/cloud-providers.json); the region comes only from a provider's published range file
that the user supplies (``--cloud-ranges``): nothing is fetched.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from ipowner.errors import InputError
from ipowner.model import AddressRecord, RangeFact, SourceInfo
from ipowner.model.report import (
    FLAG_HOLDER_ABROAD,
    FLAG_HOLDER_INFERRED,
    FLAG_HOLDER_UNKNOWN,
    FLAG_LOCATION_UNKNOWN,
    FLAG_REGISTERED_ABROAD,
    CloudInfo,
    Jurisdiction,
)
from ipowner.paths import shipped
from ipowner.reference.countries import country_name
from ipowner.reference.iana import iana_rir  # the IPv4 /8 table (reference/iana.py)

ANYCAST = "anycast, no single location"

# Seats of the registries (where each is incorporated): RIRs, then the NIRs under APNIC and LACNIC.
REGISTRIES: dict[str, tuple[str, str, bool]] = {
    # key in upper case -> (display name, country, is_nir)
    "ARIN": ("ARIN", "US", False),
    "RIPE": ("RIPE NCC", "NL", False),
    "APNIC": ("APNIC", "AU", False),
    "LACNIC": ("LACNIC", "UY", False),
    "AFRINIC": ("AFRINIC", "MU", False),
    "CNNIC": ("CNNIC", "CN", True),
    "JPNIC": ("JPNIC", "JP", True),
    "JNIC": ("JPNIC", "JP", True),
    "KRNIC": ("KRNIC", "KR", True),
    "KISA": ("KRNIC", "KR", True),
    "TWNIC": ("TWNIC", "TW", True),
    "IDNIC": ("IDNIC", "ID", True),
    "VNNIC": ("VNNIC", "VN", True),
    "IRINN": ("IRINN", "IN", True),
    "NIC.BR": ("NIC.br", "BR", True),
    "REGISTRO.BR": ("NIC.br", "BR", True),
    "NIC MEXICO": ("NIC Mexico", "MX", True),
    "NIC-MX": ("NIC Mexico", "MX", True),
}


def registry_of(text: str | None) -> tuple[str, str | None, bool] | None:
    """Recognise a registry from a name, handle or URL; (name, country, is_nir) or None."""
    if not text:
        return None
    up = text.upper()
    # NIRs first: their handles often carry the RIR's suffix too (e.g. IRT-CNNIC-CN under APNIC).
    for key, value in sorted(REGISTRIES.items(), key=lambda kv: (not kv[1][2], -len(kv[0]))):
        if re.search(r"(?<![A-Z0-9])" + re.escape(key) + r"(?![A-Z])", up):
            return value
    return None


# ---------------------------------------------------------------------------------------------
# Cloud and CDN providers


@dataclass(slots=True)
class Provider:
    key: str
    name: str
    company: str
    country: str | None
    asns: frozenset[int]
    patterns: list[re.Pattern[str]]
    sources: list[str] = field(default_factory=list)


@dataclass(slots=True)
class CloudTable:
    providers: list[Provider]
    compiled: str | None = None
    by_asn: dict[int, Provider] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for p in self.providers:
            for a in p.asns:
                self.by_asn.setdefault(a, p)

    def get(self, key: str) -> Provider | None:
        return next((p for p in self.providers if p.key == key), None)

    def by_holder(self, *names: str | None) -> Provider | None:
        for p in self.providers:
            for n in names:
                if n and any(rx.search(n) for rx in p.patterns):
                    return p
        return None

    def source(self) -> SourceInfo:
        date = datetime.fromisoformat(self.compiled).replace(tzinfo=UTC) if self.compiled else None
        return SourceInfo(
            id="table:cloud-providers",
            kind="table",
            name="ipowner cloud/CDN provider table (ASNs from the providers' and PeeringDB's public records)",
            date=date,
            path="data/cloud-providers.json",
        )


@lru_cache(maxsize=1)
def cloud_table() -> CloudTable:
    """The shipped table of large cloud and CDN providers."""
    doc = json.loads(shipped("cloud-providers.json").read_text(encoding="utf-8"))
    providers = [
        Provider(
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
    return CloudTable(providers=providers, compiled=doc.get("compiled"))


class CloudRanges:
    """Ranges from providers' published files, indexed for longest-prefix lookup."""

    def __init__(self) -> None:
        self.sources: list[SourceInfo] = []
        self.facts: list[RangeFact] = []
        self._index: dict[tuple[int, int], dict[int, RangeFact]] = {}

    def add(self, source: SourceInfo, facts: list[RangeFact]) -> None:
        self.sources.append(source)
        for f in facts:
            self.facts.append(f)
            bits = 32 if f.version == 4 else 128
            plen = bits - (f.end - f.start + 1).bit_length() + 1
            slot = self._index.setdefault((f.version, plen), {})
            old = slot.get(f.start)
            # Several entries for one prefix (Azure lists a prefix under many tags): keep one with a region.
            if old is None or (old.region is None and f.region is not None):
                slot[f.start] = f

    def find(self, address: str) -> RangeFact | None:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return None
        value, bits = int(ip), ip.max_prefixlen
        for plen in range(bits, -1, -1):
            slot = self._index.get((ip.version, plen))
            if not slot:
                continue
            net = value & (((1 << plen) - 1) << (bits - plen)) if plen else 0
            hit = slot.get(net)
            if hit is not None:
                return hit
        return None

    def __len__(self) -> int:
        return len(self.facts)


def _fact(prefix: str, source_id: str, provider: str, region: str | None, service: str | None) -> RangeFact:
    net = ipaddress.ip_network(prefix, strict=False)
    return RangeFact(
        start=int(net.network_address),
        end=int(net.broadcast_address),
        version=net.version,
        source=source_id,
        provider=provider,
        region=region or None,
        service=service or None,
    )


def parse_cloud_ranges(path: str | Path) -> tuple[SourceInfo, list[RangeFact]]:
    """Read an AWS ip-ranges.json, a Google cloud.json or an Azure service tags file.

    The kind is recognised from the content. Raises ``InputError`` naming the file when it is
    none of these; a single malformed prefix is skipped, not fatal.
    """
    p = Path(path)
    name = str(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(name, f"cannot read cloud range file: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(name, f"not a JSON cloud range file ({exc})") from None
    if not isinstance(doc, dict):
        raise InputError(name, "not a cloud range file (expected a JSON object)")
    facts: list[RangeFact] = []
    bad = 0

    def add(prefix: Any, sid: str, provider: str, region: Any, service: Any) -> None:
        nonlocal bad
        try:
            facts.append(_fact(str(prefix), sid, provider, _s(region), _s(service)))
        except ValueError:
            bad += 1

    prefixes = doc.get("prefixes")
    if isinstance(prefixes, list) and ("createDate" in doc or any(isinstance(x, dict) and "ip_prefix" in x for x in prefixes)):
        sid = "ranges:aws"
        date = _parse_date(doc.get("createDate"), "%Y-%m-%d-%H-%M-%S")
        for item in prefixes:
            if isinstance(item, dict) and "ip_prefix" in item:
                add(item["ip_prefix"], sid, "aws", item.get("region"), item.get("service"))
        for item in doc.get("ipv6_prefixes") or []:
            if isinstance(item, dict) and "ipv6_prefix" in item:
                add(item["ipv6_prefix"], sid, "aws", item.get("region"), item.get("service"))
        src = SourceInfo(id=sid, kind="ranges", name="AWS ip-ranges.json", date=date, path=name)
    elif isinstance(prefixes, list):
        sid = "ranges:google"
        date = _parse_date(doc.get("creationTime"), None)
        for item in prefixes:
            if not isinstance(item, dict):
                bad += 1
                continue
            prefix = item.get("ipv4Prefix") or item.get("ipv6Prefix")
            if prefix:
                add(prefix, sid, "google", item.get("scope"), item.get("service"))
            else:
                bad += 1
        src = SourceInfo(id=sid, kind="ranges", name="Google Cloud cloud.json", date=date, path=name)
    elif isinstance(doc.get("values"), list):
        sid = "ranges:azure"
        for item in doc["values"]:
            props = item.get("properties") if isinstance(item, dict) else None
            if not isinstance(props, dict):
                bad += 1
                continue
            service = props.get("systemService") or str(item.get("name", "")).split(".")[0]
            for prefix in props.get("addressPrefixes") or []:
                add(prefix, sid, "microsoft", props.get("region"), service)
        label = f"Azure service tags ({doc.get('cloud', 'Public')}, change {doc.get('changeNumber', '?')})"
        src = SourceInfo(id=sid, kind="ranges", name=label, date=None, path=name)
    else:
        raise InputError(name, "not an AWS ip-ranges.json, Google cloud.json or Azure service tags file")
    if not facts:
        raise InputError(name, "cloud range file lists no usable prefix")
    if bad:
        src.name += f" ({bad} malformed entries skipped)"
    return src, facts


def _s(v: Any) -> str | None:
    return str(v) if v not in (None, "") else None


def _parse_date(text: Any, fmt: str | None) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        dt = datetime.strptime(text, fmt) if fmt else datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def load_cloud_ranges(paths: list[str | Path]) -> CloudRanges:
    ranges = CloudRanges()
    for p in paths:
        src, facts = parse_cloud_ranges(p)
        ranges.add(src, facts)
    return ranges


# ---------------------------------------------------------------------------------------------
# The judgement


def recognise_cloud(
    record: AddressRecord, table: CloudTable | None = None, ranges: CloudRanges | None = None
) -> CloudInfo | None:
    """The cloud/CDN provider of a destination: range file first (it gives the region), then AS, then holder."""
    table = table or cloud_table()
    if ranges is not None and len(ranges):
        fact = ranges.find(record.attributed)
        if fact is not None and fact.provider:
            prov = table.get(fact.provider)
            return CloudInfo(
                key=fact.provider,
                name=prov.name if prov else fact.provider,
                company=prov.company if prov else fact.provider,
                country=prov.country if prov else None,
                basis=f"ranges:{fact.source.split(':', 1)[-1]}",
                region=fact.region,
                service=fact.service,
                source=fact.source,
            )
    asn = record.asn.number if record.asn else None
    if asn is not None and asn in table.by_asn:
        prov = table.by_asn[asn]
        # Recognised by AS or holder only: name the company, not its cloud product; the address may
        # serve the company's own services (AS15169 carries Google Search as well as Google Cloud).
        return CloudInfo(prov.key, prov.company, prov.company, prov.country, f"asn:{asn}", source="table:cloud-providers")
    h = record.holder
    if h is not None and not h.inferred:
        prov = table.by_holder(h.name, h.handle)
        if prov is not None:
            return CloudInfo(
                prov.key, prov.company, prov.company, prov.country, f"holder:{h.name or h.handle}", source="table:cloud-providers"
            )
    return None


def registries(record: AddressRecord) -> tuple[tuple[str, str | None] | None, tuple[str, str | None] | None]:
    """(RIR, NIR) of a record, each as (name, country) or None, from its registry chain or network."""
    rir = nir = None
    for link in record.registry_chain:
        if link.role not in ("rir", "nir"):
            continue
        found = registry_of(link.name) or registry_of(link.handle) or registry_of(link.url)
        if found is None:
            found = (link.name or link.handle or "?", None, link.role == "nir")
        name, country, is_nir = found
        if link.role == "nir" or is_nir:
            nir = nir or (name, country)
        else:
            rir = rir or (name, country)
    if rir is None and record.network is not None:
        found = registry_of(record.network.registry)
        if found and not found[2]:
            rir = (found[0], found[1])
        elif found:
            nir = nir or (found[0], found[1])
        elif record.network.registry:
            rir = (record.network.registry, None)
    return rir, nir


def judge(record: AddressRecord, *, table: CloudTable | None = None, ranges: CloudRanges | None = None,
          offline: bool = False) -> Jurisdiction:
    """The jurisdiction facts and the one-line verdict for one looked-up address."""
    j = Jurisdiction()
    loc = record.location
    if record.special is not None and record.looked_through is None:
        j.location = f"special-purpose address ({record.special.label})"
        j.verdict = f"{record.special.name or record.special.label} ({record.special.prefix}): not on the public internet"
        return j

    if loc.is_anycast:
        j.anycast = True
        j.location = ANYCAST
    elif loc.country:
        j.location_country = loc.country.upper()
        j.location = country_name(j.location_country) or j.location_country
    if loc.represented_country:
        j.represented_country = loc.represented_country.upper()
    j.registered_country = record.registered_country.upper() if record.registered_country else None

    h = record.holder
    if h is not None and (h.name or h.handle):
        j.holder = h.name or h.handle
        j.holder_handle = h.handle
        j.holder_country = h.country.upper() if h.country else None
        j.holder_inferred = h.inferred
        j.holder_rule = h.rule

    rir, nir = registries(record)
    if rir:
        j.registry, j.registry_country = rir
        j.registry_basis = "registry data"
    elif nir is None and (by_iana := iana_rir(record.attributed)):
        j.registry = by_iana
        j.registry_country = REGISTRIES["RIPE" if by_iana == "RIPE NCC" else by_iana][1]
        j.registry_basis = "IANA /8 table"
    if nir:
        j.nir, j.nir_country = nir

    if record.asn is not None:
        j.asn = record.asn.number
        j.as_name = record.asn.name
    as_country = record.traits.get("as_country") if isinstance(record.traits, dict) else None
    j.as_country = str(as_country).upper() if as_country else None
    j.cloud = recognise_cloud(record, table, ranges)

    # Disagreements are shown, never resolved.
    if j.holder is None:
        j.flags.append(FLAG_HOLDER_UNKNOWN)
    elif j.holder_inferred:
        j.flags.append(FLAG_HOLDER_INFERRED)
    if j.location_country is None and not j.anycast:
        j.flags.append(FLAG_LOCATION_UNKNOWN)
    if j.holder_country and j.location_country and j.holder_country != j.location_country:
        j.flags.append(FLAG_HOLDER_ABROAD)
    if j.registered_country and j.location_country and j.registered_country != j.location_country:
        j.flags.append(FLAG_REGISTERED_ABROAD)
    j.verdict = verdict(j, record, offline=offline)
    return j


def _country(code: str | None) -> str:
    return code or "country unknown"


def verdict(j: Jurisdiction, record: AddressRecord | None = None, *, offline: bool = False) -> str:
    """One factual line: holder, location, registry, origin AS (and provider)."""
    parts: list[str] = []
    if j.holder:
        who = f"{j.holder} ({_country(j.holder_country)})"
        parts.append(f"probably held by {who}, inferred" if j.holder_inferred else f"held by {who}")
    else:
        reason = record.holder.reason if record is not None and record.holder is not None else None
        if reason:
            parts.append(f"holder unknown ({reason})")
        elif offline:
            parts.append("holder unknown (no registry data offline)")
        elif record is not None and any("RDAP" in e or "rdap" in e for e in record.errors):
            parts.append("holder unknown (the registry could not be asked; see the errors)")
        else:
            parts.append("holder unknown")
    if j.anycast:
        parts.append(ANYCAST)
    elif j.location_country:
        where = f"located in {j.location}"
        if j.represented_country and j.represented_country != j.location_country:
            where += f" (serving {country_name(j.represented_country)})"
        parts.append(where)
    else:
        parts.append("location unknown")
    first = ", ".join(parts)

    rest: list[str] = []
    if j.nir and j.registry:
        rest.append(f"{j.nir} ({_country(j.nir_country)}, a national registry under {j.registry}) registered the space")
    elif j.nir:
        rest.append(f"{j.nir} ({_country(j.nir_country)}, a national registry) registered the space")
    elif j.registry and j.registry_basis == "IANA /8 table":
        rest.append(f"in {j.registry}'s address space (IANA /8 table)")
    elif j.registry:
        rest.append(f"{j.registry} registered the space")
    if j.registered_country:
        rest.append(f"registration country {j.registered_country}")
    if j.asn is not None:
        as_text = f"announced by AS{j.asn}" + (f" {j.as_name}" if j.as_name else "")
        rest.append(as_text)
    if j.cloud is not None:
        c = j.cloud
        cloud = f"{c.name} network"
        if c.region:
            cloud += f", region {c.region}"
        rest.append(cloud)
    return "; ".join([first, *rest])
