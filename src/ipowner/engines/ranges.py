"""The range table: every range ipowner knows, flattened into disjoint segments, as Parquet.

Sources: the IANA special-purpose blocks, every MaxMind-format database ``lookup()`` would read (given,
discovered, embedded), the RDAP cache's networks (holder, registry, registry chain) and, when given,
operators' cloud range files. Their ranges nest and overlap; the table cuts the address space at every
range edge any of them has, so that inside one elementary segment every address falls in the same set
of ranges. Each segment is then answered by asking the providers about its first address, through
``ipowner.enrich()`` itself (``Enriched.get`` and ``paths``: the rule ``lookup()`` resolves fields by), so the
winning fact per field is the one a lookup of any address of the segment gives. Adjacent segments with the
same facts are merged; segments nothing is known about are left out. An ASOF join (the row with the
greatest start at or below an address, same family, address at or below its end) therefore gives the
answer a lookup gives.

Translation blocks (NAT64, 6to4, Teredo, IPv4-mapped) are the one exception: what an address in them gets
is the facts of the IPv4 address it carries. Their rows hold the block's special-purpose facts and name the
mechanism in ``translation``; an engine decodes the carried IPv4 (``carried_ipv4``) and joins it again.

Schema, bucket sizes and row counts: docs/ranges.md. ``TABLE_VERSION`` changes when a reader of the old
table would misread the new one.
"""

from __future__ import annotations

import ipaddress
import json
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import maxminddb

from ipowner._addr import text4, text6
from ipowner.errors import DatabaseError, IpownerError
from ipowner.lookups.enrich import Enriched, Enrichment
from ipowner.model import RangeFact, SourceInfo
from ipowner.providers.cloud import CloudRangeProvider, parse_cloud_ranges
from ipowner.providers.mmdb.reader import MmdbProvider
from ipowner.providers.rdap import CacheError, RdapCache, RdapConfig
from ipowner.providers.special import look_through
from ipowner.reference.iana import flat_registry, load_registry

if TYPE_CHECKING:
    import pyarrow as pa

TABLE_VERSION = 1
BUCKET_PREFIX = {4: 16, 6: 34}  # the bucket key is the address's first this many bits
BITS = {4: 32, 6: 128}
CHUNK = 65_536  # segments answered per batch (bounds memory: one batch of rows at a time)
RENEW = 8  # batches per enrichment run: a run keeps every network's facts it met, so a fresh one bounds memory
MAX_CUTS = 40_000_000  # range edges per family; past this the export refuses (a hostile database)

# Table file names inside the output folder.
RANGES_FILE = "ranges.parquet"
BUCKETED_FILE = "ranges_bucketed.parquet"
WIDE_FILE = "ranges_wide.parquet"
SOURCES_FILE = "sources.parquet"


@dataclass(frozen=True, slots=True)
class Column:
    """One fact of the table: its ``AddressRecord`` path, its column name and value type. Each fact column
    has ``<name>_source`` (the source id) and ``<name>_date`` (that source's date) beside it."""

    path: str
    name: str
    kind: str  # "string", "int", "float", "bool"


FACTS: tuple[Column, ...] = (
    Column("special.label", "special", "string"),
    Column("special.name", "special_name", "string"),
    Column("special.prefix", "special_prefix", "string"),
    Column("special.rfc", "special_rfc", "string"),
    Column("special.globally_reachable", "special_globally_reachable", "bool"),
    Column("location.country", "location_country", "string"),
    Column("location.represented_country", "location_represented_country", "string"),
    Column("location.continent", "location_continent", "string"),
    Column("location.subdivision", "location_subdivision", "string"),
    Column("location.city", "location_city", "string"),
    Column("location.latitude", "location_latitude", "float"),
    Column("location.longitude", "location_longitude", "float"),
    Column("location.accuracy_km", "location_accuracy_km", "int"),
    Column("location.time_zone", "location_time_zone", "string"),
    Column("location.is_anycast", "location_is_anycast", "bool"),
    Column("registered_country", "registered_country", "string"),
    Column("asn.number", "asn_number", "int"),
    Column("asn.name", "asn_name", "string"),
    Column("asn.network", "asn_network", "string"),
    Column("holder", "holder", "string"),
    Column("holder.country", "holder_country", "string"),
    Column("network.registry", "network_registry", "string"),
    Column("network.handle", "network_handle", "string"),
    Column("network.name", "network_name", "string"),
    Column("registry_chain", "registry_chain", "string"),  # JSON: [[role, name, handle], ...], IANA first
    Column("cloud.provider", "cloud_provider", "string"),
    Column("cloud.region", "cloud_region", "string"),
    Column("cloud.service", "cloud_service", "string"),
)
FACT_NAMES = tuple(c.name for c in FACTS)
# Besides the fact columns: every traits.* field as JSON {"traits.isp": [value, source id], ...}, and
# the reasons a segment could not be answered in full (JSON list), both null when empty.
EXTRA = ("traits", "errors")
# The columns an enriched table gets (both engines): each fact's value and source id, then ``EXTRA``.
OUTPUT_COLUMNS = (*[x for c in FACTS for x in (c.name, f"{c.name}_source")], *EXTRA)
_DB_PATHS = tuple(c.path for c in FACTS if c.path.split(".")[0] in ("location", "registered_country", "asn"))
_REG_PATHS = ("holder", "holder.country", "network.registry", "network.handle")
_INT64 = 1 << 63


# -- the facts of one address, as the table's columns -------------------------------------------------

def facts_row(e: Enriched, cloud: RangeFact | None = None) -> dict[str, tuple[Any, str]]:
    """Column name -> (value, source id) of every fact an address's answer holds, by the rule ``lookup()``
    resolves fields with (``Enriched.get``/``paths``); ``cloud`` is the cloud range file's answer, if any.

    ``traits`` maps to (JSON text, "") and ``errors`` likewise; absent facts are left out.
    """
    out: dict[str, tuple[Any, str]] = {}
    s = e.special
    if s is not None:
        sid = s.source
        out["special"] = (s.special, sid)
        if s.name is not None:
            out["special_name"] = (s.name, sid)
        for path, value, src in s.fields:
            if path == "special.prefix":
                out["special_prefix"] = (value, src)
            elif path == "special.rfc" and value is not None:
                out["special_rfc"] = (value, src)
            elif path == "special.globally_reachable" and value is not None:
                out["special_globally_reachable"] = (value, src)
    got = e.paths()
    for path in _DB_PATHS:
        hit = got.get(path)
        if hit is not None:
            out[path.replace(".", "_")] = hit
    traits = {p: [v, src] for p, (v, src) in sorted(got.items()) if p.startswith("traits.")}
    if traits:
        out["traits"] = (json.dumps(traits, ensure_ascii=False, sort_keys=True), "")
    r = e.registration
    if r is not None:
        for path in _REG_PATHS:
            hit = e.get(path)
            if hit is not None:
                out[path.replace(".", "_")] = hit
        for path, value, src in r.fields:
            if path == "network" and getattr(value, "name", None):
                out["network_name"] = (value.name, src)
            elif path == "registry_chain" and value:
                links = [[str(link.role), link.name, link.handle] for link in value]
                out["registry_chain"] = (json.dumps(links, ensure_ascii=False), src)
    if cloud is not None:
        for name, value in (("cloud_provider", cloud.provider), ("cloud_region", cloud.region),
                            ("cloud_service", cloud.service)):
            if value is not None:
                out[name] = (value, cloud.source)
    if e.errors:
        out["errors"] = (json.dumps(list(e.errors), ensure_ascii=False), "")
    return out


def carried_ipv4(mechanism: str, value: int) -> int:
    """The IPv4 address (as an integer) an IPv6 address of a translation block carries, by ``mechanism``
    (the ``translation`` column): the rule of ``providers.special.look_through``, for engines to copy."""
    got = look_through(ipaddress.IPv6Address(value))
    if got is None or str(got.mechanism) != mechanism:
        raise ValueError(f"{text6(value)} is not a {mechanism} address")
    return int(ipaddress.IPv4Address(got.ipv4))


# -- the schema -------------------------------------------------------------------------------------------

def _arrow_type(kind: str) -> pa.DataType:
    import pyarrow as pa

    return {"string": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_()}[kind]


def ranges_schema(*, bucketed: bool = False) -> pa.Schema:
    """The schema of the range tables (``bucketed``: with the ``bucket`` key column)."""
    import pyarrow as pa

    cols: list[pa.Field] = [
        pa.field("family", pa.int8(), nullable=False),
        pa.field("start", pa.binary(16), nullable=False),
        pa.field("end", pa.binary(16), nullable=False),
        pa.field("start_v4", pa.int64()),
        pa.field("end_v4", pa.int64()),
    ]
    if bucketed:
        cols.append(pa.field("bucket", pa.int64(), nullable=False))
    cols += [pa.field("first", pa.string(), nullable=False), pa.field("last", pa.string(), nullable=False),
             pa.field("prefix", pa.string()), pa.field("translation", pa.string())]
    for c in FACTS:
        cols += [pa.field(c.name, _arrow_type(c.kind)), pa.field(f"{c.name}_source", pa.string()),
                 pa.field(f"{c.name}_date", pa.timestamp("us", tz="UTC"))]
    cols += [pa.field(name, pa.string()) for name in EXTRA]
    return pa.schema(cols, metadata={"ipowner.table": "ranges", "ipowner.table_version": str(TABLE_VERSION),
                                     "ipowner.bucket_prefix": json.dumps(BUCKET_PREFIX)})


def output_schema() -> list[pa.Field]:
    """The fields ``OUTPUT_COLUMNS`` add to an enriched table."""
    import pyarrow as pa

    out: list[pa.Field] = []
    for c in FACTS:
        out += [pa.field(c.name, _arrow_type(c.kind)), pa.field(f"{c.name}_source", pa.string())]
    return out + [pa.field(name, pa.string()) for name in EXTRA]


def sources_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema([
        pa.field("id", pa.string(), nullable=False), pa.field("kind", pa.string(), nullable=False),
        pa.field("name", pa.string(), nullable=False), pa.field("date", pa.timestamp("us", tz="UTC")),
        pa.field("path", pa.string()), pa.field("licence", pa.string()), pa.field("credit", pa.string()),
    ], metadata={"ipowner.table": "sources", "ipowner.table_version": str(TABLE_VERSION)})


# -- the export ---------------------------------------------------------------------------------------------

@dataclass(slots=True)
class ExportSummary:
    """What an export wrote: row counts per table and family, the sources, the problems met."""

    directory: Path
    rows: dict[str, dict[int, int]] = field(default_factory=dict)  # table file -> family -> rows
    segments: dict[int, int] = field(default_factory=dict)  # family -> elementary segments answered
    networks: dict[str, int] = field(default_factory=dict)  # source id -> ranges it contributed edges for
    sources: list[SourceInfo] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    dropped_values: int = 0  # values of an unexpected type or size, left out (and counted) rather than cast

    def total(self, table: str) -> int:
        return sum(self.rows.get(table, {}).values())


class _Cuts:
    """Range edges per family, bounded."""

    def __init__(self) -> None:
        self.by_family: dict[int, set[int]] = {4: {0}, 6: {0}}

    def add(self, family: int, first: int, last: int) -> None:
        self.edge(family, first)
        if last + 1 < 1 << BITS[family]:
            self.edge(family, last + 1)

    def edge(self, family: int, value: int) -> None:
        got = self.by_family[family]
        got.add(value)
        if len(got) > MAX_CUTS:
            raise DatabaseError("ranges", f"more than {MAX_CUTS} range edges for IPv{family}: refusing to export")


def _mmdb_cuts(paths: Sequence[str | os.PathLike[str]], use_embedded: bool, discover: bool,
               cuts: _Cuts, summary: ExportSummary) -> None:
    """The edges of every network of every database ``lookup()`` would read (iterating each tree)."""
    with MmdbProvider(paths, use_embedded=use_embedded, discover=discover) as mmdb:
        infos = mmdb.databases()
    for info in infos:
        try:
            reader = maxminddb.open_database(info.path, maxminddb.MODE_AUTO)
        except Exception as exc:
            raise DatabaseError(info.path, f"cannot be opened for the export ({type(exc).__name__})") from None
        n = 0
        try:
            ipv6_tree = int(reader.metadata().ip_version) == 6
            for net, _record in reader:
                first, last = int(net.network_address), int(net.broadcast_address)
                cuts.add(net.version, first, last)
                if net.version == 4 and ipv6_tree:
                    # The IPv4 tree of an IPv6 database sits at ::/96: IPv6 addresses there read it too.
                    cuts.add(6, first, last)
                n += 1
        except IpownerError:
            raise
        except Exception as exc:  # a damaged tree: a partial table would give wrong answers
            raise DatabaseError(info.path, f"cannot be walked to the end ({type(exc).__name__}: {exc})") from None
        finally:
            reader.close()
        summary.networks[info.source_id] = n


def _rdap_cuts(config: RdapConfig, cuts: _Cuts, summary: ExportSummary) -> None:
    directory = config.cache_dir
    if directory is not None and not Path(directory).exists():
        return  # no cache: nothing to add (and nothing created)
    try:
        cache = RdapCache(directory, ttl=config.cache_ttl)
    except (CacheError, IpownerError) as exc:
        summary.problems.append(str(exc))
        return
    try:
        index = cache.index()
        for family, (edges, _owners) in index.segments.items():
            for edge in edges:
                cuts.edge(family, edge)
        summary.networks["rdap-cache"] = index.rows
    finally:
        cache.close()


def _special_cuts(cuts: _Cuts) -> dict[int, list[tuple[int, bool]]]:
    """Special-purpose edges, and per family the segment starts with whether they carry an IPv4 address."""
    registry, _source = load_registry(None)
    flat = flat_registry(registry)
    out: dict[int, list[tuple[int, bool]]] = {}
    for family, (starts, _blocks, carries) in flat.items():
        for s in starts:
            cuts.edge(family, s)
        out[family] = list(zip(starts, carries, strict=True))
    return out


def _translation_of(family: int, value: int, carrying: list[tuple[int, bool]]) -> str | None:
    """The mechanism of the translation block ``value`` is in, or None."""
    if family != 6:
        return None
    from bisect import bisect_right

    k = bisect_right(carrying, (value, True)) - 1
    if k < 0 or not carrying[k][1]:
        return None
    got = look_through(ipaddress.IPv6Address(value))
    return None if got is None else str(got.mechanism)


def _bytes16(value: int) -> bytes:
    return value.to_bytes(16, "big")


def _prefix(family: int, first: int, last: int) -> str | None:
    size = last - first + 1
    if size & (size - 1) or first & (size - 1):
        return None
    text = text4(first) if family == 4 else text6(first)
    return f"{text}/{BITS[family] - size.bit_length() + 1}"


class _Writer:
    """The three range tables, written batch by batch (rows arrive sorted by family and start)."""

    def __init__(self, directory: Path, summary: ExportSummary) -> None:
        import pyarrow.parquet as pq

        self.summary = summary
        self.schema = ranges_schema()
        self.bschema = ranges_schema(bucketed=True)
        opts: dict[str, Any] = {"compression": "zstd"}
        self.tables = {
            RANGES_FILE: pq.ParquetWriter(directory / RANGES_FILE, self.schema, **opts),
            BUCKETED_FILE: pq.ParquetWriter(directory / BUCKETED_FILE, self.bschema, **opts),
            WIDE_FILE: pq.ParquetWriter(directory / WIDE_FILE, self.schema, **opts),
        }
        self.batches: dict[str, list[dict[str, Any]]] = {name: [] for name in self.tables}

    def add(self, family: int, first: int, last: int, translation: str | None, facts: dict[str, tuple[Any, str]],
            dates: dict[str, datetime | None]) -> None:
        row = self._row(family, first, last, translation, facts, dates)
        self._put(RANGES_FILE, family, row)
        bits = BITS[family] - BUCKET_PREFIX[family]
        if last - first + 1 > 1 << bits:
            self._put(WIDE_FILE, family, row)
            return
        lo = first
        while lo <= last:  # no wider than a bucket: at most two pieces
            bucket = lo >> bits
            hi = min(last, ((bucket + 1) << bits) - 1)
            piece = row if (lo, hi) == (first, last) else self._row(family, lo, hi, translation, facts, dates)
            self._put(BUCKETED_FILE, family, {**piece, "bucket": bucket})
            lo = hi + 1

    def _row(self, family: int, first: int, last: int, translation: str | None,
             facts: dict[str, tuple[Any, str]], dates: dict[str, datetime | None]) -> dict[str, Any]:
        row: dict[str, Any] = {
            "family": family, "start": _bytes16(first), "end": _bytes16(last),
            "start_v4": first if family == 4 else None, "end_v4": last if family == 4 else None,
            "first": text4(first) if family == 4 else text6(first),
            "last": text4(last) if family == 4 else text6(last),
            "prefix": _prefix(family, first, last), "translation": translation,
        }
        for c in FACTS:
            hit = facts.get(c.name)
            if hit is None:
                continue
            value = _checked(c.kind, hit[0])
            if value is None:
                self.summary.dropped_values += 1
                continue
            row[c.name], row[f"{c.name}_source"] = value, hit[1]
            row[f"{c.name}_date"] = dates.get(hit[1])
        for name in EXTRA:
            hit = facts.get(name)
            if hit is not None:
                row[name] = hit[0]
        return row

    def _put(self, table: str, family: int, row: dict[str, Any]) -> None:
        counts = self.summary.rows.setdefault(table, {})
        counts[family] = counts.get(family, 0) + 1
        batch = self.batches[table]
        batch.append(row)
        if len(batch) >= CHUNK:
            self._flush(table)

    def _flush(self, table: str) -> None:
        import pyarrow as pa

        batch = self.batches[table]
        if batch:
            schema = self.bschema if table == BUCKETED_FILE else self.schema
            self.tables[table].write_table(pa.Table.from_pylist(batch, schema=schema))
            batch.clear()

    def close(self) -> None:
        for name, writer in self.tables.items():
            self._flush(name)
            writer.close()


def _checked(kind: str, value: Any) -> Any:
    """The value if it has the column's type (and fits it), else None."""
    if kind == "string":
        return value if isinstance(value, str) else None
    if kind == "bool":
        return value if isinstance(value, bool) else None
    if kind == "int":
        return value if isinstance(value, int) and not isinstance(value, bool) and -_INT64 <= value < _INT64 else None
    if kind == "float":
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    return None


def _segments(edges: list[int], family: int) -> Iterator[tuple[int, int]]:
    top = (1 << BITS[family]) - 1
    for k, first in enumerate(edges):
        yield first, (edges[k + 1] - 1 if k + 1 < len(edges) else top)


def export_ranges(
    directory: str | os.PathLike[str],
    *,
    mmdb: Sequence[str | os.PathLike[str]] = (),
    use_embedded: bool = True,
    discover: bool = True,
    rdap_cache: bool = True,
    rdap_config: RdapConfig | None = None,
    cloud_ranges: Sequence[str | os.PathLike[str]] = (),
    progress: Callable[[int, int], None] | None = None,
) -> ExportSummary:
    """Write the range tables and the sources table into ``directory`` (created if missing).

    The sources are those of ``enrich()`` with the same arguments, plus ``cloud_ranges`` files. Raises
    ``DatabaseError`` when a database cannot be walked to its end (a partial table would answer wrongly),
    ``InputError`` for a cloud range file that cannot be read. ``progress``: (segments done, total).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    summary = ExportSummary(out)
    cuts = _Cuts()
    carrying = _special_cuts(cuts)
    _mmdb_cuts(mmdb, use_embedded, discover, cuts, summary)
    config = rdap_config if rdap_config is not None else RdapConfig.from_env()
    if rdap_cache:
        _rdap_cuts(config, cuts, summary)
    cloud = CloudRangeProvider()
    for path in cloud_ranges:
        source, parsed = parse_cloud_ranges(Path(path))
        cloud.add(source, parsed)
        for f in parsed:
            cuts.add(f.version, f.start, f.end)
        summary.networks[source.id] = len(parsed)

    total = sum(len(v) for v in cuts.by_family.values())
    done = 0
    writer = _Writer(out, summary)

    def fresh() -> Enrichment:
        return Enrichment(mmdb=mmdb, use_embedded=use_embedded, discover=discover, rdap_cache=rdap_cache,
                          rdap_config=config)

    run = fresh()
    batches = 0
    dates: dict[str, datetime | None] = {s.id: s.date for s in cloud.sources()}
    sources: dict[str, SourceInfo] = {}
    problems: dict[str, None] = {}
    try:
        for family in (4, 6):
            edges = sorted(cuts.by_family[family])
            cuts.by_family[family] = set()  # let go of the set while the rows are made
            summary.segments[family] = len(edges)
            pending: list[Any] | None = None  # [first, last, translation, facts]: the row being merged
            it = _segments(edges, family)
            while chunk := [s for _, s in zip(range(CHUNK), it, strict=False)]:
                batches += 1
                if batches % RENEW == 0:
                    sources.update(run.sources)
                    problems.update(dict.fromkeys(run.problems))
                    run.close()
                    run = fresh()
                texts = [text4(a) if family == 4 else text6(a) for a, _b in chunk]
                answers = list(run.run(texts))
                dates.update((sid, s.date) for sid, s in run.sources.items())
                for (first, last), text, e in zip(chunk, texts, answers, strict=True):
                    translation = _translation_of(family, first, carrying[family])
                    if translation is not None:
                        # What an address here gets comes from the IPv4 it carries: only the block's own.
                        e = e._replace(ranges=(), registration=None, errors=())
                    facts = facts_row(e, cloud.find(text) if len(cloud) else None)
                    if not facts and translation is None:
                        if pending is not None:
                            writer.add(family, pending[0], pending[1], pending[2], pending[3], dates)
                            pending = None
                        continue
                    if (pending is not None and pending[1] + 1 == first and pending[2] == translation
                            and pending[3] == facts):
                        pending[1] = last
                        continue
                    if pending is not None:
                        writer.add(family, pending[0], pending[1], pending[2], pending[3], dates)
                    pending = [first, last, translation, facts]
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
            if pending is not None:
                writer.add(family, pending[0], pending[1], pending[2], pending[3], dates)
        sources.update(run.sources)
        for s in cloud.sources():
            sources.setdefault(s.id, s)
        problems.update(dict.fromkeys(run.problems))
        summary.problems += list(problems)
    finally:
        writer.close()
        run.close()
    summary.sources = list(sources.values())
    rows = [{"id": s.id, "kind": str(s.kind), "name": s.name, "date": _utc(s.date), "path": s.path,
             "licence": s.licence, "credit": s.credit} for s in summary.sources]
    pq.write_table(pa.Table.from_pylist(rows, schema=sources_schema()), out / SOURCES_FILE, compression="zstd")
    return summary


def _utc(when: datetime | None) -> datetime | None:
    if when is None:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


__all__ = [
    "BUCKETED_FILE", "BUCKET_PREFIX", "FACTS", "RANGES_FILE", "SOURCES_FILE", "TABLE_VERSION", "WIDE_FILE",
    "OUTPUT_COLUMNS", "Column", "ExportSummary", "carried_ipv4", "export_ranges", "facts_row", "output_schema", "ranges_schema", "sources_schema",
]
