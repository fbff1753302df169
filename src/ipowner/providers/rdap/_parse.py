"""Parse RDAP objects (RFC 9083) into plain records, absorbing the quirks registries really send.

Seen in recorded answers: ARIN zero-padded IPv4 (``074.125.000.000``) and fully expanded upper-case
IPv6; RIPE ``startAddress`` written ``62.239.237.0/32`` and no ``objectClassName``; RIPE maintainers
(``*-MNT``) in the registrant role; AFRINIC entities without roles; ``errorCode`` as a string; ``{}``.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ipowner.providers.rdap._countries import country_code, country_from_label
from ipowner.providers.rdap._exceptions import (
    RdapErrorObject,
    RdapMalformedError,
    RdapNotFoundError,
)

# Types whose range nothing more specific can sit under (item 5 of the issue): they answer their whole range.
LEAF_TYPES = {
    "ASSIGNED",
    "ASSIGNED PA",
    "ASSIGNED PI",
    "ASSIGNED PORTABLE",
    "ASSIGNED NON-PORTABLE",
    "ASSIGNED ANYCAST",
    "REASSIGNED",
    "REASSIGNMENT",
}
ALLOCATION_TYPES = {
    "ALLOCATED",
    "ALLOCATED PA",
    "ALLOCATED PI",
    "ALLOCATED UNSPECIFIED",
    "ALLOCATED PORTABLE",
    "ALLOCATED NON-PORTABLE",
    "ALLOCATED-BY-RIR",
    "ALLOCATED-BY-LIR",
    "DIRECT ALLOCATION",
    "REALLOCATION",
    "SUB-ALLOCATED PA",
    "AGGREGATED-BY-LIR",
    "LEGACY",
}


def is_leaf_type(type_: str | None) -> bool:
    return bool(type_) and type_.strip().upper() in LEAF_TYPES


@dataclass(slots=True)
class Entity:
    handle: str | None
    roles: list[str]
    fn: str | None = None
    kind: str | None = None  # vCard kind: org, individual, group
    org: str | None = None  # vCard org
    country: str | None = None
    country_basis: str | None = None  # "vcard adr cc" | "vcard adr country-name" | "vcard adr label"
    address: str | None = None
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)
    self_url: str | None = None
    depth: int = 0

    def walk(self) -> list[Entity]:
        out = [self]
        for e in self.entities:
            out.extend(e.walk())
        return out

    @property
    def is_maintainer(self) -> bool:
        h = (self.handle or "").upper()
        return h.endswith("-MNT") or h.startswith(("MAINT-", "MNT-")) or "-MNT-" in h

    @property
    def is_irt(self) -> bool:
        return (self.handle or "").upper().startswith("IRT-")

    @property
    def is_org_handle(self) -> bool:
        return (self.handle or "").upper().startswith("ORG-")


@dataclass(slots=True)
class Link:
    rel: str | None
    href: str
    type: str | None = None


@dataclass(slots=True)
class Network:
    version: int
    start: int
    end: int
    start_text: str
    end_text: str
    cidrs: list[str]
    handle: str | None
    name: str | None
    type: str | None
    country: str | None
    parent_handle: str | None
    status: list[str]
    registration: datetime | None
    last_changed: datetime | None
    descriptions: list[str]  # description remarks (APNIC "description", RIPE untitled remarks)
    remarks: list[str]  # every other remark line
    links: list[Link]
    entities: list[Entity]
    port43: str | None
    origin_autnums: list[int]
    self_url: str | None
    object_class: str | None

    @property
    def is_leaf(self) -> bool:
        return is_leaf_type(self.type)

    def all_entities(self) -> list[Entity]:
        out: list[Entity] = []
        for e in self.entities:
            out.extend(e.walk())
        return out

    def link(self, *rels: str) -> str | None:
        for rel in rels:
            for lk in self.links:
                if (lk.rel or "").lower() == rel:
                    return lk.href
        return None

    def contains(self, address: str) -> bool:
        ip = ipaddress.ip_address(address)
        return ip.version == self.version and self.start <= int(ip) <= self.end


def decode(body: bytes, url: str) -> dict[str, Any]:
    """The JSON object in a body, or ``RdapMalformedError``."""
    try:
        obj = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise RdapMalformedError(url, f"malformed RDAP body: not JSON ({exc.__class__.__name__})") from None
    if not isinstance(obj, dict):
        raise RdapMalformedError(url, f"malformed RDAP body: a JSON {type(obj).__name__}, not an object")
    return obj


def error_from(obj: dict[str, Any], url: str, status: int | None) -> RdapErrorObject | None:
    """The RDAP error object in ``obj`` as an exception, if ``obj`` is one (``errorCode`` may be a string)."""
    if "errorCode" not in obj:
        return None
    code: int | None
    try:
        code = int(str(obj.get("errorCode")).strip())
    except ValueError:
        code = status
    title = _text(obj.get("title"))
    desc = obj.get("description")
    detail = "; ".join(_text(d) or "" for d in desc if _text(d)) if isinstance(desc, list) else _text(desc)
    reason = f"registry error {code}" + (f" {title}" if title else "") + (f" ({detail})" if detail and detail != title else "")
    cls = RdapNotFoundError if code == 404 else RdapErrorObject
    return cls(url, reason, code, title)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.strip() or None
    return str(value)


def parse_address(text: Any) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """An address as registries write it: ``074.125.000.000``, ``62.239.237.0/32``, expanded upper-case v6."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"not an address: {text!r}")
    s = text.strip().split("/", 1)[0]
    if ":" in s:
        return ipaddress.IPv6Address(s.lower())
    parts = s.split(".")
    if len(parts) != 4 or not all(p.isdigit() for p in parts):
        raise ValueError(f"not an address: {text!r}")
    octets = [int(p, 10) for p in parts]  # zero-padded decimal, never octal
    if any(o > 255 for o in octets):
        raise ValueError(f"not an address: {text!r}")
    return ipaddress.IPv4Address(".".join(map(str, octets)))


def _date(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _vcard(entity: Entity, vcard: Any) -> None:
    if not (isinstance(vcard, list) and len(vcard) > 1 and isinstance(vcard[1], list)):
        return
    for prop in vcard[1]:
        if not (isinstance(prop, list) and len(prop) >= 4):
            continue
        name, params, value = str(prop[0]).lower(), prop[1] if isinstance(prop[1], dict) else {}, prop[3]
        if name == "fn":
            entity.fn = _text(value)
        elif name == "kind":
            entity.kind = (_text(value) or "").lower() or None
        elif name == "org":
            entity.org = _text(value[0] if isinstance(value, list) and value else value)
        elif name == "email":
            if _text(value):
                entity.emails.append(_text(value))  # type: ignore[arg-type]
        elif name == "tel":
            if _text(value):
                entity.phones.append(_text(value))  # type: ignore[arg-type]
        elif name == "adr":
            label = _text(params.get("label"))
            entity.address = label or entity.address
            cc = _text(params.get("cc"))
            name_part = _text(value[6]) if isinstance(value, list) and len(value) > 6 else None
            if cc and country_code(cc):
                entity.country, entity.country_basis = country_code(cc), "vcard adr cc"
            elif name_part and country_code(name_part):
                entity.country, entity.country_basis = country_code(name_part), "vcard adr country-name"
            elif country_from_label(label):
                entity.country, entity.country_basis = country_from_label(label), "vcard adr label"


def parse_entity(obj: Any, depth: int = 0) -> Entity | None:
    if not isinstance(obj, dict) or not obj:
        return None
    roles = obj.get("roles")
    ent = Entity(
        handle=_text(obj.get("handle")),
        roles=[str(r).lower() for r in roles] if isinstance(roles, list) else [],
        depth=depth,
    )
    _vcard(ent, obj.get("vcardArray"))
    for sub in obj.get("entities") or []:
        child = parse_entity(sub, depth + 1)
        if child is not None:
            ent.entities.append(child)
    for rem in obj.get("remarks") or []:
        if isinstance(rem, dict):
            ent.remarks.extend(_text(d) or "" for d in rem.get("description") or [] if _text(d))
    for lk in obj.get("links") or []:
        if isinstance(lk, dict) and lk.get("rel") == "self":
            ent.self_url = _text(lk.get("href"))
    return ent


def _cidrs(obj: dict[str, Any], start: ipaddress._BaseAddress, end: ipaddress._BaseAddress) -> list[str]:
    out = []
    for c in obj.get("cidr0_cidrs") or []:
        if not isinstance(c, dict):
            continue
        prefix = c.get("v4prefix") or c.get("v6prefix")
        try:
            out.append(str(ipaddress.ip_network(f"{parse_address(prefix)}/{int(c.get('length'))}", strict=False)))
        except (ValueError, TypeError):
            continue
    if out:
        return out
    return [str(n) for n in ipaddress.summarize_address_range(start, end)]  # type: ignore[arg-type]


def parse_network(obj: dict[str, Any], url: str) -> Network:
    """An ``ip network`` object; ``RdapMalformedError`` when it is something else or has no usable range."""
    if not obj:
        raise RdapMalformedError(url, "empty RDAP answer ({})")
    cls = _text(obj.get("objectClassName"))
    if cls is not None and cls.lower() != "ip network":
        raise RdapMalformedError(url, f"expected an ip network, got {cls!r}")
    try:
        start = parse_address(obj.get("startAddress"))
        end = parse_address(obj.get("endAddress"))
    except ValueError as exc:
        raise RdapMalformedError(url, f"ip network without a usable range ({exc})") from None
    if start.version != end.version or int(start) > int(end):
        raise RdapMalformedError(url, "ip network with an inverted or mixed range")
    descriptions: list[str] = []
    remarks: list[str] = []
    for rem in obj.get("remarks") or []:
        if not isinstance(rem, dict):
            continue
        lines = [_text(d) for d in rem.get("description") or [] if _text(d)]
        title = (_text(rem.get("title")) or "").lower()
        # APNIC titles descr "description"; old RIPE answers carry descr as untitled remarks.
        (descriptions if title in ("description", "") else remarks).extend(lines)  # type: ignore[arg-type]
    events = {}
    for ev in obj.get("events") or []:
        if isinstance(ev, dict):
            events[str(ev.get("eventAction", "")).lower()] = _date(ev.get("eventDate"))
    links = [
        Link(_text(lk.get("rel")), str(lk["href"]), _text(lk.get("type")))
        for lk in obj.get("links") or []
        if isinstance(lk, dict) and isinstance(lk.get("href"), str)
    ]
    entities = [e for e in (parse_entity(x) for x in obj.get("entities") or []) if e is not None]
    status = obj.get("status")
    autnums = obj.get("arin_originas0_originautnums") or obj.get("nicbr_autnum") or []
    if not isinstance(autnums, list):
        autnums = [autnums]
    net = Network(
        version=start.version,
        start=int(start),
        end=int(end),
        start_text=str(start),
        end_text=str(end),
        cidrs=_cidrs(obj, start, end),
        handle=_text(obj.get("handle")),
        name=_text(obj.get("name")),
        type=_text(obj.get("type")),
        country=(_text(obj.get("country")) or "").upper() or None,
        parent_handle=_text(obj.get("parentHandle")),
        status=[str(s) for s in status] if isinstance(status, list) else [],
        registration=events.get("registration"),
        last_changed=events.get("last changed"),
        descriptions=descriptions,
        remarks=remarks,
        links=links,
        entities=entities,
        port43=_text(obj.get("port43")),
        origin_autnums=[int(a) for a in autnums if str(a).isdigit()],
        self_url=next((lk.href for lk in links if (lk.rel or "").lower() == "self"), None),
        object_class=cls,
    )
    return net


@dataclass(slots=True)
class Autnum:
    """An ``autnum`` object: shaped like ``Network`` where the holder rules need it."""

    start: int
    end: int
    handle: str | None
    name: str | None
    type: str | None
    country: str | None
    descriptions: list[str]
    remarks: list[str]
    links: list[Link]
    entities: list[Entity]
    port43: str | None
    self_url: str | None
    start_text: str = ""
    is_leaf: bool = True  # nothing is registered under an AS number

    def all_entities(self) -> list[Entity]:
        out: list[Entity] = []
        for e in self.entities:
            out.extend(e.walk())
        return out

    def link(self, *rels: str) -> str | None:
        return None


def parse_autnum(obj: dict[str, Any], url: str) -> Autnum:
    """An ``autnum`` object (LACNIC and NIC.br write the handle without ``AS``)."""
    if not obj:
        raise RdapMalformedError(url, "empty RDAP answer ({})")
    cls = _text(obj.get("objectClassName"))
    if cls is not None and cls.lower() != "autnum":
        raise RdapMalformedError(url, f"expected an autnum, got {cls!r}")
    try:
        start = int(obj.get("startAutnum") if obj.get("startAutnum") is not None else str(obj.get("handle", "")).upper().removeprefix("AS"))
        end = int(obj.get("endAutnum") if obj.get("endAutnum") is not None else start)
    except (TypeError, ValueError):
        raise RdapMalformedError(url, "autnum without a number") from None
    descriptions: list[str] = []
    remarks: list[str] = []
    for rem in obj.get("remarks") or []:
        if isinstance(rem, dict):
            lines = [_text(d) for d in rem.get("description") or [] if _text(d)]
            title = (_text(rem.get("title")) or "").lower()
            (descriptions if title in ("description", "") else remarks).extend(lines)  # type: ignore[arg-type]
    links = [Link(_text(lk.get("rel")), str(lk["href"]), _text(lk.get("type")))
             for lk in obj.get("links") or [] if isinstance(lk, dict) and isinstance(lk.get("href"), str)]
    return Autnum(
        start=start, end=end, handle=_text(obj.get("handle")), name=_text(obj.get("name")), type=_text(obj.get("type")),
        country=(_text(obj.get("country")) or "").upper() or None, descriptions=descriptions, remarks=remarks,
        links=links, entities=[e for e in (parse_entity(x) for x in obj.get("entities") or []) if e is not None],
        port43=_text(obj.get("port43")), self_url=next((lk.href for lk in links if lk.rel == "self"), None),
        start_text=f"AS{start}",
    )
