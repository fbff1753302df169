"""The one address codec: text to (canonical text, version, integer) and back.

Every stage that holds an address parses it here. The hot paths use ``parse``, the C socket functions
instead of ``ipaddress`` objects: ``inet_pton`` is strict (no leading zeros, no short IPv4 forms, no
zone ids), so what it accepts is also what ``ipaddress`` accepts, and anything it refuses goes to
``parse_address``, which keeps ``ipaddress``'s messages and edge cases.

An ``Address`` is a plain tuple ``(text, version, value)``: the canonical text (RFC 5952, an IPv4-mapped
address with its dotted quad, as ``canonical`` below writes it), 4 or 6, and the
address as an integer. A plain tuple costs a quarter of a named one, and batches hold one per address.
"""

from __future__ import annotations

import ipaddress
import socket
from bisect import bisect_left
from collections.abc import Iterable, Iterator
from itertools import compress
from typing import TypeAlias

Address: TypeAlias = tuple[str, int, int]  # (canonical text, version, integer value)

_PTON, _NTOP = socket.inet_pton, socket.inet_ntop
_AF4, _AF6 = socket.AF_INET, socket.AF_INET6
_FROM = int.from_bytes  # big-endian by default
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
        n = _FROM(packed)
        if n >> 32 == 0:
            return None
        return _NTOP(_AF6, packed), 6, n
    try:
        packed = _PTON(_AF4, text)
    except (OSError, ValueError, TypeError):
        return None
    return text, 4, _FROM(packed)


def parse_address(text: str) -> Address:
    """The address of any text ``ipaddress.ip_address`` accepts; ``ValueError`` (its message) otherwise."""
    got = parse(text)
    if got is not None:
        return got
    ip = ipaddress.ip_address(text)
    return canonical(ip), ip.version, int(ip)


class Addresses:
    """A batch of addresses by column: canonical texts, versions, integer values.

    Iterating gives ``Address`` tuples (made by ``zip``, which reuses one tuple while nobody keeps it),
    so a batch costs three lists, not an object per address: a long run leaves the garbage collector
    nothing to count but what it keeps.
    """

    __slots__ = ("texts", "versions", "values")

    def __init__(self, texts: list[str] | None = None, versions: list[int] | None = None,
                 values: list[int] | None = None) -> None:
        self.texts: list[str] = texts if texts is not None else []
        self.versions: list[int] = versions if versions is not None else []
        self.values: list[int] = values if values is not None else []

    @classmethod
    def of(cls, addresses: Iterable[Address]) -> Addresses:
        out = cls()
        for a in addresses:
            out.append(a)
        return out

    def append(self, address: Address) -> None:
        self.texts.append(address[0])
        self.versions.append(address[1])
        self.values.append(address[2])

    def insert(self, i: int, address: Address) -> None:
        self.texts.insert(i, address[0])
        self.versions.insert(i, address[1])
        self.values.insert(i, address[2])

    def __len__(self) -> int:
        return len(self.texts)

    def __iter__(self) -> Iterator[Address]:
        return zip(self.texts, self.versions, self.values, strict=True)

    def __getitem__(self, i: int) -> Address:
        return self.texts[i], self.versions[i], self.values[i]

    def __repr__(self) -> str:
        return f"Addresses({self.texts!r})"

    def without(self, skipped: list[int], replaced: dict[int, Address] | None = None) -> Addresses:
        """The batch without the positions ``skipped`` (ascending), and with the addresses ``replaced``
        gives in place of those at its positions (positions of this batch)."""
        if not skipped and not replaced:
            return self
        keep = [True] * len(self.texts)
        for i in skipped:
            keep[i] = False
        out = Addresses(list(compress(self.texts, keep)), list(compress(self.versions, keep)),
                        list(compress(self.values, keep)))
        for i, (text, version, value) in (replaced or {}).items():
            j = i - bisect_left(skipped, i)  # its position once the skipped ones are gone
            out.texts[j], out.versions[j], out.values[j] = text, version, value
        return out


def parse_many(texts: list[str]) -> tuple[Addresses, list[int]]:
    """``parse`` of every text of a batch, in one loop: the plain addresses, and the positions of the
    texts ``parse_address`` (or a query parser) must decide."""
    out = Addresses()
    put_text, put_version, put_value = out.texts.append, out.versions.append, out.values.append
    others: list[int] = []
    pton, ntop, frombytes, af4, af6 = _PTON, _NTOP, _FROM, _AF4, _AF6
    for q in texts:
        try:
            if ":" in q:
                packed = pton(af6, q)
                n = frombytes(packed)
                if n >> 32 == 0:
                    raise ValueError  # IPv4-compatible ::/96: the C library prints it differently
                put_text(ntop(af6, packed))
                put_version(6)
            else:
                n = frombytes(pton(af4, q))
                put_text(q)
                put_version(4)
            put_value(n)
        except (OSError, ValueError, TypeError):
            others.append(len(out.texts) + len(others))  # its position in the batch
    return out, others


def parse_all(texts: list[str]) -> Addresses:
    """``parse_address`` of every text of a batch, as one ``Addresses`` (``ValueError`` for a text that is
    no address)."""
    out, others = parse_many(texts)
    for i in others:
        out.insert(i, parse_address(texts[i]))
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
