"""IANA's address registries, parsed once: the special-purpose blocks and the IPv4 /8 table.

The registries ship as IANA's own CSV exports in ``data/`` and are parsed at run time, so updating them
is a file copy:

- ``iana-ipv4-special-registry.csv``, ``iana-ipv6-special-registry.csv``: the special-purpose blocks
  (private, loopback, documentation, the translation prefixes, ...);
- ``ipv4-address-space.csv``: the IPv4 /8 table, which gives both the /8s IANA itself reserves or has not
  allocated (special too) and, for the others, the RIR whose database serves them.

``SpecialRegistry`` answers "which block holds this address" for any stage: the special-purpose provider
labels addresses with it, and its ``flat`` segments serve the hot paths that hold integers.
"""

from __future__ import annotations

import csv
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from ipowner._addr import parse_address
from ipowner.model import SourceInfo, SourceKind, Special
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

# The special-purpose blocks whose addresses carry an IPv4 address (RFC 4291, 6052, 8215, 3056, 4380).
MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
SIXTOFOUR = ipaddress.IPv6Network("2002::/16")
TEREDO = ipaddress.IPv6Network("2001::/32")
TRANSLATION = (MAPPED, NAT64, NAT64_LOCAL, SIXTOFOUR, TEREDO)
# The translation blocks are labelled by their mechanism, not by IANA's abbreviated name.
TRANSLATION_LABELS = {NAT64: "nat64", NAT64_LOCAL: "nat64-local"}

# Multicast is its own IANA registry, not part of the special-purpose ones.
_MULTICAST = [
    (ipaddress.IPv6Network("ff00::/8"), "Multicast", "[RFC4291]"),
]
_MULTICAST_V4 = (ipaddress.IPv4Network("224.0.0.0/4"), "Multicast", "[RFC5771]")

# IANA "Internet Protocol Version 6 Address Space": everything outside 2000::/3 that is neither
# listed above nor ULA/link-local/multicast is "Reserved by IETF" (RFC 4291), i.e. unallocated.
_V6_RESERVED_BY_IETF = [
    "::/8", "100::/8", "200::/7", "400::/6", "800::/5", "1000::/4", "4000::/3", "6000::/3",
    "8000::/3", "a000::/3", "c000::/3", "e000::/4", "f000::/5", "f800::/6", "fe00::/9",
]
_V6_SITE_LOCAL = ipaddress.IPv6Network("fec0::/10")  # deprecated by RFC 3879

_FOOTNOTE = re.compile(r"\s*\[\d+\]")
_ALLOCATION = re.compile(r"^(\d{4})-(\d{2})$")

# The IPv4 /8 table names each RIR by its WHOIS server.
_WHOIS_RIR = {
    "whois.arin.net": "ARIN",
    "whois.ripe.net": "RIPE NCC",
    "whois.apnic.net": "APNIC",
    "whois.lacnic.net": "LACNIC",
    "whois.afrinic.net": "AFRINIC",
}


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


@dataclass(frozen=True, slots=True)
class Slash8:
    """One row of IANA's IPv4 /8 table."""

    first: int  # the first octet
    designation: str
    status: str  # ALLOCATED, LEGACY, RESERVED, UNALLOCATED (upper case)
    whois: str  # the WHOIS server of the registry that serves it ("" when none)

    @property
    def rir(self) -> str | None:
        """The RIR whose database serves the /8 (legacy and transferred space may sit elsewhere)."""
        return _WHOIS_RIR.get(self.whois)


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


def read_ipv4_space(path: Path) -> list[Slash8]:
    """Every row of IANA's IPv4 /8 table."""
    rows: list[Slash8] = []
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            first = _clean(row.get("Prefix") or "").split("/")[0]
            if not first.isdigit():
                continue
            status = _clean(next((v for k, v in row.items() if k and k.startswith("Status")), "") or "").upper()
            rows.append(Slash8(int(first), _clean(row.get("Designation") or ""), status,
                               (row.get("WHOIS") or "").strip()))
    return rows


def parse_ipv4_space(path: Path) -> list[Block]:
    """The /8s IANA itself reserves (multicast, future use) or has not allocated."""
    blocks: list[Block] = []
    for row in read_ipv4_space(path):
        if row.status in ("ALLOCATED", "LEGACY"):
            continue
        rfc = None
        if row.status == "UNALLOCATED":
            label = "unallocated"
        elif row.designation.lower().startswith("multicast"):
            label, rfc = "multicast", _MULTICAST_V4[2]
        else:
            label = "reserved"
        blocks.append(
            Block(
                network=ipaddress.IPv4Network(f"{row.first}.0.0.0/8"),
                label=label,
                name=row.designation or row.status.title(),
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

    def block_of(self, version: int, value: int) -> Block | None:
        """The block of an address given as (version, integer)."""
        shift_base = 32 if version == 4 else 128
        for _tier, plen, table in self._tables.get(version, []):
            shift = shift_base - plen
            b = table.get(value >> shift << shift)
            if b is not None:
                return b
        return None

    def block(self, ip: IPAddress) -> Block | None:
        return self.block_of(ip.version, int(ip))

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
            nets += [(int(n.network_address), n.num_addresses) for n in TRANSLATION]
        cuts = {0}
        for start, size in nets:
            cuts.add(start)
            if start + size < 1 << bits:
                cuts.add(start + size)
        starts = sorted(cuts)
        # Each segment lies inside or outside every block, so its first address speaks for all of it.
        blocks = [self.block_of(version, s) for s in starts]
        through = [version == 6 and any(ipaddress.IPv6Address(s) in n for n in TRANSLATION) for s in starts]
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


@lru_cache(maxsize=1)
def slash8_rirs() -> dict[int, str]:
    """IPv4 /8 -> the RIR whose database serves it, from IANA's address-space registry (shipped)."""
    return {row.first: rir for row in read_ipv4_space(shipped(IPV4_SPACE)) if (rir := row.rir)}


def iana_rir(address: str) -> str | None:
    """The RIR serving an IPv4 address's /8 per IANA (legacy and transferred space may sit elsewhere)."""
    try:
        _text, version, value = parse_address(address)
    except ValueError:
        return None
    if version != 4:
        return None
    try:
        return slash8_rirs().get(value >> 24)
    except OSError:
        return None
