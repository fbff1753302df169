"""Special-purpose addresses from IANA's registries, and IPv4 carried inside IPv6 translation addresses.

The registries ship as IANA's own CSV exports in ``data/`` and are parsed at run time, so updating
them is a file copy. This provider runs first: it marks special addresses (which nothing else may
look up, and which never cause a network request) and extracts the IPv4 address from NAT64, 6to4,
Teredo and IPv4-mapped addresses so that later providers attribute that instead.
"""

from __future__ import annotations

import csv
import ipaddress
import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from ipowner._addr import parse
from ipowner.model import AddressRecord, LookedThrough, Mechanism, SourceInfo, SourceKind, Special
from ipowner.paths import shipped

IPV4_SPECIAL = "iana-ipv4-special-registry.csv"
IPV6_SPECIAL = "iana-ipv6-special-registry.csv"
IPV4_SPACE = "ipv4-address-space.csv"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# IANA names -> the labels users filter on; any other block is labelled by a slug of its IANA name.
_LABELS = {
    "private-use": "private",
    "unique-local": "private",
    "loopback": "loopback",
    "loopback address": "loopback",
    "link local": "link-local",
    "link-local unicast": "link-local",
    "shared address space": "shared",
    "benchmarking": "benchmarking",
    "reserved": "reserved",
    "this network": "reserved",
    "this host on this network": "unspecified",
    "unspecified address": "unspecified",
    "limited broadcast": "broadcast",
    "ipv4-mapped address": "ipv4-mapped",
    "teredo": "teredo",
    "6to4": "6to4",
}

# Translation prefixes whose embedded IPv4 is looked through (label, mechanism).
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_6TO4 = ipaddress.IPv6Network("2002::/16")
_TEREDO = ipaddress.IPv6Network("2001::/32")
_TRANSLATION_LABELS = {_NAT64: "nat64", _NAT64_LOCAL: "nat64-local"}
_THROUGH = (_MAPPED, _NAT64, _NAT64_LOCAL, _6TO4, _TEREDO)  # every prefix look_through() knows

# Multicast is its own IANA registry, not part of the special-purpose ones.
_MULTICAST = [
    (ipaddress.IPv6Network("ff00::/8"), "Multicast", "[RFC4291]"),
]
_MULTICAST_V4 = (ipaddress.IPv4Network("224.0.0.0/4"), "Multicast", "[RFC5771]")

# IANA "Internet Protocol Version 6 Address Space": everything outside 2000::/3 that is neither
# listed above nor ULA/link-local/multicast is "Reserved by IETF" (RFC 4291), i.e. unallocated.
_V6_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_V6_RESERVED_BY_IETF = [
    "::/8", "100::/8", "200::/7", "400::/6", "800::/5", "1000::/4", "4000::/3", "6000::/3",
    "8000::/3", "a000::/3", "c000::/3", "e000::/4", "f000::/5", "f800::/6", "fe00::/9",
]
_V6_SITE_LOCAL = ipaddress.IPv6Network("fec0::/10")  # deprecated by RFC 3879

_FOOTNOTE = re.compile(r"\s*\[\d+\]")
_ALLOCATION = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, slots=True)
class Block:
    network: IPNetwork
    label: str
    name: str
    rfc: str | None
    globally_reachable: bool | None
    rank: int  # tier: 0 special-purpose registries, 1 other IANA facts, 2 the IPv4 /8 registry

    def special(self) -> Special:
        return Special(
            label=self.label,
            name=self.name,
            prefix=str(self.network),
            rfc=self.rfc,
            globally_reachable=self.globally_reachable,
        )


def _slug(name: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return s or "special"


def label_for(name: str) -> str:
    key = name.strip().lower()
    if key in _LABELS:
        return _LABELS[key]
    if key.startswith("documentation"):
        return "documentation"
    return _slug(name)


def _clean(cell: str) -> str:
    """Cell text without footnote markers and with multi-line cells joined."""
    return " ".join(_FOOTNOTE.sub("", cell).split())


def _bool(cell: str) -> bool | None:
    v = _clean(cell).lower()
    if v == "true":
        return True
    if v == "false":
        return False
    return None  # "N/A", empty (terminated blocks)


def _rfc(cell: str) -> str | None:
    v = _clean(cell)
    return v or None


def parse_special_registry(path: Path) -> list[Block]:
    """Blocks of one IANA special-purpose registry CSV (IPv4 or IPv6)."""
    blocks: list[Block] = []
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            name = _clean(row.get("Name") or "").strip('"')
            # A cell can hold several prefixes ("192.0.0.170/32, 192.0.0.171/32").
            for part in _clean(row.get("Address Block") or "").split(","):
                part = part.strip()
                if not part:
                    continue
                blocks.append(
                    Block(
                        network=ipaddress.ip_network(part, strict=False),
                        label=label_for(name),
                        name=name,
                        rfc=_rfc(row.get("RFC") or ""),
                        globally_reachable=_bool(row.get("Globally Reachable") or ""),
                        rank=0,
                    )
                )
    return blocks


def parse_ipv4_space(path: Path) -> list[Block]:
    """The /8s IANA itself reserves (multicast, future use) or has not allocated."""
    blocks: list[Block] = []
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            status = _clean(next((v for k, v in row.items() if k and k.startswith("Status")), "")).upper()
            if status in ("ALLOCATED", "LEGACY"):
                continue
            first = int(_clean(row["Prefix"]).split("/")[0])
            designation = _clean(row.get("Designation") or "")
            rfc = None
            if status == "UNALLOCATED":
                label = "unallocated"
            elif designation.lower().startswith("multicast"):
                label, rfc = "multicast", _MULTICAST_V4[2]
            else:
                label = "reserved"
            blocks.append(
                Block(
                    network=ipaddress.IPv4Network(f"{first}.0.0.0/8"),
                    label=label,
                    name=designation or status.title(),
                    rfc=rfc,
                    globally_reachable=False,
                    rank=2,
                )
            )
    return blocks


def _newest_allocation(paths: Iterable[Path]) -> datetime | None:
    """Newest "Allocation Date" in the registries: the snapshot is at least that recent."""
    newest: datetime | None = None
    for path in paths:
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                m = _ALLOCATION.match(_clean(row.get("Allocation Date") or ""))
                if m:
                    d = datetime(int(m.group(1)), int(m.group(2)), 1, tzinfo=UTC)
                    newest = d if newest is None or d > newest else newest
    return newest


class SpecialRegistry:
    """Most-specific match over the special-purpose blocks, tier by tier.

    Tier 0 is the special-purpose registries themselves; tier 1 the other IANA facts (multicast,
    IPv6 space reserved by the IETF); tier 2 the IPv4 /8 address-space registry. A lower tier wins
    even when a higher tier has a longer prefix (240.0.0.0/4 "Reserved" is reported, not the
    240.0.0.0/8 "Future use" entry of the /8 registry).
    """

    def __init__(self, blocks: Iterable[Block]) -> None:
        by_len: dict[tuple[int, int, int], dict[int, Block]] = {}
        for b in blocks:
            table = by_len.setdefault((b.network.version, b.rank, b.network.prefixlen), {})
            table.setdefault(int(b.network.network_address), b)
        # Per family: (tier, prefix length, table), tiers ascending, lengths descending.
        self._tables: dict[int, list[tuple[int, int, dict[int, Block]]]] = {}
        for (version, tier, plen), table in by_len.items():
            self._tables.setdefault(version, []).append((tier, plen, table))
        for tables in self._tables.values():
            tables.sort(key=lambda t: (t[0], -t[1]))

    def block(self, ip: IPAddress) -> Block | None:
        shift_base = 32 if ip.version == 4 else 128
        value = int(ip)
        for _tier, plen, table in self._tables.get(ip.version, []):
            shift = shift_base - plen
            b = table.get(value >> shift << shift)
            if b is not None:
                return b
        return None

    def classify(self, ip: IPAddress) -> Special | None:
        b = self.block(ip)
        return b.special() if b else None

    def flat(self, version: int) -> tuple[list[int], list[Block | None], list[bool]]:
        """The same answers as ``block`` as sorted disjoint segments: (starts, block, translation) per segment.

        ``blocks[bisect_right(starts, n) - 1]`` is ``block(n)``, for the hot paths that hold integers;
        ``translation`` says the segment lies in a prefix whose embedded IPv4 is looked through.
        """
        bits = 32 if version == 4 else 128
        nets = [(start, 1 << (bits - plen)) for _t, plen, table in self._tables.get(version, []) for start in table]
        if version == 6:
            nets += [(int(n.network_address), n.num_addresses) for n in _THROUGH]
        cuts = {0}
        for start, size in nets:
            cuts.add(start)
            if start + size < 1 << bits:
                cuts.add(start + size)
        starts = sorted(cuts)
        make = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
        # Each segment lies inside or outside every block, so its first address speaks for all of it.
        blocks = [self.block(make(s)) for s in starts]
        through = [version == 6 and any(make(s) in n for n in _THROUGH) for s in starts]
        return starts, blocks, through


def _extra_blocks() -> list[Block]:
    extra = [Block(net, "multicast", name, rfc, False, 1) for net, name, rfc in _MULTICAST]
    extra.append(Block(_MULTICAST_V4[0], "multicast", _MULTICAST_V4[1], _MULTICAST_V4[2], False, 1))
    extra += [
        Block(ipaddress.IPv6Network(n), "unallocated", "Reserved by IETF", "[RFC4291]", False, 1)
        for n in _V6_RESERVED_BY_IETF
    ]
    extra.append(Block(_V6_SITE_LOCAL, "reserved", "Deprecated (formerly Site-Local)", "[RFC3879]", False, 1))
    return extra


@lru_cache(maxsize=4)
def load_registry(data_dir: Path | None = None) -> tuple[SpecialRegistry, SourceInfo]:
    """The registry built from the shipped CSVs (or those in ``data_dir``), with its source record."""
    v4 = (data_dir / IPV4_SPECIAL) if data_dir else shipped(IPV4_SPECIAL)
    v6 = (data_dir / IPV6_SPECIAL) if data_dir else shipped(IPV6_SPECIAL)
    space = (data_dir / IPV4_SPACE) if data_dir else shipped(IPV4_SPACE)
    blocks = parse_special_registry(v4) + parse_special_registry(v6) + _extra_blocks()
    if space.is_file():
        blocks += parse_ipv4_space(space)
    source = SourceInfo(
        id="iana-special",
        kind=SourceKind.IANA,
        name="IANA IPv4/IPv6 Special-Purpose Address Registries and IPv4 Address Space",
        date=_newest_allocation([v4, v6]),
        path=str(v4.parent),
        licence="IANA registry data, freely usable",
        credit="Special-purpose ranges: IANA",
    )
    return SpecialRegistry(blocks), source


@lru_cache(maxsize=4)
def flat_registry(registry: SpecialRegistry) -> dict[int, tuple[list[int], list[Block | None], list[bool]]]:
    """``SpecialRegistry.flat`` for both families, built once per registry."""
    return {4: registry.flat(4), 6: registry.flat(6)}


def _v4(value: int) -> ipaddress.IPv4Address:
    return ipaddress.IPv4Address(value & 0xFFFFFFFF)


def look_through(ip: ipaddress.IPv6Address) -> LookedThrough | None:
    """The IPv4 address an IPv6 translation or tunnel address carries, if it is one."""
    v = int(ip)
    if ip in _MAPPED:
        return LookedThrough(Mechanism.IPV4_MAPPED, str(_MAPPED), str(_v4(v)))
    if ip in _NAT64:
        return LookedThrough(Mechanism.NAT64, str(_NAT64), str(_v4(v)))
    if ip in _NAT64_LOCAL:
        # RFC 6052 section 2.2, /48 prefix: IPv4 bits 0-15 in address bits 48-63, bits 64-71 are
        # the reserved "u" octet, IPv4 bits 16-31 in address bits 72-87.
        high = (v >> 64) & 0xFFFF
        low = (v >> 40) & 0xFFFF
        return LookedThrough(Mechanism.NAT64_LOCAL, str(_NAT64_LOCAL), str(_v4(high << 16 | low)))
    if ip in _6TO4:
        return LookedThrough(Mechanism.SIX_TO_FOUR, str(_6TO4), str(_v4(v >> 80)))
    if ip in _TEREDO:
        # RFC 4380 section 4: server IPv4 in bits 32-63, client IPv4 inverted in the last 32 bits.
        server = _v4(v >> 64)
        client = _v4(~v)
        return LookedThrough(Mechanism.TEREDO, str(_TEREDO), str(client), teredo_server=str(server))
    return None


class SpecialProvider:
    """Marks special-purpose addresses and looks through translation prefixes. No I/O past start-up."""

    def __init__(self, data_dir: Path | None = None) -> None:
        self.registry, self.source = load_registry(data_dir)
        self.problems: list[str] = []

    def _flat(self) -> dict[int, tuple[list[int], list[Block | None], list[bool]]]:
        return flat_registry(self.registry)

    def sources(self) -> list[SourceInfo]:
        return [self.source]

    def classify(self, address: str) -> tuple[Special | None, LookedThrough | None]:
        ip = ipaddress.ip_address(address)
        special = self.registry.classify(ip)
        through = look_through(ip) if isinstance(ip, ipaddress.IPv6Address) else None
        if through is not None:
            if special is not None:
                # The translation blocks get the mechanism's name, not IANA's abbreviated one.
                label = _TRANSLATION_LABELS.get(ipaddress.IPv6Network(special.prefix), special.label)
                special.label = label
            through.special = self.registry.classify(ipaddress.IPv4Address(through.ipv4))
        return special, through

    def enrich(self, records: list[AddressRecord]) -> None:
        fast = self._flat()
        for rec in records:
            got = parse(rec.address)
            if got is not None:
                starts, blocks, through = fast[got[1]]
                i = bisect_right(starts, got[2]) - 1
                if blocks[i] is None and not through[i]:
                    continue  # neither special nor carrying an IPv4 address
            special, through = self.classify(rec.address)
            if special is not None:
                rec.special = special
                rec.note("special", self.source)
            if through is not None:
                rec.looked_through = through
                rec.note("looked_through", self.source)

    def close(self) -> None:
        return None
