"""Parse RDAP objects (RFC 9083) into plain records, absorbing the quirks registries really send.

Seen in recorded answers: ARIN zero-padded IPv4 (``074.125.000.000``) and fully expanded upper-case
IPv6; RIPE ``startAddress`` written ``62.239.237.0/32`` and no ``objectClassName``; RIPE maintainers
(``*-MNT``) in the registrant role; AFRINIC entities without roles; ``errorCode`` as a string; ``{}``.

Answers are untrusted: the decoder refuses bodies nested deeper than ``MAX_DEPTH``, and every member is
read through a typed accessor (``_list``, ``_dicts``, ``_text``), so a member of the wrong type counts as
absent instead of raising in the middle of a run.
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
from ipowner.reference.countries import normalise_country_code

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


# Real answers nest at most 12 levels (network > entities > entity > vcardArray > property > value ...);
# three times that leaves room for deeper entity trees and still stops a body built to exhaust the stack.
MAX_DEPTH = 32


def is_leaf_type(type_: str | None) -> bool:
    return type_ is not None and type_.strip().upper() in LEAF_TYPES


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
    country_note: str | None = None  # why a country written in the vCard gave no code (the raw text)

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
    country_note: str | None = None  # why the ``country`` member gave no code (the raw text, quoted)

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


def decode(body: bytes, url: str, *, what: str = "RDAP body") -> dict[str, Any]:
    """The JSON object in a body, or ``RdapMalformedError`` (not JSON, not an object, nested too deep)."""
    try:
        obj = json.loads(body.decode("utf-8-sig"))
    except RecursionError:
        raise RdapMalformedError(url, f"malformed {what}: nested deeper than {MAX_DEPTH} levels") from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise RdapMalformedError(url, f"malformed {what}: not JSON ({exc.__class__.__name__})") from None
    if not isinstance(obj, dict):
        raise RdapMalformedError(url, f"malformed {what}: a JSON {type(obj).__name__}, not an object")
    if _deeper_than(obj, MAX_DEPTH):
        raise RdapMalformedError(url, f"malformed {what}: nested deeper than {MAX_DEPTH} levels")
    return obj


def _deeper_than(obj: Any, limit: int) -> bool:
    """True when containers nest more than ``limit`` levels (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values() if isinstance(v, (dict, list)))
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node if isinstance(v, (dict, list)))
    return False


def _list(value: Any) -> list[Any]:
    """A JSON array member, or nothing when it is missing or of another type."""
    return value if isinstance(value, list) else []


def _dicts(value: Any) -> list[dict[str, Any]]:
    """The objects of a JSON array member (other items and other types are skipped)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _lines(value: Any) -> list[str]:
    """The non-empty text lines of a ``description`` array (a lone string counts as one line)."""
    items = value if isinstance(value, list) else [value]
    return [t for t in (_text(v) for v in items) if t]


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
    detail = "; ".join(_lines(obj.get("description")))
    reason = f"registry error {code}" + (f" {title}" if title else "") + (f" ({detail})" if detail and detail != title else "")
    cls = RdapNotFoundError if code == 404 else RdapErrorObject
    return cls(url, reason, code, title)


def _text(value: Any) -> str | None:
    """A scalar member as text; None when missing, empty, or a container (an array or object is no text)."""
    if value is None or isinstance(value, (dict, list)):
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
        name, params, value = (_text(prop[0]) or "").lower(), prop[1] if isinstance(prop[1], dict) else {}, prop[3]
        if name == "fn":
            entity.fn = _text(value)
        elif name == "kind":
            entity.kind = (_text(value) or "").lower() or None
        elif name == "org":
            entity.org = _text(value[0] if isinstance(value, list) and value else value)
        elif name == "email":
            if (email := _text(value)) is not None:
                entity.emails.append(email)
        elif name == "tel":
            if (tel := _text(value)) is not None:
                entity.phones.append(tel)
        elif name == "adr":
            label = _text(params.get("label"))
            entity.address = label or entity.address
            cc = _text(params.get("cc"))
            name_part = _text(value[6]) if isinstance(value, list) and len(value) > 6 else None
            from_label = country_from_label(label)
            if cc and (code := country_code(cc)):
                entity.country, entity.country_basis = code, "vcard adr cc"
            elif name_part and (code := country_code(name_part)):
                entity.country, entity.country_basis = code, "vcard adr country-name"
            elif from_label:
                entity.country, entity.country_basis = from_label, "vcard adr label"
            elif cc or name_part:
                entity.country_note = f"address country {(cc or name_part or '')[:40]!r} is not an ISO 3166 country"


def parse_entity(obj: Any, depth: int = 0) -> Entity | None:
    if not isinstance(obj, dict) or not obj:
        return None
    ent = Entity(
        handle=_text(obj.get("handle")),
        roles=[r.lower() for r in (_text(x) for x in _list(obj.get("roles"))) if r],
        depth=depth,
    )
    _vcard(ent, obj.get("vcardArray"))
    for sub in _dicts(obj.get("entities")):
        child = parse_entity(sub, depth + 1)
        if child is not None:
            ent.entities.append(child)
    for rem in _dicts(obj.get("remarks")):
        ent.remarks.extend(_lines(rem.get("description")))
    for lk in _dicts(obj.get("links")):
        if lk.get("rel") == "self":
            ent.self_url = _text(lk.get("href"))
    return ent


Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _cidrs(obj: dict[str, Any], start: Address, end: Address) -> list[str]:
    out = []
    for c in _dicts(obj.get("cidr0_cidrs")):
        prefix = c.get("v4prefix") or c.get("v6prefix")
        length = c.get("length")
        if not isinstance(length, int) or isinstance(length, bool):
            continue
        try:
            cidr = ipaddress.ip_network(f"{parse_address(prefix)}/{length}", strict=False)
        except ValueError:
            continue
        # A CIDR outside the network's own range is not one of its parts.
        if int(cidr.network_address) >= int(start) and int(cidr.broadcast_address) <= int(end):
            out.append(str(cidr))
    if out:
        return out
    if isinstance(start, ipaddress.IPv4Address) and isinstance(end, ipaddress.IPv4Address):
        return [str(n) for n in ipaddress.summarize_address_range(start, end)]
    if isinstance(start, ipaddress.IPv6Address) and isinstance(end, ipaddress.IPv6Address):
        return [str(n) for n in ipaddress.summarize_address_range(start, end)]
    return []


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
    descriptions, remarks = _remarks(obj)
    events = {}
    for ev in _dicts(obj.get("events")):
        events[(_text(ev.get("eventAction")) or "").lower()] = _date(ev.get("eventDate"))
    links = _links(obj)
    entities = [e for e in (parse_entity(x) for x in _dicts(obj.get("entities"))) if e is not None]
    autnums = obj.get("arin_originas0_originautnums") or obj.get("nicbr_autnum") or []
    if not isinstance(autnums, list):
        autnums = [autnums]
    country, country_note = normalise_country_code(obj.get("country"))  # the raw text kept as evidence
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
        country=country,
        parent_handle=_text(obj.get("parentHandle")),
        status=[t for t in (_text(x) for x in _list(obj.get("status"))) if t],
        registration=events.get("registration"),
        last_changed=events.get("last changed"),
        descriptions=descriptions,
        remarks=remarks,
        links=links,
        entities=entities,
        port43=_text(obj.get("port43")),
        origin_autnums=[n for n in (_asn(a) for a in autnums) if n is not None],
        self_url=next((lk.href for lk in links if (lk.rel or "").lower() == "self"), None),
        object_class=cls,
        country_note=country_note,
    )
    return net


def _asn(value: Any) -> int | None:
    """An AS number written as a number or as decimal ASCII digits (``"²"`` is a digit to ``str.isdigit``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value < 1 << 32 else None
    text = _text(value)
    if text is not None and text.isascii() and text.isdigit() and len(text) <= 10 and int(text) < 1 << 32:
        return int(text)
    return None


def _remarks(obj: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(description lines, other remark lines) of an object's ``remarks``."""
    descriptions: list[str] = []
    remarks: list[str] = []
    for rem in _dicts(obj.get("remarks")):
        title = (_text(rem.get("title")) or "").lower()
        # APNIC titles descr "description"; old RIPE answers carry descr as untitled remarks.
        (descriptions if title in ("description", "") else remarks).extend(_lines(rem.get("description")))
    return descriptions, remarks


def _links(obj: dict[str, Any]) -> list[Link]:
    return [Link(_text(lk.get("rel")), lk["href"], _text(lk.get("type")))
            for lk in _dicts(obj.get("links")) if isinstance(lk.get("href"), str)]


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
    country_note: str | None = None

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
    first = obj.get("startAutnum")
    start = _asn(first if first is not None else (_text(obj.get("handle")) or "").upper().removeprefix("AS"))
    last = obj.get("endAutnum")
    end = _asn(last) if last is not None else start
    if start is None or end is None or end < start:
        raise RdapMalformedError(url, "autnum without a number")
    descriptions, remarks = _remarks(obj)
    links = _links(obj)
    country, country_note = normalise_country_code(obj.get("country"))  # the raw text kept as evidence
    return Autnum(
        start=start, end=end, handle=_text(obj.get("handle")), name=_text(obj.get("name")), type=_text(obj.get("type")),
        country=country, descriptions=descriptions, remarks=remarks, country_note=country_note,
        links=links, entities=[e for e in (parse_entity(x) for x in _dicts(obj.get("entities"))) if e is not None],
        port43=_text(obj.get("port43")), self_url=next((lk.href for lk in links if lk.rel == "self"), None),
        start_text=f"AS{start}",
    )
