"""DNS responses: the A/AAAA answers and the CNAME chain that led to each, read directly when plain,
by dnspython otherwise (same result either way)."""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field
from socket import AF_INET, inet_ntop

import dns.exception
import dns.message
import dns.rdatatype

from ipowner.capture.protocols.common import PayloadError, normalise_name


@dataclass(slots=True)
class DnsAnswer:
    """Address -> names (query name first, then the CNAME chain down to the owner of the record)."""

    query: str | None
    addresses: dict[str, list[str]] = field(default_factory=dict)


_Parsed = tuple[str | None, list[tuple[str, str]], dict[str, str]]  # query, (owner, address)s, CNAME target -> owner


def parse_dns_response(payload: bytes, quick: bool = True) -> DnsAnswer | None:
    """The A/AAAA answers of a DNS response with the CNAME chain that led to each; None for queries.

    Plain responses (one question, only A/AAAA/CNAME answers of class IN, letters, digits, '-' and '_'
    in names; beyond the answers only SOA/NS authority records, A/AAAA glue and an EDNS OPT record
    without options) are read directly; anything else, and everything with ``quick=False``, by dnspython.
    """
    if len(payload) < 12:
        raise PayloadError("DNS message shorter than its header")
    if not payload[2] & 0x80:
        return None  # a query
    parsed = _quick_dns(payload) if quick else None
    query, records, cname_parent = parsed if parsed is not None else _dnspython(payload)
    ans = DnsAnswer(query=query)
    for owner, addr in records:
        chain = [owner]
        seen = {owner}
        while chain[-1] in cname_parent and len(chain) < 32:
            parent = cname_parent[chain[-1]]
            if parent in seen:
                break
            seen.add(parent)
            chain.append(parent)
        chain.reverse()  # query name first
        names = ans.addresses.setdefault(addr, [])
        for n in chain:
            if n and n not in names:
                names.append(n)
    return ans


def _dnspython(payload: bytes) -> _Parsed:
    try:
        msg = dns.message.from_wire(payload, ignore_trailing=True, one_rr_per_rrset=True)
    except (dns.exception.DNSException, ValueError, IndexError, UnicodeError) as exc:
        raise PayloadError(f"malformed DNS response ({type(exc).__name__})") from None
    query = normalise_name(msg.question[0].name.to_text()) if msg.question else None
    cname_parent: dict[str, str] = {}  # target -> owner
    records: list[tuple[str, str]] = []
    for rrset in msg.answer:
        owner = normalise_name(rrset.name.to_text())
        for rd in rrset:
            if rd.rdtype == dns.rdatatype.CNAME and hasattr(rd, "target"):
                cname_parent.setdefault(normalise_name(rd.target.to_text()), owner)
            elif rd.rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA) and hasattr(rd, "address"):
                records.append((owner, ipaddress.ip_address(rd.address).compressed))
    return query, records, cname_parent


_PLAIN = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def _quick_name(p: bytes, pos: int) -> tuple[str, int] | None:
    """(name as normalise_name shows it, position after it), following pointers as dnspython does
    (each strictly before the last); None when dnspython should decide (escapes, bad labels or pointers)."""
    labels = []
    biggest = pos
    after = -1
    size = 1
    n = len(p)
    while True:
        if pos >= n:
            return None
        count = p[pos]
        if count == 0:
            pos += 1
            break
        if count < 64:
            label = p[pos + 1 : pos + 1 + count]
            if len(label) != count or not _PLAIN.issuperset(label):
                return None
            labels.append(label)
            size += count + 1
            pos += 1 + count
        elif count >= 192 and pos + 1 < n:
            target = ((count & 0x3F) << 8) | p[pos + 1]
            if target >= biggest:
                return None
            if after < 0:
                after = pos + 2
            biggest = pos = target
        else:
            return None
    if size > 255:
        return None
    return b".".join(labels).decode("ascii").lower(), after if after >= 0 else pos


_V6_TEXT: dict[bytes, str] = {}


def _quick_dns(p: bytes) -> _Parsed | None:
    """A plain response read directly, with the same result as ``_dnspython``; None for anything else."""
    if (p[2] >> 3) & 0xF:
        return None  # not a standard query's response
    qd, an, ns, ar = struct.unpack_from("!HHHH", p, 4)
    if qd != 1:
        return None
    r = _quick_name(p, 12)
    if r is None:
        return None
    query, pos = r
    pos += 4
    n = len(p)
    if pos > n or p[pos - 4 : pos - 2] in (b"\x00\xfb", b"\x00\xfc"):
        return None  # cut, or a zone transfer (IXFR/AXFR), which dnspython reads its own way
    records: list[tuple[str, str]] = []
    cname_parent: dict[str, str] = {}
    for _ in range(an):
        r = _quick_name(p, pos)
        if r is None:
            return None
        owner, pos = r
        if pos + 10 > n:
            return None
        rtype, rclass, _ttl, rdlen = struct.unpack_from("!HHIH", p, pos)
        pos += 10
        end = pos + rdlen
        if end > n or rclass != 1:
            return None
        if rtype == 1 and rdlen == 4:
            records.append((owner, inet_ntop(AF_INET, p[pos:end])))  # the same dotted quad as ipaddress
        elif rtype == 28 and rdlen == 16:
            # ipaddress's form (which differs from inet_ntop's for some), remembered: answers repeat
            raw = p[pos:end]
            text = _V6_TEXT.get(raw)
            if text is None:
                if len(_V6_TEXT) >= 4096:
                    _V6_TEXT.clear()
                text = _V6_TEXT[raw] = ipaddress.IPv6Address(raw).compressed
            records.append((owner, text))
        elif rtype == 5:
            r = _quick_name(p, pos)
            if r is None or r[1] != end:
                return None
            cname_parent.setdefault(r[0], owner)
        else:
            return None
        pos = end
    if (ns or ar) and _quick_skip(p, pos, ns, ar) is None:
        return None
    return query, records, cname_parent


def _quick_skip(p: bytes, pos: int, ns: int, ar: int) -> int | None:
    """Position after the authority and additional sections when dnspython would read them without
    complaint and they hold only what gives no name here: SOA or NS records (a negative answer, a
    delegation), A/AAAA glue, one EDNS OPT record without options; None for anything else."""
    n = len(p)
    opt = False
    for i in range(ns + ar):
        if i >= ns and p[pos : pos + 3] == b"\x00\x00\x29":
            # OPT: a root owner, type 41; with no data there is nothing in it for dnspython to reject
            if opt or pos + 11 > n or p[pos + 9 : pos + 11] != b"\x00\x00":
                return None
            opt = True
            pos += 11
            continue
        r = _quick_name(p, pos)
        if r is None or r[1] + 10 > n:
            return None
        pos = r[1]
        rtype, rclass, _ttl, rdlen = struct.unpack_from("!HHIH", p, pos)
        pos += 10
        end = pos + rdlen
        if end > n or rclass != 1:
            return None
        if i < ns:
            if rtype == 2:  # NS: one name filling the data
                r = _quick_name(p, pos)
                if r is None or r[1] != end:
                    return None
            elif rtype == 6:  # SOA: two names, five 32-bit numbers
                r = _quick_name(p, pos)
                r = _quick_name(p, r[1]) if r is not None else None
                if r is None or r[1] + 20 != end:
                    return None
            else:
                return None
        elif not (rtype == 1 and rdlen == 4 or rtype == 28 and rdlen == 16):
            return None
        pos = end
    return pos
