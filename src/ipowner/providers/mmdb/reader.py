"""Location, registered country, ASN and traits from MaxMind-format databases.

Reads any .mmdb through ``maxminddb`` (C extension where available): MaxMind GeoIP2/GeoLite2 (City,
Country, ASN, ISP, Anonymous-IP, Enterprise, Connection-Type, Domain), DB-IP, IPinfo (flat field
names) and ipowner's embedded default. Records are read as plain dicts and mapped by their keys, so a
vendor's unusual ``database_type`` never stops a database from being read.

Each database's answer for an address is one shared ``RangeFact`` per network (the matched prefix):
made the first time an address of the network is asked about, handed out again for every later one.
Per field the most specific source wins: a user database over the embedded default, then the
longest matching prefix, then the order given (``--mmdb`` paths first, then discovered ones).
The ASN number, name and network travel together, as do latitude, longitude and accuracy.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import maxminddb

from ipowner._addr import Address, Addresses
from ipowner.errors import DatabaseError, IpownerError
from ipowner.model import DatabaseOrigin, SourceInfo, SourceKind
from ipowner.model.data import DatabaseInfo
from ipowner.providers.base import NO_RANGES, Facts, Provider, Ranges, make_fact
from ipowner.providers.mmdb import discovery

# Keys copied into AddressRecord.traits, from the record's top level or its "traits" map.
TRAIT_KEYS = frozenset(
    {
        "isp",
        "organization",
        "connection_type",
        "domain",
        "user_type",
        "is_anonymous",
        "is_anonymous_proxy",
        "is_anonymous_vpn",
        "is_hosting_provider",
        "is_legitimate_proxy",
        "is_public_proxy",
        "is_residential_proxy",
        "is_satellite_provider",
        "is_tor_exit_node",
        "anonymizer_confidence",
        "provider_name",
        "network_last_seen",
        "mobile_country_code",
        "mobile_network_code",
        "as_domain",
    }
)


def classify(database_type: str) -> tuple[str, str, str | None, str | None]:
    """(kind, vendor, licence, credit) for a metadata ``database_type``; unknown types still get read."""
    t = database_type.lower()
    if t == "ipowner-embedded":
        return "embedded", "ipowner", "CC BY 4.0", None
    if t.startswith(("geoip2-", "geolite2-", "geoip-")):
        kind = "other"
        for needle, k in (
            ("enterprise", "enterprise"),
            ("city", "city"),
            ("country", "country"),
            ("asn", "asn"),
            ("isp", "isp"),
            ("anonymous-plus", "anonymous-plus"),
            ("anonymous-ip", "anonymous-ip"),
            ("connection-type", "connection-type"),
            ("domain", "domain"),
            ("residential-proxy", "residential-proxy"),
        ):
            if needle in t:
                kind = k
                break
        if t.startswith("geolite2-"):
            return (
                kind,
                "MaxMind",
                "GeoLite2 End User License Agreement",
                "This product includes GeoLite2 data created by MaxMind, available from https://www.maxmind.com",
            )
        return kind, "MaxMind", "MaxMind commercial licence", None
    if "dbip" in t or "db-ip" in t:
        kind = next((k for k in ("city", "country", "asn", "isp", "location") if k in t), "other")
        if "lite" in t:
            return kind, "DB-IP", "CC BY 4.0", "IP Geolocation by DB-IP (https://db-ip.com)"
        return kind, "DB-IP", "DB-IP commercial licence", None
    if "ipinfo" in t:
        kind = next((k for k in ("country_asn", "lite", "asn", "country", "location") if k in t), "other")
        free = kind in ("country_asn", "lite", "asn", "country")
        return (
            kind,
            "IPinfo",
            "CC BY-SA 4.0" if free else "IPinfo licence",
            "IP address data powered by IPinfo (https://ipinfo.io)" if free else None,
        )
    return "other", "unknown", None, None


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


# The reader's lookup errors start by repeating the address, which the message already names.
_LOOKUP_PREFIX = re.compile(r"^Error (?:while )?looking up (?:data for )?\S+?\. ")


def _open_reason(exc: BaseException, path: Path) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, IsADirectoryError) or path.is_dir():
        return "is a folder, not a database file"
    if isinstance(exc, PermissionError):
        return "permission denied"
    if isinstance(exc, maxminddb.InvalidDatabaseError):
        detail = _one_line(exc)
        # The reader's generic message repeats the path; keep only a detail that adds something.
        if "Error opening database file" in detail or not detail:
            return "not a valid MaxMind DB file"
        return f"not a valid MaxMind DB file ({detail})"
    return f"cannot open ({type(exc).__name__}: {_one_line(exc)})"


def _name(names: Any) -> str | None:
    if not isinstance(names, dict):
        return None
    en = names.get("en")
    if isinstance(en, str):
        return en
    return next((v for v in names.values() if isinstance(v, str)), None)


def _code(value: Any) -> str | None:
    """A two-letter code from a GeoIP2 map ({"iso_code": ..}) or a flat string; anything else is not a code."""
    if isinstance(value, dict):
        value = value.get("iso_code")
    if isinstance(value, str) and len(value) == 2 and value.isascii() and value.isalpha():
        return value.upper()
    return None


def _asn(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, str):
        s = value.strip().upper().removeprefix("AS")
        if s.isdigit():
            return int(s) or None
    return None


def _float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


# Keys whose value is a country or continent code. GeoIP2 nests it ({"iso_code": ..}); IPinfo's
# country_asn layout gives "US"; IPinfo lite gives a name under "country" and the code under
# "country_code" (_code() keeps only two-letter codes, so the name is ignored).
_CODE_KEYS = {
    "country": "location.country",
    "country_code": "location.country",
    "registered_country": "registered_country",
    "represented_country": "location.represented_country",
    "continent_code": "location.continent",
}


def _facts(d: Any) -> dict[str, Any]:
    """Field path -> value from one database record, whatever the vendor's layout."""
    f: dict[str, Any] = {}
    if not isinstance(d, dict):
        return f
    for k, v in d.items():
        code_path = _CODE_KEYS.get(k)
        if code_path is not None:
            c = _code(v)
            if c:
                f[code_path] = c
        elif k == "continent":
            c = _code(v.get("code")) if isinstance(v, dict) else None
            if c:
                f["location.continent"] = c
        elif k == "city":
            c = _name(v.get("names")) if isinstance(v, dict) else v
            if isinstance(c, str) and c:
                f["location.city"] = c
        elif k == "subdivisions":
            if isinstance(v, list) and v and isinstance(v[0], dict):
                c = _name(v[0].get("names")) or v[0].get("iso_code")
                if isinstance(c, str) and c:
                    f["location.subdivision"] = c
        elif k == "region":
            if isinstance(v, str) and v:
                f["location.subdivision"] = v
        elif k == "location":
            if isinstance(v, dict):
                lat, lon = _float(v.get("latitude")), _float(v.get("longitude"))
                if lat is not None and lon is not None:
                    f["location.latitude"], f["location.longitude"] = lat, lon
                    acc = v.get("accuracy_radius")
                    if isinstance(acc, int) and not isinstance(acc, bool):
                        f["location.accuracy_km"] = acc
                tz = v.get("time_zone")
                if isinstance(tz, str) and tz:
                    f["location.time_zone"] = tz
        elif k in ("latitude", "longitude"):
            x = _float(v)
            if x is not None:
                f[f"location.{k}"] = x
        elif k == "timezone":
            if isinstance(v, str) and v:
                f["location.time_zone"] = v
        elif k == "traits":
            if isinstance(v, dict):
                _traits(v, f)
        elif k == "autonomous_system_number" or k == "asn":
            n = _asn(v)
            if n:
                f["asn.number"] = n
        elif k == "autonomous_system_organization" or k == "as_name":
            if isinstance(v, str) and v:
                f["asn.name"] = v
        elif k == "is_anycast":
            if isinstance(v, bool):
                f["location.is_anycast"] = v
        elif k in TRAIT_KEYS and isinstance(v, (str, int, float, bool)):
            f[f"traits.{k}"] = v
    if "location.latitude" in f and "location.longitude" not in f:
        del f["location.latitude"]
    elif "location.longitude" in f and "location.latitude" not in f:
        del f["location.longitude"]
    if "asn.name" in f and "asn.number" not in f:
        del f["asn.name"]  # a name without its number cannot be matched with other sources
    return f


def _traits(t: dict[str, Any], f: dict[str, Any]) -> None:
    for k, v in t.items():
        if k == "autonomous_system_number":
            n = _asn(v)
            if n:
                f["asn.number"] = n
        elif k == "autonomous_system_organization":
            if isinstance(v, str) and v:
                f["asn.name"] = v
        elif k == "is_anycast":
            if isinstance(v, bool):
                f["location.is_anycast"] = v
        elif k in TRAIT_KEYS and isinstance(v, (str, int, float, bool)):
            f[f"traits.{k}"] = v



def embedded_key(d: Any) -> tuple[str | None, str | None, int | None, str | None] | None:
    """(country, registered country, AS number, AS name) of a record in the embedded database's own layout.

    None when the record is not in that layout: the general mapper (``_facts``) reads it then.
    """
    try:
        c = d.get("country")
        cc = None if c is None else c["iso_code"]
        c = d.get("registered_country")
        rc = None if c is None else c["iso_code"]
        asn = d.get("autonomous_system_number")
        name = None if asn is None else d.get("autonomous_system_organization")
    except (AttributeError, KeyError, TypeError):
        return None
    if (
        (cc is None or type(cc) is str) and (rc is None or type(rc) is str)
        and (asn is None or (type(asn) is int and asn > 0)) and (name is None or type(name) is str)
    ):
        return cc, rc, asn, name
    return None


# What a range's facts look like before the range is known: its fields, and the shape (fields, asn,
# as_name, country, registered_country) of a record the general mapper read.
Fields = tuple[tuple[str, Any, str], ...]
_Shape = tuple[Fields, Any, Any, Any, Any]
_UNSEEN = object()


class _Db:
    """One open database, what is known about it, and its facts met so far (one per network)."""

    __slots__ = ("reader", "get", "info", "source", "by_path", "tier", "ipv4_only", "path", "embedded", "ids",
                 "memo4", "memo6", "shapes", "shared", "network_field")

    def __init__(self, reader: Any, info: DatabaseInfo, source: SourceInfo, components: dict[str, SourceInfo]):
        self.reader = reader
        self.get: Callable[[str], tuple[Any, int]] = reader.get_with_prefix_len
        self.info = info
        self.source = source
        self.by_path = components  # field path -> input source (embedded database only)
        self.tier = 1 if info.origin == "embedded" else 0
        self.ipv4_only = info.ip_version == 4
        self.path = info.path
        self.embedded = info.origin == "embedded"
        # field path -> source id (the embedded database's inputs differ per field)
        self.ids = {p: src.id for p, src in components.items()}
        for p in ("location.country", "registered_country", "asn.number", "asn.name", "asn.network"):
            self.ids.setdefault(p, source.id)
        # network key (prefix bits << 8 | prefix length) -> the network's ranges, per IP version
        self.memo4: dict[int, Ranges] = {}
        self.memo6: dict[int, Ranges] = {}
        self.shapes: dict[Any, object] = {}  # a record's key -> its Fields or _Shape (None: it gives nothing)
        self.shared: dict[tuple[str, type, Any], tuple[str, Any, str]] = {}  # (path, class, value) -> its field
        self.network_field = ("asn.network", None, self.ids["asn.network"])  # the value is the range's prefix

    def read_error(self, address: str, exc: BaseException) -> str:
        return f"{self.path}: lookup of {address} failed ({_LOOKUP_PREFIX.sub('', _one_line(exc))})"

    def facts(self, data: Any, plen: int, version: int, n: int) -> Ranges:
        """The facts of the network ``n`` falls in (``plen`` bits), made once per network."""
        key = embedded_key(data) if self.embedded else None
        if key is not None:
            fields = self.shapes.get(key, _UNSEEN)
            if fields is _UNSEEN:
                fields = self.shapes[key] = self._embedded_fields(key)
            if fields is None:
                return NO_RANGES
            cc, rc, asn, name = key
        else:
            shape = self._shape(data)
            if shape is None:
                return NO_RANGES
            fields, asn, name, cc, rc = shape
        shift = (32 if version == 4 else 128) - plen
        start = n >> shift << shift
        return (make_fact(start, start + (1 << shift) - 1, version, self.source.id, None, None, asn, name, cc, rc,
                          None, None, None, None, None, None, None, fields),)

    # Many networks share one answer (an AS, a country): they share its fields; and answers share the
    # fields they have in common (a country, a city's name or time zone), so that a long run keeps few
    # objects for the garbage collector to look at.
    def _field(self, path: str, value: Any) -> tuple[str, Any, str]:
        key = (path, value.__class__, value)  # the class too: True == 1 == 1.0 as keys
        got = self.shared.get(key)
        if got is None:
            got = self.shared[key] = (path, value, self.ids.get(path, self.source.id))
        return got

    def _embedded_fields(self, key: tuple[str | None, str | None, int | None, str | None]) -> Fields | None:
        cc, rc, asn, name = key
        ids = self.ids
        fields: list[tuple[str, Any, str]] = []
        if cc is not None:
            fields.append(self._field("location.country", cc))
        if rc is not None:
            fields.append(self._field("registered_country", rc))
        if asn is not None:  # an AS's own fields: shared through the fields of the AS's networks
            fields.append(("asn.number", asn, ids["asn.number"]))
            if name is not None:
                fields.append(("asn.name", name, ids["asn.name"]))
        return self._finish(fields, asn)

    def _shape(self, data: Any) -> _Shape | None:
        """Any other record, through the general mapper. Records that give the same (an AS, a country)
        share their fields; a record with coordinates is a place of its own and is not looked for again."""
        facts = _facts(data)
        if not facts:
            return None
        own = "location.latitude" in facts
        if not own:
            # One flat tuple (paths, value classes, values): cheap to keep, and True == 1 == 1.0 stay apart.
            key = (*facts, *map(type, facts.values()), *facts.values())
            shape = self.shapes.get(key, _UNSEEN)
            if shape is not _UNSEEN:
                return shape  # type: ignore[return-value]
        fields = self._finish([self._field(p, v) for p, v in facts.items()], facts.get("asn.number"))
        shape = None if fields is None else (fields, facts.get("asn.number"), facts.get("asn.name"),
                                             facts.get("location.country"), facts.get("registered_country"))
        if not own:
            self.shapes[key] = shape
        return shape

    def _finish(self, fields: list[tuple[str, Any, str]], asn: Any) -> Fields | None:
        if not fields:
            return None
        if asn is not None:
            fields.append(self.network_field)
        return tuple(fields)


class MmdbProvider(Provider):
    """Facts from the given, discovered and embedded MaxMind-format databases.

    Databases that cannot be opened are left out and described in ``problems`` (one line each,
    ``"<path>: <reason>"``); the others still answer. A lookup that fails inside one database is a
    one-line error naming it in that address's ``Facts.errors``, and the other databases still answer.
    """

    name = "mmdb"
    problem_kind = "database"

    def __init__(
        self,
        paths: Sequence[str | os.PathLike[str]] = (),
        *,
        use_embedded: bool = True,
        discover: bool = True,
    ) -> None:
        self.errors: list[DatabaseError] = []  # the problems, as exceptions
        self._dbs: list[_Db] = []
        self._ids: set[str] = set()
        seen: set[str] = set()
        for p in paths:
            self._add(Path(p), DatabaseOrigin.GIVEN, seen)
        if discover:
            for p in discovery.discover():
                self._add(p, DatabaseOrigin.DISCOVERED, seen)
        if use_embedded:
            self._add_embedded()

    # -- opening -----------------------------------------------------------------------------

    def _problem(self, path: str, reason: str) -> None:
        err = DatabaseError(path, reason)
        self.errors.append(err)
        self.problems.append(str(err))

    def _unique_id(self, base: str) -> str:
        sid, n = base, 2
        while sid in self._ids:
            sid, n = f"{base}#{n}", n + 1
        self._ids.add(sid)
        return sid

    def _open(self, path: Path) -> Any:
        try:
            if path.exists() and not path.is_file() and not path.is_dir():
                # A FIFO or device would block or never end; a database is a regular file.
                self._problem(str(path), "not a regular file")
                return None
            return maxminddb.open_database(str(path), maxminddb.MODE_AUTO)
        except Exception as exc:  # any failure to open is this database's problem, not the run's
            self._problem(str(path), _open_reason(exc, path))
            return None

    @staticmethod
    def _meta(reader: Any) -> tuple[str, str | None, datetime | None, int, int]:
        m = reader.metadata()
        dbtype = m.database_type if isinstance(m.database_type, str) else str(m.database_type)
        desc = m.description.get("en") if isinstance(m.description, dict) else None
        if desc is None and isinstance(m.description, dict) and m.description:
            desc = next(iter(m.description.values()))
        try:
            built: datetime | None = datetime.fromtimestamp(int(m.build_epoch), tz=UTC)
        except (OverflowError, OSError, ValueError, TypeError):
            built = None  # e.g. build_epoch = 2**64-1: the date is unknown, the data still reads
        return dbtype, desc if isinstance(desc, str) else None, built, int(m.ip_version), int(m.node_count)

    def _add(self, path: Path, origin: DatabaseOrigin, seen: set[str]) -> None:
        key = os.path.realpath(path)
        if key in seen:
            return
        seen.add(key)
        reader = self._open(path)
        if reader is None:
            return
        try:
            dbtype, desc, built, ipv, nodes = self._meta(reader)
        except Exception as exc:
            reader.close()
            self._problem(str(path), f"unreadable metadata ({_one_line(exc)})")
            return
        kind, vendor, licence, credit = classify(dbtype)
        sid = self._unique_id(f"mmdb:{(dbtype or path.stem)[:80]}")  # metadata is untrusted: keep ids short
        source = SourceInfo(
            id=sid, kind=SourceKind.MMDB, name=dbtype or path.name, date=built, path=str(path), licence=licence, credit=credit
        )
        info = DatabaseInfo(
            path=str(path),
            source_id=sid,
            database_type=dbtype,
            kind=kind,
            vendor=vendor,
            build_date=built,
            age_days=_age(built),
            licence=licence,
            ip_version=ipv,
            node_count=nodes,
            origin=origin,
            description=desc,
        )
        self._dbs.append(_Db(reader, info, source, {}))

    def _add_embedded(self) -> None:
        from ipowner.providers.mmdb import embedded

        try:
            emb = embedded.embedded()
        except IpownerError as exc:
            self.problems.append(f"embedded database: {exc}")
            self.errors.append(exc if isinstance(exc, DatabaseError) else DatabaseError("embedded", str(exc)))
            return
        self.problems.extend(emb.problems)
        reader = self._open(emb.path)
        if reader is None:
            return
        try:
            dbtype, desc, built, ipv, nodes = self._meta(reader)
        except Exception as exc:
            reader.close()
            self._problem(str(emb.path), f"unreadable metadata ({_one_line(exc)})")
            return
        self._ids.add(emb.source.id)
        inputs = list({s.id: s for s in emb.components.values()}.values())
        info = DatabaseInfo(
            path=str(emb.path),
            source_id=emb.source.id,
            database_type=dbtype,
            kind="embedded",
            vendor="ipowner",
            build_date=emb.source.date or built,
            age_days=_age(emb.source.date or built),
            licence=emb.source.licence,
            ip_version=ipv,
            node_count=nodes,
            origin=DatabaseOrigin.EMBEDDED,
            description=desc,
            sources=inputs,
        )
        self._dbs.append(_Db(reader, info, emb.source, emb.components))

    # -- the Provider interface ----------------------------------------------------------------

    def databases(self) -> list[DatabaseInfo]:
        return [db.info for db in self._dbs]

    def sources(self) -> list[SourceInfo]:
        out: list[SourceInfo] = []
        for db in self._dbs:
            out.append(db.source)
            out.extend(db.info.sources)
        return out

    def block_end(self, address: Address) -> int | None:
        """The last address of the smallest network any database's tree holds ``address`` in, with data or
        without (a stretch the database knows nothing of is a network of its tree too); None when no
        database covers the address's IP version. Walking a range block by block needs this, because an
        address without data has no facts to give the end of its stretch."""
        text, version, n = address
        bits = 32 if version == 4 else 128
        end: int | None = None
        for db in self._dbs:
            if version == 6 and db.ipv4_only:
                continue
            try:
                _data, plen = db.get(text)
            except Exception:  # noqa: BLE001 - a corrupt tree: this database gives no bound, facts_many says why
                continue
            shift = bits - plen
            last = (n >> shift << shift) + (1 << shift) - 1
            end = last if end is None else min(end, last)
        return end

    def facts_many(self, addresses: Addresses) -> Facts:
        """Each address's ranges, most specific first: user databases before the embedded one, then
        the longest prefix, then the order given. One read per database and address."""
        dbs = self._dbs
        if not dbs:
            return Facts.none(len(addresses))
        if len(dbs) == 1:
            return self._single(dbs[0], addresses)
        return self._merged(dbs, addresses)

    @staticmethod
    def _single(db: _Db, addresses: Addresses) -> Facts:
        """One database (the common case: the embedded one): its network's range is the answer."""
        out = Facts()
        ranges, errors, nothing = out.ranges, out.errors, NO_RANGES
        put = ranges.append
        get, v4only, memo4, memo6, make = db.get, db.ipv4_only, db.memo4, db.memo6, db.facts
        for text, v, n in addresses:
            if v == 6 and v4only:
                put(nothing)  # an IPv4-only database knows nothing of IPv6 addresses
                continue
            try:
                data, plen = get(text)
            except Exception as exc:  # a corrupt tree or data section: this database, this address
                errors[len(ranges)] = (db.read_error(text, exc),)
                put(nothing)
                continue
            if data is None:
                put(nothing)
            elif v == 4:
                key = n >> (32 - plen) << 8 | plen
                r = memo4.get(key)
                if r is None:
                    r = memo4[key] = make(data, plen, 4, n)
                put(r)
            else:
                key = n >> (128 - plen) << 8 | plen
                r = memo6.get(key)
                if r is None:
                    r = memo6[key] = make(data, plen, 6, n)
                put(r)
        return out

    @staticmethod
    def _merged(dbs: list[_Db], addresses: Addresses) -> Facts:
        out = Facts()
        put = out.ranges.append
        ranked = [(k, db, db.get, db.tier, db.ipv4_only, db.memo4, db.memo6) for k, db in enumerate(dbs)]
        for i, (text, v, n) in enumerate(addresses):
            # (tier, -prefix length, order, the network's fact): sorted, the most specific source first
            hits: list[tuple[int, int, int, Ranges]] = []
            for k, db, get, tier, v4only, memo4, memo6 in ranked:
                if v == 6 and v4only:
                    continue
                try:
                    data, plen = get(text)
                except Exception as exc:
                    out.errors[i] = (*out.errors.get(i, ()), db.read_error(text, exc))
                    continue
                if data is None:
                    continue
                if v == 4:
                    key = n >> (32 - plen) << 8 | plen
                    r = memo4.get(key)
                    if r is None:
                        r = memo4[key] = db.facts(data, plen, 4, n)
                else:
                    key = n >> (128 - plen) << 8 | plen
                    r = memo6.get(key)
                    if r is None:
                        r = memo6[key] = db.facts(data, plen, 6, n)
                if r:
                    hits.append((tier, -plen, k, r))
            if not hits:
                put(NO_RANGES)
            elif len(hits) == 1:
                put(hits[0][3])  # one database answered: its network's own tuple
            else:
                hits.sort()  # the order number is unique: facts themselves are never compared
                put(tuple([h[3][0] for h in hits]))
        return out

    def close(self) -> None:
        for db in self._dbs:
            with contextlib.suppress(Exception):  # a reader already closed: nothing left to release
                db.reader.close()
        self._dbs = []


def _age(built: datetime | None) -> int | None:
    if built is None:
        return None
    return max((datetime.now(UTC) - built).days, 0)
