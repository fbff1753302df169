"""Cloud operators' published range files as a provider: which operator, region and service an address is in.

By default the shipped snapshot of the providers' files (``data/cloud-ranges.json.xz``, or the user's rebuilt
one) is read; a user's own file (``--cloud-ranges``: AWS ``ip-ranges.json``, Google ``cloud.json`` or
``goog.json``, Azure service tags, Oracle, Fastly, or Cloudflare/DigitalOcean by their file names) replaces
the snapshot's list of the same kind. Nothing is fetched. Each prefix becomes one ``RangeFact``
(``provider``, ``region``, ``service``, and the record view's ``traits.cloud_*``); an address is answered by
its longest prefix. Regions are placed by the shipped region table (``reference.cloud.region_table``).
"""

from __future__ import annotations

import ipaddress
import lzma
import socket
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from ipowner._addr import Address
from ipowner.errors import InputError, InputNotFoundError
from ipowner.model import RangeFact, SourceInfo, SourceKind
from ipowner.model.report import CloudInfo
from ipowner.providers.base import NO_RANGES, AddressFacts, Provider
from ipowner.reference.cloud import (
    REGIONS_SOURCE_ID,
    CloudTable,
    RegionTable,
    SnapshotSource,
    cloud_table,
    read_snapshot,
    region_table,
    shipped_snapshot_path,
)
from ipowner.reference.cloud_files import (
    PUBLISHERS,
    CloudFile,
    CloudFileError,
    parse_cloud_file,
    publisher_of,
    source_key,
)

_MAX_USER_FILE = 64 * 1024 * 1024

Index = dict[tuple[int, int], dict[int, RangeFact]]  # (IP version, prefix length) -> network -> fact


def cloud_fact(prefix: str, source_id: str, provider: str, region: str | None = None, service: str | None = None,
               country: str | None = None, city: str | None = None, *, regions: RegionTable | None = None) -> RangeFact:
    """The fact of one listed prefix; ``ValueError`` when ``prefix`` is not a network.

    The record view gets ``traits.cloud_provider``, ``cloud_region``, ``cloud_service`` from the file, and
    ``cloud_region_country`` / ``cloud_region_place`` from the file where it states them (a geofeed), else
    from the region table (noted as that table's).
    """
    version, first, last = _span(prefix)
    return RangeFact(
        start=first,
        end=last,
        version=version,
        source=source_id,
        provider=provider,
        region=region or None,
        service=service or None,
        fields=_fields(source_id, provider, region, service, country, city, regions or region_table()),
    )


def _span(prefix: str) -> tuple[int, int, int]:
    """(version, first, last) of a CIDR; ``ValueError`` when it is not one (host bits are dropped)."""
    text, sep, plen_text = prefix.partition("/")
    family = socket.AF_INET6 if ":" in text else socket.AF_INET
    try:
        packed = socket.inet_pton(family, text)
    except OSError:
        raise ValueError(f"not a network: {prefix!r}") from None
    bits = 32 if family == socket.AF_INET else 128
    if sep and not (plen_text.isdigit() and len(plen_text) <= 3):
        raise ValueError(f"not a network: {prefix!r}")
    plen = int(plen_text) if sep else bits
    if plen > bits:
        raise ValueError(f"not a network: {prefix!r}")
    host = (1 << (bits - plen)) - 1
    first = int.from_bytes(packed, "big") & ~host
    return (4 if bits == 32 else 6), first, first | host


@lru_cache(maxsize=4096)
def _fields(source_id: str, provider: str, region: str | None, service: str | None, country: str | None,
            city: str | None, regions: RegionTable) -> tuple[tuple[str, Any, str], ...]:
    """The record view's fields of one (source, provider, region, service, place): one shared tuple for
    every prefix with the same facts (the record view then copies them by plan)."""
    fields: list[tuple[str, Any, str]] = [("traits.cloud_provider", provider, source_id)]
    if region:
        fields.append(("traits.cloud_region", region, source_id))
    if service:
        fields.append(("traits.cloud_service", service, source_id))
    if country or city:
        if country:
            fields.append(("traits.cloud_region_country", country, source_id))
        if city:
            fields.append(("traits.cloud_region_place", city, source_id))
    else:
        place = regions.place(provider, region)
        if place is not None:
            fields.append(("traits.cloud_region_country", place.country, REGIONS_SOURCE_ID))
            fields.append(("traits.cloud_region_place", place.place, REGIONS_SOURCE_ID))
    return tuple(fields)


def _insert(index: Index, fact: RangeFact) -> None:
    bits = 32 if fact.version == 4 else 128
    plen = bits - (fact.end - fact.start + 1).bit_length() + 1
    slot = index.setdefault((fact.version, plen), {})
    old = slot.get(fact.start)
    # Two files listing one prefix: keep the one that names a region.
    if old is None or (old.region is None and fact.region is not None):
        slot[fact.start] = fact


def _lengths(index: Index) -> dict[int, list[tuple[int, int, dict[int, RangeFact]]]]:
    """Per IP version, the index's prefix lengths present, longest first, with each one's mask and slot."""
    out: dict[int, list[tuple[int, int, dict[int, RangeFact]]]] = {4: [], 6: []}
    for (version, plen), slot in index.items():
        bits = 32 if version == 4 else 128
        out[version].append((plen, ((1 << plen) - 1) << (bits - plen), slot))
    for v in out.values():
        v.sort(key=lambda t: -t[0])
    return out


def _find(lengths: dict[int, list[tuple[int, int, dict[int, RangeFact]]]], version: int, value: int,
          skip: frozenset[str] = frozenset()) -> RangeFact | None:
    for _plen, mask, slot in lengths.get(version, ()):
        hit = slot.get(value & mask)
        if hit is not None and hit.source not in skip:
            return hit
    return None


class _Snapshot:
    """A snapshot file indexed once: its sources and facts (shared, read-only)."""

    def __init__(self, path: Path) -> None:
        snap = read_snapshot(path)
        self.path = path
        self.sources: list[SnapshotSource] = snap.sources
        self.index: Index = {}
        self.count = 0
        self.bad = 0
        regions = region_table()
        for src_i, prefix, region, service, country, city in snap.rows:
            s = snap.sources[src_i]
            try:
                fact = cloud_fact(prefix, s.id, s.provider, region, service, country, city, regions=regions)
            except ValueError:
                self.bad += 1
                continue
            _insert(self.index, fact)
            self.count += 1
        self.lengths = _lengths(self.index)

    def source_info(self, s: SnapshotSource) -> SourceInfo:
        return SourceInfo(id=s.id, kind=SourceKind.RANGES, name=f"{s.name} (snapshot)", date=s.date,
                          path=s.url or str(self.path))


@lru_cache(maxsize=2)
def _snapshot(path: str, mtime_ns: int) -> _Snapshot:
    return _Snapshot(Path(path))


class CloudRangeProvider(Provider):
    """Ranges from operators' published files, indexed for longest-prefix lookup."""

    name = "cloud"
    problem_kind = "database"

    def __init__(self, paths: Iterable[str | Path] = (), *, snapshot: bool | str | Path = False) -> None:
        """``paths``: a user's range files. ``snapshot``: True for the snapshot in use (the user's rebuilt
        one or the shipped one), a path for another snapshot file, False for none."""
        self._sources: list[SourceInfo] = []
        self._index: Index = {}
        self._lengths: dict[int, list[tuple[int, int, dict[int, RangeFact]]]] | None = None
        self._count = 0
        self._kinds: set[str] = set()  # the file kinds the user's files replace in the snapshot
        self._publishers: dict[str, str] = {}  # a user's file's source id -> its publisher
        self._snap: _Snapshot | None = None
        self._used: set[str] = set()  # source ids facts were handed out from
        for p in paths:
            self.add(*parse_cloud_ranges(p))
        if snapshot:
            where = shipped_snapshot_path() if snapshot is True else Path(snapshot)
            try:
                self._snap = _snapshot(str(where), where.stat().st_mtime_ns)
            except (OSError, ValueError, TypeError, RecursionError, lzma.LZMAError, EOFError) as exc:
                self.problems.append(f"{where}: cloud range snapshot cannot be used ({exc})")
        self._skip = frozenset(s.id for s in self._snap.sources if s.kind in self._kinds) if self._snap else frozenset()
        self._snap_sources: dict[str, SourceInfo] = {
            s.id: self._snap.source_info(s) for s in self._snap.sources if s.id not in self._skip
        } if self._snap is not None else {}

    # -- the provider's contract ------------------------------------------------------------------
    def sources(self) -> list[SourceInfo]:
        """The user's range files, and the snapshot's files an answer came from, one source each (and the
        region table once a fact names a place from it)."""
        out = list(self._sources)
        out += [s for sid, s in self._snap_sources.items() if sid in self._used]
        if REGIONS_SOURCE_ID in self._used:
            out.append(region_table().source())
        return out

    def snapshot_sources(self) -> list[SourceInfo]:
        """Every file of the snapshot in use that answers (those a user's file replaces left out)."""
        return list(self._snap_sources.values())

    def facts(self, address: Address | str) -> AddressFacts:
        """The most specific range fact covering ``address`` (none when no file lists it)."""
        version: int
        if isinstance(address, str):
            try:
                ip = ipaddress.ip_address(address)
            except ValueError:
                return AddressFacts(NO_RANGES)
            version, value = ip.version, int(ip)
        else:
            version, value = address[1], address[2]
        hit = self._find(version, value)
        if hit is None:
            return AddressFacts(NO_RANGES)
        for _p, _v, sid in hit.fields:
            self._used.add(sid)
        return AddressFacts((hit,))

    def close(self) -> None:
        """Let go of the indexes; ``sources()`` still says what was read."""
        self._index = {}
        self._lengths = None
        self._count = 0
        self._snap = None

    # -- building and asking ----------------------------------------------------------------------
    def add(self, source: SourceInfo, facts: list[RangeFact], kind: str | None = None) -> None:
        """A user's file: its source, its facts, and the snapshot list it replaces (``kind``)."""
        self._sources.append(source)
        if kind:
            self._kinds.add(kind)
            self._publishers[source.id] = PUBLISHERS.get(kind, kind)
        for f in facts:
            _insert(self._index, f)
            self._count += 1
        self._lengths = None  # worked out again on the next question

    def ranges(self) -> Iterator[RangeFact]:
        """Every range it answers from: the user's files', then the snapshot's in use (for a range table)."""
        for slot in self._index.values():
            yield from slot.values()
        if self._snap is not None:
            for slot in self._snap.index.values():
                yield from (f for f in slot.values() if f.source not in self._skip)

    def _find(self, version: int, value: int) -> RangeFact | None:
        hit = None
        if self._index:
            if self._lengths is None:
                self._lengths = _lengths(self._index)
            hit = _find(self._lengths, version, value)
        if hit is None and self._snap is not None:
            hit = _find(self._snap.lengths, version, value, self._skip)
        return hit

    def find(self, address: str) -> RangeFact | None:
        """The fact of the longest prefix holding ``address``, or None."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return None
        return self._find(ip.version, int(ip))

    def publisher(self, source_id: str) -> tuple[str, SourceInfo | None]:
        """Who published the file a fact came from ("AWS") and that file's source."""
        for s in self._sources:
            if s.id == source_id:
                return self._publishers.get(source_id, source_id), s
        if self._snap is not None:
            for snap in self._snap.sources:
                if snap.id == source_id:
                    return snap.publisher, self._snap.source_info(snap)
        return source_id, None

    def recognise(self, address: str, table: CloudTable | None = None) -> CloudInfo | None:
        """The operator, region and service of ``address`` from the range files, named by ``table``."""
        fact = self.find(address)
        if fact is None or not fact.provider:
            return None
        op = (table or cloud_table()).get(fact.provider)
        own_space = fact.source == "ranges:google-own"  # Google's own services, not Google Cloud
        traits = {p: v for p, v, _s in fact.fields}
        publisher, src = self.publisher(fact.source)
        publisher = publisher_of(fact.source) or publisher
        return CloudInfo(
            key=fact.provider,
            name=(op.company if own_space else op.name) if op else fact.provider,
            company=op.company if op else fact.provider,
            country=op.country if op else None,
            basis=f"ranges:{fact.source.split(':', 1)[-1]}",
            region=fact.region,
            service=fact.service,
            source=fact.source,
            region_country=traits.get("traits.cloud_region_country"),
            region_place=traits.get("traits.cloud_region_place"),
            publisher=publisher,
            file_date=src.date if src is not None else None,
            statement="provider's range file",
        )

    def __len__(self) -> int:
        return self._count + (self._snap.count if self._snap is not None else 0)


def load_cloud_ranges(paths: Iterable[str | Path], *, snapshot: bool = False) -> CloudRangeProvider:
    """A provider over the range files at ``paths`` (and the snapshot in use, with ``snapshot``); raises
    ``InputError`` naming a file it cannot use."""
    return CloudRangeProvider(paths, snapshot=snapshot)


def parse_cloud_ranges(path: str | Path) -> tuple[SourceInfo, list[RangeFact], str]:
    """Read one provider's range file (the formats of ``reference.cloud_files``): its source, its facts,
    and its kind. Raises ``InputError`` naming the file when it is none of them; a malformed entry is
    skipped and counted in the source's name, not fatal."""
    p = Path(path)
    name = str(path)
    try:
        with p.open("rb") as fh:
            data = fh.read(_MAX_USER_FILE + 1)
    except FileNotFoundError:
        raise InputNotFoundError(name) from None
    except OSError as exc:
        raise InputError(name, f"cannot read cloud range file: {exc.strerror or exc}") from None
    try:
        parsed: CloudFile = parse_cloud_file(data, p.name)
    except CloudFileError as exc:
        raise InputError(name, f"not a usable cloud range file: {exc}") from None
    sid = f"ranges:{source_key(parsed.kind)}"
    facts = []
    regions = region_table()
    for c in parsed.prefixes:
        facts.append(cloud_fact(c.prefix, sid, parsed.provider, c.region, c.service, c.country, c.city,
                                regions=regions))
    label = parsed.label + (f" ({parsed.skipped} malformed entries skipped)" if parsed.skipped else "")
    src = SourceInfo(id=sid, kind=SourceKind.RANGES, name=label, date=parsed.date, path=name)
    return src, facts, parsed.kind
