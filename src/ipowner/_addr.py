"""The one address codec: text to (canonical text, version, integer) and back.

Every stage that holds an address parses it here. The hot paths use ``parse``, the C socket functions
instead of ``ipaddress`` objects: ``inet_pton`` is strict (no leading zeros, no short IPv4 forms, no
zone ids), so what it accepts is also what ``ipaddress`` accepts, and anything it refuses goes to
``parse_address``, which keeps ``ipaddress``'s messages and edge cases.

An ``Address`` is a plain tuple ``(text, version, value)``: the canonical text (RFC 5952, an IPv4-mapped
address with its dotted quad, as ``model.address.canonical_address`` writes it), 4 or 6, and the
address as an integer. A plain tuple costs a quarter of a named one, and batches hold one per address.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import TypeAlias

Address: TypeAlias = tuple[str, int, int]  # (canonical text, version, integer value)

_PTON, _NTOP = socket.inet_pton, socket.inet_ntop
_AF4, _AF6 = socket.AF_INET, socket.AF_INET6
_FROM = int.from_bytes
_SUFFIX = [f"/{p}" for p in range(129)]


def parse(text: str) -> Address | None:
    """The address of a plain address text, or None to ask ``parse_address`` (which decides).

    The IPv4-compatible ``::/96`` block (which the C library prints dotted) goes the slow way.
    """
    if ":" in text:
        try:
            packed = _PTON(_AF6, text)
        except (OSError, ValueError):
            return None
        n = _FROM(packed, "big")
        if n >> 32 == 0:
            return None
        return _NTOP(_AF6, packed), 6, n
    try:
        packed = _PTON(_AF4, text)
    except (OSError, ValueError, TypeError):
        return None
    return text, 4, _FROM(packed, "big")


def parse_address(text: str) -> Address:
    """The address of any text ``ipaddress.ip_address`` accepts; ``ValueError`` (its message) otherwise."""
    got = parse(text)
    if got is not None:
        return got
    ip = ipaddress.ip_address(text)
    return canonical(ip), ip.version, int(ip)


def parse_many(texts: list[str]) -> list[Address | None]:
    """``parse`` of every text of a batch, in one loop (None where ``parse_address`` must decide)."""
    out: list[Address | None] = []
    put = out.append
    pton, ntop, frombytes, af4, af6 = _PTON, _NTOP, _FROM, _AF4, _AF6
    for q in texts:
        try:
            if ":" in q:
                packed = pton(af6, q)
                n = frombytes(packed, "big")
                put((ntop(af6, packed), 6, n) if n >> 32 else None)
            else:
                put((q, 4, frombytes(pton(af4, q), "big")))
        except (OSError, ValueError, TypeError):
            put(None)
    return out


def canonical(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """RFC 5952 text form, the same on every Python version (IPv4-mapped keeps its dotted quad)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"::ffff:{ip.ipv4_mapped}"
        if ip.scope_id:
            ip = ipaddress.IPv6Address(int(ip))
    return str(ip)


def canonical_text(text: str) -> str:
    """The canonical text of an address text (``ValueError`` when it is none)."""
    return parse_address(text)[0]


def text4(n: int) -> str:
    """Dotted quad of an IPv4 integer."""
    return _NTOP(_AF4, n.to_bytes(4, "big"))


def text6(n: int) -> str:
    """RFC 5952 text of an IPv6 integer (for ranges; addresses go through ``parse``)."""
    return _NTOP(_AF6, n.to_bytes(16, "big"))


def network_text(version: int, value: int, prefixlen: int) -> str:
    """The CIDR block of ``prefixlen`` bits that holds ``value`` ("8.8.8.0/24"), without ``ipaddress``."""
    if version == 4:
        shift = 32 - prefixlen
        return _NTOP(_AF4, (value >> shift << shift).to_bytes(4, "big")) + _SUFFIX[prefixlen]
    shift = 128 - prefixlen
    return _NTOP(_AF6, (value >> shift << shift).to_bytes(16, "big")) + _SUFFIX[prefixlen]
