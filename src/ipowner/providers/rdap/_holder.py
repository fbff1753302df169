"""Who holds a network, and through which registries: ordered evidence rules, each answer labelled.

Holder rules, first that applies wins:
  1. ``registrant``      the registrant organisation named on the most specific network;
  2. ``org-handle``      an organisation given only by handle (RIPE ``ORG-...``, AFRINIC role-less org
                         entities), named by an entity query;
  3. ``description``     a description line that reads as an organisation name (inferred);
  4. ``netname``         the network's name (inferred).
Never the holder: a maintainer (``*-MNT``, ``MAINT-*``), an IRT or abuse desk, or an RIR/NIR acting as
registry (its own handles on a member's block, or its name on an allocation block). A registry that
holds an assignment itself (1.1.1.0/24 APNIC research, RIPE NCC's 193.0.0.0/21) is the holder.
In a block the NIR keeps in its own database (JPNIC, KRNIC), a netname alone is not enough: the holder
is unknown and the reason says what the netname suggests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ipowner.model import Abuse, ChainLink, ChainRole, Holder, HolderRule
from ipowner.providers.rdap import _registries
from ipowner.providers.rdap._parse import Entity, Network
from ipowner.providers.rdap._registries import Registry

_ORG_WORDS = re.compile(
    r"\b(inc|corp|corporation|co|company|ltd|limited|llc|l\.l\.c|plc|gmbh|ag|sa|s\.a|s/a|srl|s\.r\.l|bv|b\.v|nv|"
    r"oy|ab|as|a/s|kk|k\.k|pty|pte|sdn|bhd|telecom|telecommunications?|communications?|networks?|university|"
    r"universidad|universidade|institute|college|school|bank|group|holdings?|government|ministry|agency|"
    r"centre|center|foundation|association|isp|internet|hosting|cloud|broadband|cable|wireless)\b\.?",
    re.IGNORECASE,
)


@dataclass(slots=True)
class Resolved:
    """An entity query's result: the entity, or the reason it failed."""

    entity: Entity | None
    url: str
    error: str | None = None


@dataclass(slots=True)
class Decision:
    holder: Holder
    chain: list[ChainLink]
    abuse: Abuse | None
    nir: Registry | None
    rir: Registry | None
    claims: dict[str, str] = field(default_factory=dict)  # field -> URL of the response that supports it


def _upper(s: str | None) -> str:
    return (s or "").upper()


def registry_named(text: str | None) -> Registry | None:
    """A registry whose name is ``text`` (or that ``text`` is one of the handles of)."""
    if not text:
        return None
    t = text.strip().lower()
    for reg in _registries.registries().values():
        full = reg.full_name.lower()
        bare = re.sub(r"\s*\(.*\)$", "", full)
        if t in (reg.name.lower(), full, bare) or reg.owns_handle(text):
            return reg
    return None


def detect_nir(net: Network, answered_by: Registry | None) -> tuple[Registry | None, str | None]:
    """The NIR under which this network sits, and the evidence that says so."""
    if answered_by is not None and answered_by.kind == "nir":
        return answered_by, f"answered by {answered_by.name}'s RDAP service"
    for ent in net.all_entities():
        reg = _registries.registry_of_handle(ent.handle)
        if reg is not None and reg.kind == "nir":
            return reg, f"entity {ent.handle} ({'/'.join(ent.roles) or 'no role'})"
    for ent in net.all_entities():
        for mail in ent.emails:
            for reg in _registries.nirs():
                if reg.owns_email(mail):
                    return reg, f"entity {ent.handle} e-mail {mail}"
    for line in net.descriptions + net.remarks:
        reg = registry_named(line)
        if reg is not None and reg.kind == "nir":
            return reg, f"description {line!r}"
        for nir in _registries.nirs():
            if re.search(rf"\b{re.escape(nir.name)} allocation block\b", line, re.IGNORECASE):
                return nir, f"remark {line!r}"
    reg = _registries.by_port43(net.port43)
    if reg is not None and reg.kind == "nir":
        return reg, f"port43 {net.port43}"
    return None, None


def detect_rir(net: Network, answered_by: Registry | None, nir: Registry | None) -> Registry | None:
    if answered_by is not None and answered_by.kind == "rir":
        return answered_by
    if nir is not None and nir.rir:
        return _registries.registries().get(nir.rir)
    reg = _registries.by_port43(net.port43) or _registries.by_url(net.self_url)
    if reg is not None and reg.kind == "rir":
        return reg
    return None


def _excluded(ent: Entity) -> str | None:
    """Why this entity cannot be the holder, or None."""
    if ent.is_maintainer:
        return "maintainer"
    if ent.is_irt:
        return "incident response team"
    if "abuse" in ent.roles and not ({"registrant"} & set(ent.roles)):
        return "abuse desk"
    reg = _registries.registry_of_handle(ent.handle)
    if reg is not None:
        return f"{reg.name} registry object"
    return None


def _name_of(ent: Entity) -> str | None:
    for candidate in (ent.org, ent.fn):
        if candidate and candidate.strip() and candidate.strip().upper() != _upper(ent.handle):
            return candidate.strip()
    return None


def org_handles(net: Network) -> list[str]:
    """Organisation handles whose names need an entity query (rule 2)."""
    out = []
    for ent in _holder_candidates(net):
        if _name_of(ent) is None and ent.handle and ent.handle not in out:
            out.append(ent.handle)
    return out


def _holder_candidates(net: Network) -> list[Entity]:
    """Entities that may be the holder, best first: registrants, then role-less organisations."""
    ents = net.all_entities()
    registrants = [e for e in ents if "registrant" in e.roles and _excluded(e) is None]
    # A nested registrant (a person on the organisation's own record) ranks below top-level ones.
    registrants.sort(key=lambda e: (e.depth, 0 if e.kind == "org" or e.is_org_handle else 1))
    roleless = [e for e in ents if not e.roles and (e.kind == "org" or e.is_org_handle) and _excluded(e) is None]
    return registrants + roleless


def _looks_like_org(line: str) -> bool:
    return bool(_ORG_WORDS.search(line)) and len(line) <= 120 and not line.lower().startswith(("http", "please", "for ", "see "))


def netname_hint(name: str | None, nir: Registry | None) -> str | None:
    """The member a netname suggests: ``IIJ-JPNIC-JP-20000308`` -> ``IIJ``."""
    if not name:
        return None
    skip = {r.name.upper() for r in _registries.registries().values()} | {"NET", "NET6", "NETWORK", "AP", "BLOCK"}
    if nir is not None and nir.country:
        skip.add(nir.country)
    words = [w for w in re.split(r"[-_.\s]+", name.upper()) if w]
    keep = [w for w in words if w not in skip and not w.isdigit() and not (len(w) == 2 and w.isalpha())]
    return "-".join(keep[:2]) if keep else None


def decide(
    net: Network,
    *,
    url: str,
    answered_by: Registry | None,
    resolved: dict[str, Resolved] | None = None,
    parents: list[tuple[Network, str]] | None = None,
    nir_note: str | None = None,
) -> Decision:
    """Holder, registry chain and abuse contact of the most specific network ``net`` (fetched from ``url``)."""
    resolved = resolved or {}
    nir, nir_basis = detect_nir(net, answered_by)
    rir = detect_rir(net, answered_by, nir)
    claims: dict[str, str] = {}
    holder = _decide_holder(net, url, nir, resolved, nir_note, claims)
    chain = _chain(net, url, rir, nir, nir_basis, holder, parents or [], resolved)
    abuse = _abuse(net)
    if abuse is not None:
        claims["abuse"] = url
    claims.setdefault("network", url)
    claims["registry_chain"] = url
    return Decision(holder, chain, abuse, nir, rir, claims)


def _country(net: Network, ent: Entity | None) -> tuple[str | None, str | None]:
    if ent is not None and ent.country:
        return ent.country, f"registrant {ent.handle} {ent.country_basis}"
    if net.country:
        return net.country, "network country (the block's registration country)"
    return None, None


def _country_evidence(net: Network, ent: Entity | None, country: str | None) -> list[str]:
    """When no country was found, the registry's own text that was not a country code (kept as evidence)."""
    if country is not None:
        return []
    notes = [ent.country_note] if ent is not None and ent.country_note else []
    return notes + ([f"network country {net.country_note}"] if net.country_note else [])


def _decide_holder(
    net: Network, url: str, nir: Registry | None, resolved: dict[str, Resolved], nir_note: str | None,
    claims: dict[str, str],
) -> Holder:
    allocation_block = not net.is_leaf
    notes: list[str] = []
    if nir_note:
        notes.append(nir_note)

    def registry_acting(name: str | None) -> Registry | None:
        reg = registry_named(name)
        # A registry named on an allocation block is acting as registry; on an assignment it holds it.
        return reg if reg is not None and allocation_block else None

    for ent in _holder_candidates(net):
        name = _name_of(ent)
        rule = HolderRule.REGISTRANT if "registrant" in ent.roles else HolderRule.ORG_HANDLE
        source_url = url
        if name is None and ent.handle in resolved:
            res = resolved[ent.handle]
            if res.entity is not None and _name_of(res.entity):
                name, rule, source_url = _name_of(res.entity), HolderRule.ORG_HANDLE, res.url
                if not ent.country and res.entity.country:
                    ent.country, ent.country_basis = res.entity.country, res.entity.country_basis
            else:
                notes.append(f"organisation {ent.handle} could not be named ({res.error or 'no name in its record'})")
                continue
        if name is None:
            notes.append(f"organisation {ent.handle} given by handle only")
            continue
        reg = registry_acting(name)
        if reg is not None:
            notes.append(f"{name} is {reg.name} acting as registry")
            continue
        country, basis = _country(net, ent)
        claims["holder"] = source_url
        return Holder(
            name=name, handle=ent.handle, country=country, country_basis=basis, rule=rule, inferred=False,
            reason="; ".join(notes) or None,
            evidence=[f"{'/'.join(ent.roles) or 'organisation'} entity {ent.handle}", source_url,
                      *_country_evidence(net, ent, country)],
        )

    # Rules 3 and 4 name the holder from free text: inferred, and labelled so.
    fallback_handle = next((e.handle for e in _holder_candidates(net) if e.handle), None)
    for line in net.descriptions:
        if not _looks_like_org(line) or registry_acting(line) is not None:
            continue
        country, basis = _country(net, None)
        claims["holder"] = url
        prefix = f"in {nir.name}'s database; " if nir is not None and nir.own_database else ""
        return Holder(
            name=line, handle=fallback_handle, country=country, country_basis=basis, rule=HolderRule.DESCRIPTION,
            inferred=True,
            reason=prefix + "; ".join(notes + [f"inferred from the description of {net.handle or net.name}"]),
            evidence=[f"network {net.handle} description", url, *_country_evidence(net, None, country)],
        )

    hint = netname_hint(net.name, nir)
    if nir is not None and nir.own_database and allocation_block:
        reason = f"in {nir.name}'s database" + (f"; netname suggests {hint}" if hint else "")
        return Holder(name=None, handle=None, rule=None, reason="; ".join([reason, *notes]),
                      evidence=[f"network {net.handle} name {net.name}", url])

    if net.name and not _upper(net.name).startswith(("ORG-", "NET-", "NET6-")) and not net.name.isdigit():
        reg = registry_acting(net.name)
        if reg is None:
            country, basis = _country(net, None)
            claims["holder"] = url
            return Holder(
                name=net.name, handle=fallback_handle, country=country, country_basis=basis, rule=HolderRule.NETNAME,
                inferred=True, reason="; ".join(notes + [f"inferred from the netname of {net.handle or net.name}"]),
                evidence=[f"network {net.handle} name", url, *_country_evidence(net, None, country)],
            )
    if fallback_handle:
        country, basis = _country(net, None)
        claims["holder"] = url
        return Holder(name=None, handle=fallback_handle, country=country, country_basis=basis, rule=HolderRule.ORG_HANDLE,
                      reason="; ".join(notes) or "organisation named by handle only",
                      evidence=[url, *_country_evidence(net, None, country)])
    extra = [f"remarks say: {net.remarks[0]!s}"] if net.remarks else []
    return Holder(name=None, handle=None, reason="; ".join(notes + ["no registrant, organisation, description or netname names a holder", *extra]),
                  evidence=[url])


def _abuse(net: Network) -> Abuse | None:
    ents = sorted(net.all_entities(), key=lambda e: e.depth)
    for ent in ents:
        if "abuse" in ent.roles and (ent.emails or ent.phones):
            return Abuse(email=ent.emails[0] if ent.emails else None, phone=ent.phones[0] if ent.phones else None,
                         handle=ent.handle, name=ent.fn)
    return None


def _parent_holder(parent: Network, resolved: dict[str, Resolved]) -> tuple[str | None, str | None]:
    for ent in _holder_candidates(parent):
        name = _name_of(ent)
        if name is None and ent.handle in resolved and resolved[ent.handle].entity is not None:
            name = _name_of(resolved[ent.handle].entity)  # type: ignore[arg-type]
        if name and registry_named(name) is None:
            return name, ent.handle
    return None, None


def _chain(
    net: Network, url: str, rir: Registry | None, nir: Registry | None, nir_basis: str | None, holder: Holder,
    parents: list[tuple[Network, str]], resolved: dict[str, Resolved],
) -> list[ChainLink]:
    chain = [ChainLink(role=ChainRole.IANA, name="IANA", handle=None, url=None, basis="RDAP bootstrap registry")]
    if rir is not None:
        basis = f"{nir.name} is a national registry under {rir.name}" if nir is not None else f"{rir.name} answered"
        chain.append(ChainLink(role=ChainRole.RIR, name=rir.name, handle=None, url=None, basis=basis))
    if nir is not None:
        chain.append(ChainLink(role=ChainRole.NIR, name=nir.name, handle=None, url=None, basis=nir_basis))
    # Parents (walked up with --chain), top first: organisations above the holder that are not registries.
    above: list[ChainLink] = []
    for parent, purl in reversed(parents):
        name, handle = _parent_holder(parent, resolved)
        if name and name != holder.name and all(link.name != name for link in above):
            above.append(ChainLink(role=ChainRole.HOLDER, name=name, handle=handle, url=purl,
                                   basis=f"parent network {parent.handle or parent.start_text} ({parent.type or 'type unknown'})"))
    chain.extend(above)
    if holder.name or holder.handle:
        chain.append(ChainLink(
            role=ChainRole.SUB_ASSIGNMENT if above else ChainRole.HOLDER,
            name=holder.name or holder.handle, handle=holder.handle, url=url,
            basis=f"network {net.handle or net.start_text} ({net.type or 'type unknown'}), rule {holder.rule}"
            + (", inferred" if holder.inferred else ""),
        ))
    return chain
