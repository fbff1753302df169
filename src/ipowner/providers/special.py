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
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ipowner._addr import Address, Addresses, parse, parse_all
from ipowner.model import AddressRecord, LookedThrough, Mechanism, RangeFact, SourceInfo, Special
from ipowner.providers.base import NO_RANGES, Facts, Provider, Ranges, apply_facts
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
        return LookedThrough(Mechanism.IPV4_MAPPED, str(MAPPED), str(_v4(v)))
    if ip in NAT64:
        return LookedThrough(Mechanism.NAT64, str(NAT64), str(_v4(v)))
    if ip in NAT64_LOCAL:
        # RFC 6052 section 2.2, /48 prefix: IPv4 bits 0-15 in address bits 48-63, bits 64-71 are
        # the reserved "u" octet, IPv4 bits 16-31 in address bits 72-87.
        high = (v >> 64) & 0xFFFF
        low = (v >> 40) & 0xFFFF
        return LookedThrough(Mechanism.NAT64_LOCAL, str(NAT64_LOCAL), str(_v4(high << 16 | low)))
    if ip in SIXTOFOUR:
        return LookedThrough(Mechanism.SIX_TO_FOUR, str(SIXTOFOUR), str(_v4(v >> 80)))
    if ip in TEREDO:
        # RFC 4380 section 4: server IPv4 in bits 32-63, client IPv4 inverted in the last 32 bits.
        server = _v4(v >> 64)
        client = _v4(~v)
        return LookedThrough(Mechanism.TEREDO, str(TEREDO), str(client), teredo_server=str(server))
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


@dataclass(frozen=True, slots=True)
class _Segments:
    """``SpecialRegistry.flat`` as this provider's answers: per family the segment starts and each
    segment's ranges (empty outside every block, one shared tuple per block inside), and for IPv6 the
    segments whose addresses carry an IPv4 address. ``direct`` answers by the first 8 bits where the
    whole /8 is one segment (most of them: only a few hold special blocks), None where a bisect must."""

    starts4: list[int]
    ranges4: list[Ranges]
    direct4: list[Ranges | None]
    starts6: list[int]
    ranges6: list[Ranges]
    carries6: list[bool]
    direct6: list[Ranges | None]


def _direct(starts: list[int], ranges: list[Ranges], bits: int, carries: list[bool] | None) -> list[Ranges | None]:
    out: list[Ranges | None] = []
    shift = bits - 8
    for top in range(256):
        lo, hi = top << shift, (top + 1) << shift
        k = bisect_right(starts, lo) - 1
        whole = k + 1 == len(starts) or starts[k + 1] >= hi
        out.append(ranges[k] if whole and not (carries and carries[k]) else None)
    return out


@lru_cache(maxsize=4)
def _segments(registry: SpecialRegistry, source_id: str) -> _Segments:
    flat = flat_registry(registry)
    made: dict[int, Ranges] = {}

    def ranges(blocks: list[Block | None]) -> list[Ranges]:
        out = []
        for b in blocks:
            if b is None:
                out.append(NO_RANGES)
            else:
                r = made.get(id(b))
                if r is None:
                    r = made[id(b)] = (block_fact(b, source_id),)
                out.append(r)
        return out

    (s4, b4, _t4), (s6, b6, t6) = flat[4], flat[6]
    r4, r6 = ranges(b4), ranges(b6)
    return _Segments(s4, r4, _direct(s4, r4, 32, None), s6, r6, t6, _direct(s6, r6, 128, t6))


def special_of(ranges: Ranges) -> RangeFact | None:
    """The special-purpose block among this provider's ranges for an address."""
    for r in ranges:
        if r.special is not None:
            return r
    return None


def looked_through(ranges: Ranges) -> LookedThrough | None:
    """The IPv4 address a translation address carries, from this provider's ranges for it."""
    for r in ranges:
        if r.special is None:
            for path, value, _sid in r.fields:
                if path == "looked_through":
                    through: LookedThrough = value
                    return through
    return None


@dataclass(slots=True)
class Classified:
    """A batch through the special-purpose provider: what it knows, and who is asked what next."""

    special: dict[int, Ranges]  # position -> its ranges, only where there are some (few: lookups are public)
    skipped: list[int]  # positions nothing further can be learnt about (``needs_lookup`` False), ascending
    asked: Addresses  # what the later providers are asked for every other position, in order: the
    #                   address itself, or the IPv4 address a translation address carries


class SpecialProvider(Provider):
    """Marks special-purpose addresses and looks through translation prefixes. No I/O past start-up."""

    name = "special"

    def __init__(self, data_dir: Path | None = None) -> None:
        self.registry, self.source = load_registry(data_dir)
        self._segments = _segments(self.registry, self.source.id)

    def sources(self) -> list[SourceInfo]:
        return [self.source]

    def segment_end(self, version: int, value: int) -> int:
        """The last address of the stretch of the registry's flat map that holds ``value``: a special-purpose
        block (or the part of it no more specific block cuts), or the ordinary space up to the next block."""
        seg = self._segments
        starts = seg.starts4 if version == 4 else seg.starts6
        k = bisect_right(starts, value)
        return starts[k] - 1 if k < len(starts) else (1 << (32 if version == 4 else 128)) - 1

    def facts_many(self, addresses: Addresses) -> Facts:
        special = self.classify_many(addresses).special
        return Facts([special.get(i, NO_RANGES) for i in range(len(addresses))])

    def classify_many(self, addresses: Addresses) -> Classified:
        """Each address's ranges, and what the later providers are to be asked."""
        seg = self._segments
        s4, f4, d4, s6, f6, t6, d6 = (seg.starts4, seg.ranges4, seg.direct4, seg.starts6, seg.ranges6,
                                      seg.carries6, seg.direct6)
        special: dict[int, Ranges] = {}
        skipped: list[int] = []
        carried: dict[int, Address] = {}
        bis = bisect_right
        # A public address (the common case) costs a list index or one bisect, and nothing else.
        for i, (v, n) in enumerate(zip(addresses.versions, addresses.values, strict=True)):
            if v == 4:
                r = d4[n >> 24]
                if r is None:
                    r = f4[bis(s4, n) - 1]
            else:
                r = d6[n >> 120]
                if r is None:
                    k = bis(s6, n) - 1
                    r = f6[k]
                    if t6[k]:
                        r, target = self._translation(addresses[i], r)
                        if r:
                            special[i] = r
                        if target is None:
                            skipped.append(i)
                        elif target[2] != n or target[1] != v:
                            carried[i] = target
                        continue
            if r:
                special[i] = r
                skipped.append(i)
        return Classified(special, skipped, addresses.without(skipped, carried))

    def _translation(self, address: Address, block: Ranges) -> tuple[Ranges, Address | None]:
        through = look_through(ipaddress.IPv6Address(address[2]))
        if through is None:
            return block, (None if block else address)
        got = parse(through.ipv4)
        assert got is not None  # dotted quads from ipaddress always parse
        inner = self.registry.block_of(4, got[2])
        through.special = inner.special() if inner is not None else None
        sid = self.source.id
        mine = RangeFact(start=address[2], end=address[2], version=6, source=sid,
                         fields=(("looked_through", through, sid),))
        return (*block, mine), (got if through.special is None else None)

    def classify(self, address: str) -> tuple[Special | None, LookedThrough | None]:
        """(special-purpose block, carried IPv4) of one address, as the record view gives them."""
        rec = AddressRecord(query=address, address=address)
        self.enrich([rec])
        return rec.special, rec.looked_through

    def enrich(self, records: list[AddressRecord]) -> None:
        """Every record's special-purpose block and carried IPv4 (special records are not skipped)."""
        special = self.classify_many(parse_all([r.address for r in records])).special
        known = {self.source.id: self.source}
        for i, ranges in special.items():
            apply_facts(records[i], ranges, known)
