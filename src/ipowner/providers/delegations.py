"""The registry of each block, offline: the registry table from the RIRs' delegation statistics, else IANA's tables.

For an address a delegation file lists, the fact names that registry with the file's date, the block's
status, delegation date, country and opaque id (``Registration``, basis "delegation statistics"); a
basis older than ``STALE_DAYS`` is marked stale. Where no file lists the address, the IANA tables
answer and say so: the IPv4 /8 designations (basis "IANA /8 table") and, for IPv6 and AS numbers,
the RDAP bootstrap files (basis "IANA RDAP bootstrap"). The table is ``reference.delegation_table``'s:
the user's copy from ``ipowner data update`` when there is one, else the shipped one.
"""

from __future__ import annotations

import csv
import json
import re
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from ipowner._addr import Address, Addresses, network_text
from ipowner.model import RangeFact, Registration, RegistryBasis, SourceInfo, SourceKind
from ipowner.model.data import TableSource
from ipowner.paths import shipped
from ipowner.providers.base import NO_RANGES, Facts, Provider, Ranges
from ipowner.reference.delegation_table import Row, Table, TableFile, current_table
from ipowner.reference.iana import IPV4_SPACE, read_ipv4_space
from ipowner.reference.registries import RIR_KEYS, by_url, rirs

STALE_DAYS = 365  # a delegation file older than this is shown as a stale basis
DUE_DAYS = 30  # a delegation file older than this is due for `ipowner data update` (the RIRs publish daily)
BOOTSTRAP_DIR = "rdap-bootstrap"
IANA_V4_SOURCE = "iana-ipv4-space"
IANA_BOOTSTRAP_SOURCE = "iana:rdap-bootstrap"
MAX_BOOTSTRAP_BYTES = 4 << 20
_DATE = re.compile(r"(\d{4})-(\d{2})")


def _midnight(d: date | None) -> datetime | None:
    return datetime(d.year, d.month, d.day, tzinfo=UTC) if d else None


def source_id(file: TableFile) -> str:
    key = RIR_KEYS.get(file.registry) or re.sub(r"[^a-z0-9]+", "-", file.registry.lower()).strip("-")
    return f"delegations:{key}"


def source_of(file: TableFile, table: Table) -> SourceInfo:
    kind = "extended delegation statistics" if file.extended else "delegation statistics"
    extra = f", opaque ids from {file.opaque_ids_from}" if file.opaque_ids_from else ""
    return SourceInfo(
        id=source_id(file), kind=SourceKind.TABLE, name=f"{file.registry} {kind} ({file.name}{extra})",
        date=_midnight(file.date), path=table.path, licence=file.terms or None,
        credit=f"Delegation statistics published by {file.registry}",
    )


def is_stale(basis_date: datetime | None, now: datetime | None = None) -> bool:
    if basis_date is None:
        return False
    return (now or datetime.now(UTC)) - basis_date > timedelta(days=STALE_DAYS)


@dataclass(frozen=True, slots=True)
class _Span:
    first: int
    last: int
    registry: str


@lru_cache(maxsize=1)
def _ipv4_table() -> tuple[dict[int, str], datetime | None]:
    """IANA's /8 table: first octet -> RIR, and the newest date it lists (the snapshot is at least that recent)."""
    path = shipped(IPV4_SPACE)
    rirs = {row.first: rir for row in read_ipv4_space(path) if (rir := row.rir)}
    newest: datetime | None = None
    with path.open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            m = _DATE.match((row.get("Date") or "").strip())
            if m:
                d = datetime(int(m.group(1)), int(m.group(2)), 1, tzinfo=UTC)
                newest = d if newest is None or d > newest else newest
    return rirs, newest


def _bootstrap(name: str) -> tuple[list[int], list[_Span], datetime | None]:
    """One RDAP bootstrap file as sorted spans (IPv6 prefixes or AS ranges) -> registry name."""
    path = shipped(BOOTSTRAP_DIR) / name
    with path.open("rb") as f:
        raw = f.read(MAX_BOOTSTRAP_BYTES + 1)
    if len(raw) > MAX_BOOTSTRAP_BYTES:
        raise ValueError(f"{path}: larger than {MAX_BOOTSTRAP_BYTES >> 20} MiB")
    doc = json.loads(raw)
    spans: list[_Span] = []
    for service in doc.get("services", []) if isinstance(doc, dict) else []:
        if not (isinstance(service, list) and len(service) >= 2 and isinstance(service[0], list)):
            continue
        reg = next((r for u in service[1] if isinstance(u, str) and (r := by_url(u)) is not None), None)
        if reg is None:
            continue
        for entry in service[0]:
            if not isinstance(entry, str):
                continue
            try:
                if "/" in entry:
                    import ipaddress

                    net = ipaddress.IPv6Network(entry)
                    spans.append(_Span(int(net.network_address), int(net.broadcast_address), reg.name))
                else:
                    lo, _, hi = entry.partition("-")
                    spans.append(_Span(int(lo), int(hi or lo), reg.name))
            except ValueError:
                continue
    spans.sort(key=lambda s: (s.first, -s.last))
    published = None
    if isinstance(doc, dict) and isinstance(doc.get("publication"), str):
        try:
            published = datetime.fromisoformat(doc["publication"].replace("Z", "+00:00"))
        except ValueError:
            published = None
    return [s.first for s in spans], spans, published


@lru_cache(maxsize=2)
def bootstrap(name: str) -> tuple[list[int], list[_Span], datetime | None]:
    try:
        return _bootstrap(name)
    except (OSError, ValueError):
        return [], [], None


def _in_spans(starts: list[int], spans: list[_Span], value: int) -> _Span | None:
    """The most specific span holding ``value``: bootstrap entries are CIDR blocks (or AS ranges) that may
    nest, so the first one holding it, looking back from the last start at or below it, is the smallest."""
    i = bisect_right(starts, value) - 1
    while i >= 0:
        s = spans[i]
        if s.last >= value:
            return s
        i -= 1
    return None


def ipv4_space_source() -> SourceInfo:
    """IANA's IPv4 /8 table as a source, dated by the newest date it lists."""
    return SourceInfo(id=IANA_V4_SOURCE, kind=SourceKind.IANA, name="IANA IPv4 Address Space Registry (/8 designations)",
                      date=_ipv4_table()[1], path=str(shipped(IPV4_SPACE)), licence="IANA registry data, freely usable")


def table_sources(now: datetime | None = None) -> tuple[list[TableSource], list[str]]:
    """Each registry's delegation file in the table in use, with its age and whether it is due; an RIR the
    table has no file of is listed as due. Also the problems met reading the table."""
    now = now or datetime.now(UTC)
    loaded = current_table()
    out: list[TableSource] = []
    known: set[str] = set()
    if loaded.table is not None:
        for f in loaded.table.files:
            when = _midnight(f.date)
            age = (now - when).days if when else None
            out.append(TableSource(f"{f.registry} delegation statistics ({f.name})", f.registry, when, age, f.terms,
                                   age is None or age > DUE_DAYS, loaded.table.path))
            known.add(f.registry)
    for reg in rirs():
        if reg.name not in known:
            out.append(TableSource(f"{reg.name} delegation statistics (none in the table)", reg.name, None, None, None,
                                   True, None))
    return out, loaded.problems


class DelegationProvider(Provider):
    """Registry facts for public addresses from the registry table, with IANA's tables as the fallback."""

    name = "delegations"
    problem_kind = "database"

    def __init__(self, *, now: datetime | None = None) -> None:
        loaded = current_table()
        self.table = loaded.table
        self._problems = list(loaded.problems)
        self.now = now
        self._facts: dict[tuple[int, int, int], RangeFact] = {}
        self._by_row: dict[tuple[int, int], RangeFact] = {}  # rows that are one CIDR block: their one fact
        self._sources: dict[str, SourceInfo] = {}
        if self.table is not None:
            for f in self.table.files:
                s = source_of(f, self.table)
                self._sources.setdefault(s.id, s)

    def sources(self) -> list[SourceInfo]:
        out = list(self._sources.values())
        out.append(ipv4_space_source())
        published = bootstrap("ipv6.json")[2]
        out.append(SourceInfo(id=IANA_BOOTSTRAP_SOURCE, kind=SourceKind.IANA, name="IANA RDAP bootstrap (IPv6, AS numbers)",
                              date=published, path=str(shipped(BOOTSTRAP_DIR)), licence="IANA registry data, freely usable",
                              credit="IANA"))
        return out

    # -- facts ---------------------------------------------------------------------------------------
    def facts_many(self, addresses: Addresses) -> Facts:
        out: list[Ranges] = []
        for a in addresses:
            fact = self._fact(a)
            out.append((fact,) if fact is not None else NO_RANGES)
        return Facts(out)

    def _fact(self, a: Address) -> RangeFact | None:
        _text, version, value = a
        table = self.table
        if table is not None:
            i = table.index(version, value)
            if i is not None:
                got = self._by_row.get((version, i))
                if got is not None:
                    return got
                row = table.row(version, i)
                if row is not None:
                    fact = self._row_fact(version, value, row)
                    if fact.start == row.first and fact.end == row.last:
                        self._by_row[(version, i)] = fact
                    return fact
        return self._fallback(version, value)

    def _row_fact(self, version: int, value: int, row: Row) -> RangeFact:
        bits = 32 if version == 4 else 128
        # The CIDR block of the listed range that holds the address (IPv4 counts are not always CIDRs).
        first, plen = row.first, bits
        whole = _is_cidr(row.first, row.last)
        if whole:
            plen = bits - (row.last - row.first + 1).bit_length() + 1
        for size in () if whole else range(bits, -1, -1):
            base = value & ~((1 << size) - 1) & ((1 << bits) - 1)
            if base >= row.first and base + (1 << size) - 1 <= row.last:
                first, plen = base, bits - size
                break
        key = (version, first, plen)
        got = self._facts.get(key)
        if got is not None:
            return got
        sid = source_id(row.file)
        basis_date = _midnight(row.file.date)
        listed = (network_text(version, row.first, bits - (row.last - row.first + 1).bit_length() + 1)
                  if whole else f"{_text(version, row.first)}-{_text(version, row.last)}")
        reg = Registration(
            registry=row.file.registry, basis=RegistryBasis.DELEGATION_STATISTICS, basis_date=basis_date,
            stale=is_stale(basis_date, self.now), status=row.status, delegated=_midnight(row.delegated),
            country=row.country, opaque_id=row.opaque_id, block=listed, file=row.file.name,
        )
        fact = self._facts[key] = RangeFact(
            start=first, end=first + (1 << (bits - plen)) - 1, version=version, source=sid,
            registered_country=row.country, registry=row.file.registry, handle=row.opaque_id,
            fields=(("registry", reg, sid),),
        )
        return fact

    def _fallback(self, version: int, value: int) -> RangeFact | None:
        if version == 4:
            rirs, v4_date = _ipv4_table()
            registry = rirs.get(value >> 24)
            if registry is None:
                return None
            key = (4, value >> 24 << 24, 8)
            got = self._facts.get(key)
            if got is None:
                reg = Registration(registry=registry, basis=RegistryBasis.IANA_TABLE, basis_date=v4_date,
                                   block=network_text(4, key[1], 8))
                got = self._facts[key] = RangeFact(start=key[1], end=key[1] + (1 << 24) - 1, version=4,
                                                   source=IANA_V4_SOURCE, registry=registry,
                                                   fields=(("registry", reg, IANA_V4_SOURCE),))
            return got
        starts, spans, published = bootstrap("ipv6.json")
        span = _in_spans(starts, spans, value)
        if span is None:
            return None
        size = span.last - span.first + 1
        key = (6, span.first, 128 - size.bit_length() + 1)
        got = self._facts.get(key)
        if got is None:
            reg = Registration(registry=span.registry, basis=RegistryBasis.RDAP_BOOTSTRAP, basis_date=published,
                               block=network_text(6, span.first, key[2]))
            got = self._facts[key] = RangeFact(start=span.first, end=span.last, version=6, source=IANA_BOOTSTRAP_SOURCE,
                                               registry=span.registry,
                                               fields=(("registry", reg, IANA_BOOTSTRAP_SOURCE),))
        return got

    # -- AS numbers ------------------------------------------------------------------------------------
    def registration_of_as(self, asn: int) -> Registration | None:
        """The registry of an AS number: its delegation record, else the IANA RDAP bootstrap."""
        if self.table is not None:
            row = self.table.find(0, asn)
            if row is not None:
                basis_date = _midnight(row.file.date)
                block = f"AS{row.first}" if row.first == row.last else f"AS{row.first}-AS{row.last}"
                return Registration(registry=row.file.registry, basis=RegistryBasis.DELEGATION_STATISTICS,
                                    basis_date=basis_date, stale=is_stale(basis_date, self.now), status=row.status,
                                    delegated=_midnight(row.delegated), country=row.country, opaque_id=row.opaque_id,
                                    block=block, file=row.file.name)
        starts, spans, published = bootstrap("asn.json")
        span = _in_spans(starts, spans, asn)
        if span is None:
            return None
        return Registration(registry=span.registry, basis=RegistryBasis.RDAP_BOOTSTRAP, basis_date=published,
                            block=f"AS{span.first}-AS{span.last}")


def _is_cidr(first: int, last: int) -> bool:
    size = last - first + 1
    return size > 0 and not size & (size - 1) and not first & (size - 1)


def _text(version: int, value: int) -> str:
    import ipaddress

    return str(ipaddress.IPv4Address(value) if version == 4 else ipaddress.IPv6Address(value))


__all__ = ["DUE_DAYS", "STALE_DAYS", "DelegationProvider", "ipv4_space_source", "is_stale", "source_of", "table_sources"]
