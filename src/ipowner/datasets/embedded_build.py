"""The embedded default database's build: the npm packages' CSV rows checked, merged and written as one .mmdb.

The one build code path, used by ``scripts/build_embedded_db.py`` (the shipped ``data/ipowner-embedded.mmdb.xz``)
and by ``ipowner data update`` (a rebuild in the user data folder, ``reference.embedded_files``).

Inputs (CC BY 4.0), one npm package each (``SOURCES``):
  @ip-location-db/asn           ASN + AS organisation (RouteViews > NRO/RIR > DB-IP ASN Lite)
  @ip-location-db/dbip-country  DB-IP IP to Country Lite: where an address is believed to be
  @ip-location-db/asn-country   NRO/RIR delegation statistics: where the block is registered

The inputs are checked while building (start > end, overlapping ranges, invalid country codes or
ASNs, special-purpose and non-global space); what was dropped and why is written into the metadata.
Records are shaped like GeoIP2 so that one reader maps every database:
  {"country": {"iso_code": "US"}, "registered_country": {"iso_code": "US"},
   "autonomous_system_number": 15169, "autonomous_system_organization": "Google LLC"}
"""

from __future__ import annotations

import bisect
import csv
import hashlib
import io
import ipaddress
import json
import lzma
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ipowner.datasets.npm import NpmError, read_members
from ipowner.errors import InputError

DATABASE_TYPE = "ipowner-embedded"
MMDB_NAME = "ipowner-embedded.mmdb"

# ISO 3166-1 alpha-2 codes officially assigned, plus XK (Kosovo: user-assigned, used by DB-IP and the RIRs).
ISO_COUNTRIES = frozenset(
    ["AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ", "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS", "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN", "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE", "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF", "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM", "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM", "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC", "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK", "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA", "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG", "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW", "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS", "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO", "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI", "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW", "XK"]
)

# Space no database should describe: IANA special-purpose blocks that are not globally reachable,
# multicast and reserved space, and IPv6 translation prefixes (the lookup looks through those to the
# embedded IPv4 address, so facts stored under them would never be the right answer).
SPECIAL_V4 = [
    ("0.0.0.0/8", "this network"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "shared (CGNAT)"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation"),
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
]
SPECIAL_V6 = [
    ("::/3", "outside global unicast 2000::/3"),
    ("2001::/32", "Teredo (looked through)"),
    ("2001:2::/48", "benchmarking"),
    ("2001:db8::/32", "documentation"),
    ("2002::/16", "6to4 (looked through)"),
    ("3fff::/20", "documentation"),
    ("4000::/2", "outside global unicast 2000::/3"),
    ("8000::/1", "outside global unicast 2000::/3"),
]

EXAMPLES = 5  # examples kept per drop reason


@dataclass(frozen=True)
class SourceSpec:
    key: str  # short id, also used in provenance ids ("embedded:<key>")
    package: str
    stem: str  # CSV file stem inside the package: <stem>-ipv4-num.csv / <stem>-ipv6-num.csv
    kind: str  # "asn" | "country" | "registered_country"
    name: str
    licence: str
    credit: str
    url: str


SOURCES = [
    SourceSpec(
        key="asn",
        package="@ip-location-db/asn",
        stem="asn",
        kind="asn",
        name="ASN and AS organisation (RouteViews, NRO, DB-IP)",
        licence="CC BY 4.0",
        credit=(
            "IP to ASN data by RouteViews (https://www.routeviews.org), the NRO (https://www.nro.net) and "
            "DB-IP (https://db-ip.com), packaged by ip-location-db (sapics)"
        ),
        url="https://github.com/sapics/ip-location-db/tree/main/asn",
    ),
    SourceSpec(
        key="dbip-country",
        package="@ip-location-db/dbip-country",
        stem="dbip-country",
        kind="country",
        name="DB-IP IP to Country Lite",
        licence="CC BY 4.0",
        credit="IP Geolocation by DB-IP (https://db-ip.com), packaged by ip-location-db (sapics)",
        url="https://db-ip.com/db/download/ip-to-country-lite",
    ),
    SourceSpec(
        key="asn-country",
        package="@ip-location-db/asn-country",
        stem="asn-country",
        kind="registered_country",
        name="Registration country (NRO/RIR statistics)",
        licence="CC BY 4.0",
        credit="Registration data from the NRO and the five RIRs (https://www.nro.net), packaged by ip-location-db (sapics)",
        url="https://github.com/sapics/ip-location-db/tree/main/asn-country",
    ),
]

# Which record field each source provides (the provider uses this to note provenance per field).
FIELD_SOURCES = {
    "location.country": "dbip-country",
    "registered_country": "asn-country",
    "asn.number": "asn",
    "asn.name": "asn",
    "asn.network": "asn",
}


@dataclass
class DropLog:
    """Counts and a few examples of what was dropped or cut from one source, per reason."""

    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, reason: str, example: str) -> None:
        self.counts[reason] = self.counts.get(reason, 0) + 1
        ex = self.examples.setdefault(reason, [])
        if len(ex) < EXAMPLES:
            ex.append(example)

    def to_dict(self) -> dict[str, Any]:
        return {r: {"count": n, "examples": self.examples.get(r, [])} for r, n in sorted(self.counts.items())}


# A cleaned range: (start, end, value) with value a str country code or (asn, org) tuple.
Range = tuple[int, int, Any]


def _fmt(start: int, end: int, version: int) -> str:
    f = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    return f"{f(start)}-{f(end)}"


def _show(value: Any) -> str:
    if isinstance(value, tuple):
        return f"AS{value[0]} {value[1] or ''}".strip()
    return str(value)


def _special_blocks(version: int) -> list[tuple[int, int, str]]:
    blocks = SPECIAL_V4 if version == 4 else SPECIAL_V6
    out = []
    for cidr, label in blocks:
        n = ipaddress.ip_network(cidr)
        out.append((int(n.network_address), int(n.broadcast_address), label))
    out.sort()
    return out


def parse_rows(rows: Iterable[Sequence[str]], kind: str, version: int, log: DropLog) -> list[Range]:
    """Validate one source's rows (numeric CSV layout) into sorted, non-overlapping ranges."""
    maxval = (1 << (32 if version == 4 else 128)) - 1
    parsed: list[Range] = []
    for lineno, row in enumerate(rows, 1):
        try:
            start, end = int(row[0]), int(row[1])
        except (ValueError, IndexError):
            log.add("unparsable row", f"line {lineno}: {','.join(row)[:80]}")
            continue
        if not (0 <= start <= maxval and 0 <= end <= maxval):
            log.add("address out of range", f"line {lineno}: {row[0]},{row[1]}")
            continue
        if start > end:
            log.add("start > end", f"line {lineno}: {_fmt(start, end, version)}")
            continue
        value: Any
        if kind == "asn":
            try:
                asn = int(row[2])
            except (ValueError, IndexError):
                log.add("invalid ASN", f"{_fmt(start, end, version)} {row[2:3]}")
                continue
            if not 0 < asn < 4294967295 or asn == 23456:
                log.add("invalid ASN", f"{_fmt(start, end, version)} AS{asn}")
                continue
            org = row[3].strip() if len(row) > 3 else ""
            value = (asn, org or None)
        else:
            cc = row[2].strip().upper() if len(row) > 2 else ""
            if cc not in ISO_COUNTRIES:
                log.add("invalid country code", f"{_fmt(start, end, version)} {row[2:3]}")
                continue
            value = cc
        parsed.append((start, end, value))

    parsed.sort(key=lambda r: (r[0], r[1]))
    clean: list[Range] = []
    for start, end, value in parsed:
        if clean and start <= clean[-1][1]:
            ps, pe, pv = clean[-1]
            what = f"{_fmt(start, end, version)} {_show(value)} overlaps {_fmt(ps, pe, version)} {_show(pv)}"
            if end <= pe:
                log.add("overlap: contained in an earlier range, dropped", what)
                continue
            # Keep the earlier range whole and the part of this one that no other range claims.
            log.add("overlap: cut to the part after the earlier range", what)
            start = pe + 1
        clean.append((start, end, value))
    return _remove_special(clean, version, log)


def _remove_special(ranges: list[Range], version: int, log: DropLog) -> list[Range]:
    blocks = _special_blocks(version)
    starts = [b[0] for b in blocks]
    out: list[Range] = []
    for start, end, value in ranges:
        i = max(bisect.bisect_right(starts, start) - 1, 0)
        pieces = [(start, end)]
        hit = None
        while i < len(blocks) and blocks[i][0] <= end:
            bs, be, label = blocks[i]
            i += 1
            if be < start:
                continue
            hit = hit or label
            nxt = []
            for s, e in pieces:
                if be < s or bs > e:
                    nxt.append((s, e))
                    continue
                if s < bs:
                    nxt.append((s, bs - 1))
                if e > be:
                    nxt.append((be + 1, e))
            pieces = nxt
        if hit is None:
            out.append((start, end, value))
            continue
        log.add(
            f"special or non-global space ({hit}): {'cut' if pieces else 'dropped'}",
            f"{_fmt(start, end, version)} {_show(value)}",
        )
        out.extend((s, e, value) for s, e in pieces)
    return out


def merge(layers: dict[str, list[Range]]) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """Sweep the sources' ranges into segments with one combined record each; equal neighbours join."""
    keys = list(layers)
    points: set[int] = set()
    for rs in layers.values():
        for s, e, _ in rs:
            points.add(s)
            points.add(e + 1)
    bounds = sorted(points)
    idx = dict.fromkeys(keys, 0)
    cur_start: int | None = None
    cur_val: dict[str, Any] | None = None
    prev_end = -2
    for b, nb in zip(bounds, bounds[1:], strict=False):
        seg_end = nb - 1
        val: dict[str, Any] = {}
        for k in keys:
            rs = layers[k]
            i = idx[k]
            while i < len(rs) and rs[i][1] < b:
                i += 1
            idx[k] = i
            if i < len(rs) and rs[i][0] <= b:
                val[k] = rs[i][2]
        if not val:
            if cur_val is not None:
                yield cur_start, prev_end, cur_val  # type: ignore[misc]
                cur_val = None
            continue
        if cur_val == val and prev_end + 1 == b:
            prev_end = seg_end
            continue
        if cur_val is not None:
            yield cur_start, prev_end, cur_val  # type: ignore[misc]
        cur_start, cur_val, prev_end = b, val, seg_end
    if cur_val is not None:
        yield cur_start, prev_end, cur_val  # type: ignore[misc]


def record_for(val: dict[str, Any], specs: Sequence[SourceSpec]) -> dict[str, Any]:
    """The GeoIP2-shaped record; keys a source does not know are omitted."""
    rec: dict[str, Any] = {}
    for spec in specs:
        v = val.get(spec.key)
        if v is None:
            continue
        if spec.kind == "country":
            rec["country"] = {"iso_code": v}
        elif spec.kind == "registered_country":
            rec["registered_country"] = {"iso_code": v}
        elif spec.kind == "asn":
            asn, org = v
            rec["autonomous_system_number"] = asn
            if org:
                rec["autonomous_system_organization"] = org
    return rec


def range_to_cidrs(start: int, end: int, bits: int) -> Iterator[tuple[int, int]]:
    """(network int, prefix length) pairs covering start..end exactly."""
    while start <= end:
        size = (start & -start).bit_length() - 1 if start else bits
        while size > 0 and start + (1 << size) - 1 > end:
            size -= 1
        yield start, bits - size
        start += 1 << size


def _writer_class() -> Any:
    from mmdb_writer import MMDBWriter, SearchTreeLeaf, SearchTreeNode

    class Writer(MMDBWriter):
        """mmdb_writer with a direct (int, prefix) insert of disjoint networks and a fixed build epoch."""

        build_epoch: int = 0

        def insert_cidr(self, value: int, prefixlen: int, version: int, leaf: Any) -> None:
            if version == 4:
                prefixlen += 96  # IPv4 lives at ::/96 in an IPv6 tree
            node: Any = self.tree  # a node; the loop never walks into a leaf (the networks are disjoint)
            for i in range(prefixlen - 1):
                bit = (value >> (127 - i)) & 1
                child = node[bit]
                if child is None:
                    child = SearchTreeNode()
                    node[bit] = child
                node = child
            node[(value >> (128 - prefixlen)) & 1] = leaf

        def _build_meta(self) -> dict[str, Any]:
            meta = super()._build_meta()
            if self.build_epoch:
                meta["build_epoch"] = self.build_epoch
            return meta

    return Writer, SearchTreeLeaf


@dataclass
class LoadedSource:
    spec: SourceSpec
    version: str
    data_date: date | None
    rows: dict[int, list[list[str]]]  # ip version -> CSV rows


def version_date(version: str) -> date | None:
    """ip-location-db versions end in YYYYMMDDHH (the data's publication time)."""
    m = re.search(r"(\d{4})(\d{2})(\d{2})\d{2}$", version)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def build(
    sources: Sequence[LoadedSource],
    mmdb_path: Path,
    *,
    build_time: datetime | None = None,
    built_by: str = "built",
) -> dict[str, Any]:
    """Check the inputs, merge them and write the .mmdb; returns the metadata document.

    ``built_by``: the description's verb ("built" by the build script, "rebuilt by ipowner data update")."""
    t0 = time.monotonic()
    build_time = (build_time or datetime.now(UTC)).replace(microsecond=0)
    specs = [s.spec for s in sources]
    writer_cls, leaf_cls = _writer_class()
    desc = f"ipowner embedded default data, {built_by} {build_time.date().isoformat()} from " + "; ".join(
        f"{s.spec.package} {s.version} (data {s.data_date.isoformat() if s.data_date else 'date unknown'})"
        for s in sources
    )
    writer = writer_cls(
        ip_version=6,
        ipv4_compatible=True,
        database_type=DATABASE_TYPE,
        languages=["en"],
        description={"en": desc},
    )
    writer.build_epoch = int(build_time.timestamp())

    dropped: dict[str, Any] = {}
    counts: dict[str, Any] = {}
    leaves: dict[Any, Any] = {}  # one leaf object per distinct record keeps the tree writer's caches small
    for ver in (4, 6):
        layers: dict[str, list[Range]] = {}
        for src in sources:
            log = DropLog()
            layers[src.spec.key] = parse_rows(src.rows[ver], src.spec.kind, ver, log)
            counts.setdefault(src.spec.key, {})[f"ipv{ver}_rows"] = len(src.rows[ver])
            counts[src.spec.key][f"ipv{ver}_kept"] = len(layers[src.spec.key])
            if log.counts:
                dropped.setdefault(src.spec.key, {})[f"ipv{ver}"] = log.to_dict()
        segments = networks = 0
        for start, end, val in merge(layers):
            segments += 1
            key = tuple(sorted(val.items()))
            leaf = leaves.get(key)
            if leaf is None:
                leaf = leaves[key] = leaf_cls(record_for(val, specs))
            for net, plen in range_to_cidrs(start, end, 32 if ver == 4 else 128):
                writer.insert_cidr(net, plen, ver, leaf)
                networks += 1
        counts[f"ipv{ver}_segments"] = segments
        counts[f"ipv{ver}_networks"] = networks
    counts["distinct_records"] = len(leaves)
    mmdb_path.parent.mkdir(parents=True, exist_ok=True)
    writer.to_db_file(str(mmdb_path))
    data = mmdb_path.read_bytes()
    return {
        "database_type": DATABASE_TYPE,
        "build_date": build_time.isoformat().replace("+00:00", "Z"),
        "build_seconds": round(time.monotonic() - t0, 1),
        "description": desc,
        "mmdb_sha256": hashlib.sha256(data).hexdigest(),
        "mmdb_size": len(data),
        "sources": [
            {
                "id": f"embedded:{s.spec.key}",
                "key": s.spec.key,
                "name": s.spec.name,
                "package": s.spec.package,
                "package_version": s.version,
                "data_date": s.data_date.isoformat() if s.data_date else None,
                "licence": s.spec.licence,
                "credit": s.spec.credit,
                "url": s.spec.url,
            }
            for s in sources
        ],
        "fields": FIELD_SOURCES,
        "counts": counts,
        "dropped": dropped,
    }


def compress(mmdb_path: Path, xz_path: Path) -> None:
    with open(mmdb_path, "rb") as f, lzma.open(xz_path, "wb", preset=9 | lzma.PRESET_EXTREME) as out:
        while chunk := f.read(1 << 20):
            out.write(chunk)


MAX_ROWS = 20_000_000  # per source and IP version; the real packages have a few million


def csv_rows(data: bytes, where: str) -> list[list[str]]:
    """The rows of one numeric CSV member; raises ``InputError``."""
    try:
        rows = []
        for row in csv.reader(io.StringIO(data.decode("utf-8", errors="replace"), newline="")):
            rows.append(row)
            if len(rows) > MAX_ROWS:
                raise InputError(where, f"more than {MAX_ROWS} rows; refused")
        return rows
    except csv.Error as exc:
        raise InputError(where, f"not a CSV file ({exc})") from exc


def member_names(spec: SourceSpec) -> list[str]:
    """The package members the build reads (npm tarballs hold the package under ``package/``)."""
    return ["package/package.json", *(f"package/{spec.stem}-ipv{v}-num.csv" for v in (4, 6))]


def load_package(spec: SourceSpec, tarball: bytes, where: str, *, version: str | None = None) -> LoadedSource:
    """One source's rows from its npm tarball (hostile input: bounded, no links or paths out of the package).

    ``version``: the version the registry announced; the package must say the same. Raises ``InputError``."""
    try:
        members = read_members(tarball, member_names(spec))
    except NpmError as exc:
        raise InputError(where, str(exc)) from exc
    try:
        pkg = json.loads(members["package/package.json"])
    except (ValueError, RecursionError) as exc:
        raise InputError(where, f"package.json is not JSON ({str(exc)[:200]})") from exc
    if not isinstance(pkg, dict) or pkg.get("name") != spec.package or not isinstance(pkg.get("version"), str):
        raise InputError(where, f"not the package {spec.package}")
    got = pkg["version"][:64]
    if version is not None and got != version:
        raise InputError(where, f"package.json says version {got}, the registry {version}")
    rows = {v: csv_rows(members[f"package/{spec.stem}-ipv{v}-num.csv"], f"{where}: {spec.stem}-ipv{v}-num.csv")
            for v in (4, 6)}
    return LoadedSource(spec, got, version_date(got), rows)
