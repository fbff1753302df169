"""The jurisdiction judgement: per destination, location, holder and registry kept apart.

Facts and their sources only, no legal conclusions. A destination's verdict is one line built
from what the lookup found, e.g. "held by Amazon (US), located in Singapore; APNIC registered the
space", and disagreements between the facts are flagged rather than resolved.

Registries are named and placed by the one registry table (``reference.registries``); cloud and CDN
operators are recognised from their own range files first (the shipped snapshot, or a user's newer file
given with ``--cloud-ranges``, read by ``providers.cloud``), which give the region; else from the origin AS
("inferred from routing") and the holder's name by the shipped operator table (``reference.cloud``).
Nothing is fetched.
"""

from __future__ import annotations

from datetime import datetime

from ipowner.model import AddressRecord, RegistryBasis
from ipowner.model.kinds import HolderRule
from ipowner.model.report import (
    FLAG_HOLDER_ABROAD,
    FLAG_HOLDER_INFERRED,
    FLAG_HOLDER_UNKNOWN,
    FLAG_LOCATION_UNKNOWN,
    FLAG_REGISTERED_ABROAD,
    CloudInfo,
    Jurisdiction,
)
from ipowner.providers.cloud import CloudRangeProvider
from ipowner.reference.anycast import anycast_service
from ipowner.reference.cloud import TABLE_SOURCE_ID, CloudTable, cloud_table
from ipowner.reference.cloud_files import publisher_of
from ipowner.reference.countries import country_name
from ipowner.reference.delegation_table import country_registry
from ipowner.reference.iana import iana_rir  # the IPv4 /8 table (reference/iana.py)
from ipowner.reference.registries import by_name, mentioned

ANYCAST = "anycast, no single location"

# The basis of a registry found only from IANA's /8 table (no registry data for the address).
IANA_BASIS = RegistryBasis.IANA_TABLE


# ---------------------------------------------------------------------------------------------
# The judgement


def recognise_cloud(
    record: AddressRecord, table: CloudTable | None = None, ranges: CloudRangeProvider | None = None
) -> CloudInfo | None:
    """The cloud/CDN operator of a destination: range file first (it gives the region), then AS, then holder."""
    table = table or cloud_table()
    if ranges is not None and len(ranges):
        found = ranges.recognise(record.attributed, table)
        if found is not None:
            return found
    from_lookup = cloud_from_record(record, table)
    if from_lookup is not None:
        return from_lookup
    asn = record.asn.number if record.asn else None
    if asn is not None and asn in table.by_asn:
        by_as = table.by_asn[asn]
        # Recognised by AS or holder only: name the company, not its cloud product; the address may
        # serve the company's own services (AS15169 carries Google Search as well as Google Cloud).
        return CloudInfo(by_as.key, by_as.company, by_as.company, by_as.country, f"asn:{asn}", source=TABLE_SOURCE_ID,
                         statement=f"inferred from routing (announced by AS{asn}, one of {by_as.company}'s AS numbers)")
    h = record.holder
    if h is not None and not h.inferred:
        by_holder = table.by_holder(h.name, h.handle)
        if by_holder is not None:
            return CloudInfo(by_holder.key, by_holder.company, by_holder.company, by_holder.country,
                             f"holder:{h.name or h.handle}", source=TABLE_SOURCE_ID,
                             statement="inferred from the holder's name")
    return None


CLOUD_TRAITS = ("cloud_provider", "cloud_region", "cloud_service", "cloud_region_country", "cloud_region_place")


def cloud_from_record(record: AddressRecord, table: CloudTable | None = None) -> CloudInfo | None:
    """The cloud facts a lookup put on a record (``traits.cloud_*``, from a provider's range file), or None."""
    traits = record.traits if isinstance(record.traits, dict) else {}
    key = traits.get("cloud_provider")
    if not isinstance(key, str):
        return None
    sid = record.provenance.get("traits.cloud_provider", "")
    op = (table or cloud_table()).get(key)
    src = record.sources.get(sid)

    def text(name: str) -> str | None:
        v = traits.get(name)
        return v if isinstance(v, str) else None

    own_space = sid == "ranges:google-own"
    return CloudInfo(
        key=key,
        name=(op.company if own_space else op.name) if op else key,
        company=op.company if op else key,
        country=op.country if op else None,
        basis=f"ranges:{sid.split(':', 1)[-1]}",
        region=text("cloud_region"),
        service=text("cloud_service"),
        source=sid or None,
        region_country=text("cloud_region_country"),
        region_place=text("cloud_region_place"),
        publisher=publisher_of(sid),
        file_date=src.date if src is not None else None,
        statement="provider's range file",
    )


def registries(record: AddressRecord) -> tuple[tuple[str, str | None] | None, tuple[str, str | None] | None]:
    """(RIR, NIR) of a record, each as (name, seat country) or None, from its registry chain or network."""
    rir: tuple[str, str | None] | None = None
    nir: tuple[str, str | None] | None = None
    for link in record.registry_chain:
        if link.role not in ("rir", "nir"):
            continue
        reg = mentioned(link.name) or mentioned(link.handle) or mentioned(link.url)
        if reg is not None:
            found, is_nir = (reg.name, reg.country), reg.is_nir
        else:
            # A registry the table does not know: named as the chain names it, seat unknown.
            found, is_nir = (link.name or link.handle or "?", None), link.role == "nir"
        if link.role == "nir" or is_nir:
            nir = nir or found
        else:
            rir = rir or found
    if rir is None and record.network is not None:
        reg = mentioned(record.network.registry)
        if reg is not None and not reg.is_nir:
            rir = (reg.name, reg.country)
        elif reg is not None:
            nir = nir or (reg.name, reg.country)
        elif record.network.registry:
            rir = (record.network.registry, None)
    return rir, nir


def judge(record: AddressRecord, *, table: CloudTable | None = None, ranges: CloudRangeProvider | None = None,
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

    h = record.holder
    if h is not None and (h.name or h.handle):
        j.holder = h.name or h.handle
        j.holder_handle = h.handle
        j.holder_country = h.country.upper() if h.country else None
        j.holder_inferred = h.inferred
        j.holder_rule = h.rule

    rir, nir = registries(record)
    reg = record.registry
    if rir:
        j.registry, j.registry_country = rir
        j.registry_basis = RegistryBasis.REGISTRY_DATA
        j.registry_date = _source_date(record, "registry_chain") or _source_date(record, "network")
        j.registry_evidence = f"{j.registry}, {RegistryBasis.REGISTRY_DATA}" + (
            f" of {j.registry_date.date().isoformat()}" if j.registry_date else "")
    elif nir is None and reg is not None:
        j.registry = reg.registry
        seat = by_name(reg.registry)
        j.registry_country = seat.country if seat else None
        j.registry_basis = reg.basis
        j.registry_date = reg.basis_date
        j.registry_stale = reg.stale
        j.registry_evidence = reg.basis_text
    elif nir is None and (by_iana := iana_rir(record.attributed)):
        j.registry = by_iana
        seat = by_name(by_iana)
        j.registry_country = seat.country if seat else None
        j.registry_basis = IANA_BASIS
        j.registry_evidence = f"{by_iana}, {IANA_BASIS}"
    if nir:
        j.nir, j.nir_country = nir
    _registered_country(j, record)
    j.registry_uncertain = registry_uncertain(j, record)

    if record.asn is not None:
        j.asn = record.asn.number
        j.as_name = record.asn.name
    as_country = record.traits.get("as_country") if isinstance(record.traits, dict) else None
    j.as_country = str(as_country).upper() if as_country else None
    j.cloud = recognise_cloud(record, table, ranges)
    if j.holder is None and j.cloud is not None and j.cloud.basis.startswith("ranges:"):
        # A provider's own range file says the prefix is theirs: that names the holder, offline too.
        j.holder, j.holder_country, j.holder_rule = j.cloud.company, j.cloud.country, HolderRule.RANGE_FILE

    # Disagreements are shown, never resolved.
    if j.holder is None:
        j.flags.append(FLAG_HOLDER_UNKNOWN)
    elif j.holder_inferred:
        j.flags.append(FLAG_HOLDER_INFERRED)
    if j.location_country is None and not j.anycast:
        j.flags.append(FLAG_LOCATION_UNKNOWN)
    if j.holder_country and j.location_country and j.holder_country != j.location_country:
        j.flags.append(FLAG_HOLDER_ABROAD)
    unflagged = None
    if j.registered_country and j.location_country and j.registered_country != j.location_country:
        # A cloud/CDN operator or an anycast service registers its space once and serves it from many
        # countries: there the difference is how the network works, not news about this destination.
        unflagged = registered_abroad_reason(j, record)
        if unflagged is None:
            j.flags.append(FLAG_REGISTERED_ABROAD)
    j.verdict = verdict(j, record, offline=offline, registered_note=unflagged)
    return j


def _source_date(record: AddressRecord, path: str) -> datetime | None:
    sid = record.provenance.get(path)
    source = record.sources.get(sid) if sid else None
    return source.date if source is not None else None


def _source_words(record: AddressRecord, path: str) -> str | None:
    sid = record.provenance.get(path)
    source = record.sources.get(sid) if sid else None
    if source is None:
        return None
    return source.name + (f" of {source.date.date().isoformat()}" if source.date else "")


def _registered_country(j: Jurisdiction, record: AddressRecord) -> None:
    """The registration country from the newest dated source; an older one that disagrees is kept beside it."""
    db_country = record.registered_country.upper() if record.registered_country else None
    db_date = _source_date(record, "registered_country")
    reg = record.registry
    listed = reg.country.upper() if reg is not None and reg.country and reg.basis == RegistryBasis.DELEGATION_STATISTICS else None
    if listed is None or reg is None:
        j.registered_country = db_country
        if db_country:
            j.registered_country_basis = _source_words(record, "registered_country")
            j.registered_country_date = db_date
        return
    listed_words = f"{reg.registry} delegation statistics of {reg.basis_date.date().isoformat()}" if reg.basis_date else \
        f"{reg.registry} delegation statistics"
    if reg.stale:
        listed_words += ", stale"
    delegation_newer = db_country is None or (reg.basis_date is not None and (db_date is None or reg.basis_date > db_date))
    if delegation_newer:
        j.registered_country, j.registered_country_basis = listed, listed_words
        j.registered_country_date = reg.basis_date
        if db_country and db_country != listed:
            j.registered_country_other = f"{db_country} per {_source_words(record, 'registered_country')}"
    else:
        j.registered_country = db_country
        j.registered_country_basis = _source_words(record, "registered_country")
        j.registered_country_date = db_date
        if db_country != listed:
            j.registered_country_other = f"{listed} per {listed_words}"


def registry_uncertain(j: Jurisdiction, record: AddressRecord) -> str | None:
    """Why a registry taken from IANA's tables may be wrong for this block, or None.

    IANA's tables say which registry serves a whole /8 (or IPv6 block); legacy and transferred space inside
    it may be held elsewhere. When the block's registration country is one another registry's delegation
    statistics credit to that registry, the fallback is contradicted and the registry is uncertain.
    """
    if j.registry is None or j.registry_basis not in (RegistryBasis.IANA_TABLE, RegistryBasis.RDAP_BOOTSTRAP):
        return None
    country = j.registered_country
    other = country_registry(country)
    if other is None or other == j.registry:
        return None
    return (f"{j.registry_basis} gives {j.registry}, but the block is registered in {country}, a country "
            f"{other}'s delegation statistics cover; legacy or transferred space: "
            f"`ipowner lookup {record.attributed}` asks the registries")


def registered_abroad_reason(j: Jurisdiction, record: AddressRecord | None) -> str | None:
    """Why a registration country that differs from the location is not flagged, or None to flag it."""
    if j.cloud is not None:
        return f"not flagged: {j.cloud.company}'s cloud/CDN network serves many countries"
    service = anycast_service(record.attributed) if record is not None else None
    if service is not None:
        return f"not flagged: {service} is anycast, served from many places"
    return None


def _country(code: str | None) -> str:
    return code or "country unknown"


def _holder_unknown_offline(j: Jurisdiction, record: AddressRecord | None) -> str:
    """Why the holder is not known offline, and the command that would find it."""
    reason = record.holder.reason if record is not None and record.holder is not None else None
    reason = reason or "no registry answer in the RDAP cache"
    address = record.attributed if record is not None else None
    who = f"{j.nir or j.registry}'s RDAP service" if (j.nir or j.registry) else "the registries"
    command = f"`ipowner lookup {address}` asks {who}" if address else f"a lookup without --offline asks {who}"
    return f"holder unknown offline ({reason}; {command})"


def _registry_words(j: Jurisdiction) -> str | None:
    """The registry part of a verdict, naming its basis and date."""
    when = f" of {j.registry_date.date().isoformat()}" if j.registry_date else ""
    stale = ", stale" if j.registry_stale else ""
    answered = f" ({j.registry_basis}{when})" if j.registry_basis == RegistryBasis.REGISTRY_DATA and when else ""
    if j.nir and j.registry:
        return (f"{j.nir} ({_country(j.nir_country)}, a national registry under {j.registry}) registered the space"
                + answered)
    if j.nir:
        return f"{j.nir} ({_country(j.nir_country)}, a national registry) registered the space" + answered
    if not j.registry:
        return None
    if j.registry_uncertain:
        return f"registry uncertain: {j.registry_uncertain}"
    if j.registry_basis in (RegistryBasis.IANA_TABLE, RegistryBasis.RDAP_BOOTSTRAP):
        return f"in {j.registry}'s address space ({j.registry_basis}{when}; no delegation file lists the block)"
    if j.registry_basis == RegistryBasis.DELEGATION_STATISTICS:
        return f"{j.registry} registered the space ({j.registry_basis}{when}{stale})"
    return f"{j.registry} registered the space" + answered


def verdict(j: Jurisdiction, record: AddressRecord | None = None, *, offline: bool = False,
            registered_note: str | None = None) -> str:
    """One factual line: holder, location, registry, origin AS (and provider). ``registered_note`` says
    why a registration country that differs from the location is not flagged.

    Offline, with no holder known, what is known comes first, most specific first (the provider and region
    a range file names, the location, the registry with its basis, the registration country, the AS), and
    "holder unknown offline" last, with the reason and the command that would find the holder.
    """
    parts: list[str] = []
    # A provider's own range file names the region: it comes right after the holder, before the geolocation.
    from_file = j.cloud is not None and j.cloud.basis.startswith("ranges:")
    unknown_offline = j.holder is None and offline
    if j.holder:
        who = f"{j.holder} ({_country(j.holder_country)})"
        parts.append(f"probably held by {who}, inferred" if j.holder_inferred else f"held by {who}")
    elif not offline:
        reason = record.holder.reason if record is not None and record.holder is not None else None
        if reason:
            parts.append(f"holder unknown ({reason})")
        elif record is not None and any("RDAP" in e or "rdap" in e for e in record.errors):
            parts.append("holder unknown (the registry could not be asked; see the errors)")
        else:
            parts.append("holder unknown")
    lead = ", ".join(parts)
    parts = []
    if j.anycast:
        parts.append(ANYCAST)
    elif j.location_country:
        where = f"located in {j.location}"
        if j.represented_country and j.represented_country != j.location_country:
            where += f" (serving {country_name(j.represented_country)})"
        parts.append(where)
    else:
        parts.append("location unknown")
    if from_file and j.cloud is not None:
        first = "; ".join(x for x in (lead, cloud_phrase(j.cloud), ", ".join(parts)) if x)
    else:
        first = ", ".join(x for x in (lead, *parts) if x)

    rest: list[str] = []
    if (words := _registry_words(j)) is not None:
        rest.append(words)
    elif record is not None and ":" in record.attributed and not record.registry_chain:
        rest.append("no registry: neither a delegation file nor IANA's RDAP bootstrap lists the block")
    if j.registered_country:
        since = j.registered_country_date
        other = (f"as of {since.date().isoformat()}; " if since else "") + f"{j.registered_country_other}" \
            if j.registered_country_other else None
        notes = [n for n in (other, registered_note) if n]
        rest.append(f"registration country {j.registered_country}" + (f" ({'; '.join(notes)})" if notes else ""))
    if j.asn is not None:
        as_text = f"announced by AS{j.asn}" + (f" {j.as_name}" if j.as_name else "")
        rest.append(as_text)
    if j.cloud is not None and not from_file:
        rest.append(cloud_phrase(j.cloud))
    if unknown_offline:
        rest.append(_holder_unknown_offline(j, record))
    return "; ".join([first, *rest])


def cloud_phrase(c: CloudInfo) -> str:
    """The cloud part of a verdict: "AWS region ap-southeast-1 (Singapore) per AWS's range file of 2026-08-22",
    or the operator's network and how it was recognised."""
    if c.basis.startswith("ranges:"):
        who = c.publisher or c.name
        text = f"{who} region {c.region}" if c.region else f"{c.name} network"
        if c.region and c.region_place:
            text += f" ({c.region_place})"
        elif not c.region and c.region_place:
            text += f" in {c.region_place}"
        dated = f" of {c.file_date.date().isoformat()}" if c.file_date is not None else ""
        text += f" per {who}'s range file{dated}"
        if c.service and c.service != c.name:
            text += f" (service {c.service})"
        return text
    return f"{c.name} network, {c.statement}" if c.statement else f"{c.name} network"
