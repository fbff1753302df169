"""Special-purpose addresses (IANA's registries, ``reference.iana``) and the IPv4 inside translation addresses.

This provider runs first: it marks special addresses (which nothing else may look up, and which never
cause a network request) and extracts the IPv4 address from NAT64, 6to4, Teredo and IPv4-mapped
addresses so that later providers attribute that instead.

Its facts for an address: the special-purpose block's ``RangeFact`` (one per block, shared; ``special``
is the label, ``name`` IANA's name, ``fields`` the prefix, RFC and reachability), and for a translation
address a second fact of that one address whose ``looked_through`` field is the IPv4 it carries.
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_right
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from ipowner._addr import Address, parse, parse_address
from ipowner.model import AddressRecord, LookedThrough, RangeFact, SourceInfo, Special
from ipowner.providers.base import NO_FACTS, Facts, Provider, apply_facts
from ipowner.reference.iana import (
    MAPPED,
    NAT64,
    NAT64_LOCAL,
    SIXTOFOUR,
    TEREDO,
    TRANSLATION_LABELS,
    Block,
    SpecialRegistry,
    flat_registry,
    load_registry,
)


def _v4(value: int) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(value & 0xFFFFFFFF)


def look_through(ip: ipaddress.IPv6Address) -> LookedThrough | None:
    """The IPv4 address an IPv6 translation or tunnel address carries, if it is one."""
    v = int(ip)
    if ip in MAPPED:
        return LookedThrough("ipv4-mapped", str(MAPPED), str(_v4(v)))
    if ip in NAT64:
        return LookedThrough("nat64", str(NAT64), str(_v4(v)))
    if ip in NAT64_LOCAL:
        # RFC 6052 section 2.2, /48 prefix: IPv4 bits 0-15 in address bits 48-63, bits 64-71 are
        # the reserved "u" octet, IPv4 bits 16-31 in address bits 72-87.
        high = (v >> 64) & 0xFFFF
        low = (v >> 40) & 0xFFFF
        return LookedThrough("nat64-local", str(NAT64_LOCAL), str(_v4(high << 16 | low)))
    if ip in SIXTOFOUR:
        return LookedThrough("6to4", str(SIXTOFOUR), str(_v4(v >> 80)))
    if ip in TEREDO:
        # RFC 4380 section 4: server IPv4 in bits 32-63, client IPv4 inverted in the last 32 bits.
        server = _v4(v >> 64)
        client = _v4(~v)
        return LookedThrough("teredo", str(TEREDO), str(client), teredo_server=str(server))
    return None


def block_fact(block: Block, source_id: str) -> RangeFact:
    """The shared fact of one special-purpose block."""
    net = block.network
    sid = source_id
    # The translation blocks get the mechanism's name, not IANA's abbreviated one.
    label = TRANSLATION_LABELS.get(net, block.label) if isinstance(net, ipaddress.IPv6Network) else block.label
    return RangeFact(
        start=int(net.network_address), end=int(net.broadcast_address), version=net.version, source=sid,
        special=label, name=block.name,
        fields=(("special.prefix", str(net), sid), ("special.rfc", block.rfc, sid),
                ("special.globally_reachable", block.globally_reachable, sid)),
    )


# Per registry and source: (v4 starts, v4 facts, v6 starts, v6 facts, v6 translation flags), the facts
# being NO_FACTS outside every block and one shared Facts per block inside.
_Segments = tuple[list[int], list[Facts], list[int], list[Facts], list[bool]]


@lru_cache(maxsize=4)
def _segments(registry: SpecialRegistry, source_id: str) -> _Segments:
    flat = flat_registry(registry)
    made: dict[int, Facts] = {}

    def facts(blocks: list[Block | None]) -> list[Facts]:
        out = []
        for b in blocks:
            if b is None:
                out.append(NO_FACTS)
            else:
                f = made.get(id(b))
                if f is None:
                    f = made[id(b)] = Facts((block_fact(b, source_id),))
                out.append(f)
        return out

    return flat[4][0], facts(flat[4][1]), flat[6][0], facts(flat[6][1]), flat[6][2]


def special_of(facts: Facts) -> RangeFact | None:
    """The special-purpose block among this provider's facts for an address."""
    for r in facts.ranges:
        if r.special is not None:
            return r
    return None


def looked_through(facts: Facts) -> LookedThrough | None:
    """The IPv4 address a translation address carries, from this provider's facts for it."""
    for r in facts.ranges:
        if r.special is None:
            for path, value, _sid in r.fields:
                if path == "looked_through":
                    return value  # type: ignore[no-any-return]
    return None


class SpecialProvider(Provider):
    """Marks special-purpose addresses and looks through translation prefixes. No I/O past start-up."""

    name = "special"

    def __init__(self, data_dir: Path | None = None) -> None:
        self.registry, self.source = load_registry(data_dir)
        self._segments = _segments(self.registry, self.source.id)

    def sources(self) -> list[SourceInfo]:
        return [self.source]

    def facts_many(self, addresses: Sequence[Address]) -> list[Facts]:
        return self.classify_many(addresses)[0]

    def classify_many(self, addresses: Sequence[Address]) -> tuple[list[Facts], list[Address | None]]:
        """Each address's facts, and what later providers are to be asked about it: the address itself,
        the IPv4 address it carries, or None when nothing further can be learnt (``needs_lookup``)."""
        s4, f4, s6, f6, t6 = self._segments
        facts: list[Facts] = []
        targets: list[Address | None] = []
        put, aim, bis = facts.append, targets.append, bisect_right
        for a in addresses:
            n = a[2]
            if a[1] == 4:
                f = f4[bis(s4, n) - 1]
            else:
                i = bis(s6, n) - 1
                if t6[i]:
                    f, target = self._translation(a, f6[i])
                    put(f)
                    aim(target)
                    continue
                f = f6[i]
            put(f)
            aim(a if f is NO_FACTS else None)
        return facts, targets

    def _translation(self, address: Address, block: Facts) -> tuple[Facts, Address | None]:
        through = look_through(ipaddress.IPv6Address(address[2]))
        if through is None:
            return block, (address if block is NO_FACTS else None)
        got = parse(through.ipv4)
        assert got is not None  # dotted quads from ipaddress always parse
        inner = self.registry.block_of(4, got[2])
        through.special = inner.special() if inner is not None else None
        sid = self.source.id
        mine = RangeFact(start=address[2], end=address[2], version=6, source=sid,
                         fields=(("looked_through", through, sid),))
        return Facts((*block.ranges, mine)), (got if through.special is None else None)

    def classify(self, address: str) -> tuple[Special | None, LookedThrough | None]:
        """(special-purpose block, carried IPv4) of one address, as the record view gives them."""
        rec = AddressRecord(query=address, address=address)
        self._apply(rec, self.facts(parse_address(address)))
        return rec.special, rec.looked_through

    def enrich(self, records: list[AddressRecord]) -> None:
        """Every record's special-purpose block and carried IPv4 (special records are not skipped)."""
        facts, _targets = self.classify_many([parse_address(r.address) for r in records])
        for rec, f in zip(records, facts, strict=True):
            if f is not NO_FACTS:
                self._apply(rec, f)

    def _apply(self, record: AddressRecord, facts: Facts) -> None:
        apply_facts(record, facts, {self.source.id: self.source})
