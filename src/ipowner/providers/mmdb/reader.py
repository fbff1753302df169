"""Location, registered country, ASN and traits from MaxMind-format databases.

Reads any .mmdb through ``maxminddb`` (C extension where available): MaxMind GeoIP2/GeoLite2 (City,
Country, ASN, ISP, Anonymous-IP, Enterprise, Connection-Type, Domain), DB-IP, IPinfo (flat field
names) and ipowner's embedded default. Records are read as plain dicts and mapped by their keys, so a
vendor's unusual ``database_type`` never stops a database from being read.

Per field the most specific source wins: a user database over the embedded default, then the
longest matching prefix, then the order given (``--mmdb`` paths first, then discovered ones).
The ASN number, name and network travel together, as do latitude, longitude and accuracy.
"""

from __future__ import annotations

import contextlib
import gc
import os
import re
import socket
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import maxminddb

from ipowner.errors import DatabaseError, IpownerError
from ipowner.model import AddressRecord, AsnInfo, DatabaseOrigin, SourceInfo, SourceKind
from ipowner.model.data import DatabaseInfo
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

# Fields that must come from one source together (slot name per field path).
_SLOT = {
    "asn.number": "asn",
    "asn.name": "asn",
    "location.latitude": "coords",
    "location.longitude": "coords",
    "location.accuracy_km": "coords",
}


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


_AF6 = socket.AF_INET6
_PTON, _NTOP, _ATON, _NTOA = socket.inet_pton, socket.inet_ntop, socket.inet_aton, socket.inet_ntoa
_MASK4 = [((1 << 32) - 1) ^ ((1 << (32 - p)) - 1) for p in range(33)]
_MASK6 = [((1 << 128) - 1) ^ ((1 << (128 - p)) - 1) for p in range(129)]
_SUFFIX = [f"/{p}" for p in range(129)]


def _network(address: str, prefixlen: int) -> str:
    """The matched prefix in canonical form (cheaper than the ipaddress module on the hot path)."""
    if ":" in address:
        n = int.from_bytes(_PTON(_AF6, address), "big") & _MASK6[prefixlen]
        return _NTOP(_AF6, n.to_bytes(16, "big")) + _SUFFIX[prefixlen]
    n = int.from_bytes(_ATON(address), "big") & _MASK4[prefixlen]
    return _NTOA(n.to_bytes(4, "big")) + _SUFFIX[prefixlen]


def _facts_embedded(d: Any) -> dict[str, Any]:
    """The embedded database's own layout, read without the general mapper's checks (it is ours)."""
    f: dict[str, Any] = {}
    try:
        c = d.get("country")
        if c is not None:
            f["location.country"] = c["iso_code"]
        c = d.get("registered_country")
        if c is not None:
            f["registered_country"] = c["iso_code"]
        n = d.get("autonomous_system_number")
        if n is not None:
            f["asn.number"] = n
            o = d.get("autonomous_system_organization")
            if o is not None:
                f["asn.name"] = o
    except (AttributeError, KeyError, TypeError):
        return _facts(d)
    for v in f.values():
        if type(v) is not str and (type(v) is not int or v <= 0):
            return _facts(d)  # not the layout we wrote: let the general mapper sort it out
    return f


# Location fields: path -> attribute of AddressRecord.location.
_LOC = {
    "location.country": "country",
    "location.represented_country": "represented_country",
    "location.continent": "continent",
    "location.subdivision": "subdivision",
    "location.city": "city",
    "location.latitude": "latitude",
    "location.longitude": "longitude",
    "location.accuracy_km": "accuracy_km",
    "location.time_zone": "time_zone",
    "location.is_anycast": "is_anycast",
}


class _Db:
    """One open database and what is known about it."""

    __slots__ = ("reader", "get", "info", "source", "by_path", "tier", "ipv4_only", "path", "map")

    def __init__(self, reader: Any, info: DatabaseInfo, source: SourceInfo, components: dict[str, SourceInfo]):
        self.reader = reader
        self.get: Callable[[str], tuple[Any, int]] = reader.get_with_prefix_len
        self.info = info
        self.source = source
        self.by_path = components  # field path -> input source (embedded database only)
        self.tier = 1 if info.origin == "embedded" else 0
        self.ipv4_only = info.ip_version == 4
        self.path = info.path
        self.map: Callable[[Any], dict[str, Any]] = _facts_embedded if info.origin == "embedded" else _facts


class MmdbProvider:
    """Facts from the given, discovered and embedded MaxMind-format databases.

    Databases that cannot be opened are left out and described in ``problems`` (one line each,
    ``"<path>: <reason>"``); the others still answer. A lookup that fails inside one database adds a
    one-line error naming it to ``record.errors`` and the other databases still answer.
    """

    def __init__(
        self,
        paths: Sequence[str | os.PathLike[str]] = (),
        *,
        use_embedded: bool = True,
        discover: bool = True,
    ) -> None:
        self.problems: list[str] = []
        self.errors: list[DatabaseError] = []  # the same problems, as exceptions
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

    def _lookup(self, db: _Db, address: str, record: AddressRecord) -> tuple[dict[str, Any], int] | None:
        if db.ipv4_only and ":" in address:
            return None  # an IPv4-only database knows nothing of IPv6 addresses
        try:
            data, plen = db.get(address)
        except Exception as exc:  # a corrupt tree or data section: this database, this address
            reason = _LOOKUP_PREFIX.sub("", _one_line(exc))
            record.errors.append(f"{db.path}: lookup of {address} failed ({reason})")
            return None
        if data is None:
            return None
        facts = db.map(data)
        return (facts, plen) if facts else None

    @staticmethod
    def _apply(
        record: AddressRecord,
        db: _Db,
        facts: dict[str, Any],
        plen: int,
        address: str,
        winners: dict[str, tuple[int, int, int]] | None = None,
        index: int = 0,
    ) -> None:
        # Inlined record.note(): this runs once per field per address.
        prov, srcs, by_path, default = record.provenance, record.sources, db.by_path, db.source
        for path, value in facts.items():
            if winners is not None and winners[_SLOT.get(path, path)][2] != index:
                continue  # another database is more specific for this field
            attr = _LOC.get(path)
            if attr is not None:
                setattr(record.location, attr, value)
            elif path == "registered_country":
                record.registered_country = value
            elif path == "asn.number":
                asn = record.asn
                if asn is None:
                    asn = record.asn = AsnInfo()
                asn.number = value
                asn.network = _network(address, plen)
                src = by_path.get("asn.network", default)
                prov["asn.network"] = src.id
                if src.id not in srcs:
                    srcs[src.id] = src
            elif path == "asn.name":
                asn = record.asn
                if asn is None:
                    asn = record.asn = AsnInfo()
                asn.name = value
            else:
                record.traits[path[7:]] = value
            src = by_path.get(path, default)
            prov[path] = src.id
            if src.id not in srcs:
                srcs[src.id] = src

    def enrich(self, records: list[AddressRecord]) -> None:
        dbs = self._dbs
        if not dbs:
            return
        # Every object made here stays referenced by the records, so cyclic collections during the
        # batch find nothing to free; pausing them halves the time of a large batch.
        paused = gc.isenabled()
        if paused:
            gc.disable()
        try:
            if len(dbs) == 1 and dbs[0].map is _facts_embedded:
                self._enrich_embedded(dbs[0], records)
            else:
                self._enrich(dbs, records)
        finally:
            if paused:
                gc.enable()

    def _enrich_embedded(self, db: _Db, records: list[AddressRecord]) -> None:
        """The common case (only the embedded database) without the general mapping and merging."""
        get, by_path, default = db.get, db.by_path, db.source
        s_c = by_path.get("location.country", default)
        s_r = by_path.get("registered_country", default)
        s_a = by_path.get("asn.number", default)
        id_c, id_r, id_a = s_c.id, s_r.id, s_a.id
        network = _network
        for record in records:
            lt = record.looked_through
            if lt is None:
                if record.special is not None:
                    continue
                address = record.address
            else:
                address = lt.ipv4
            try:
                d, plen = get(address)
            except Exception as exc:
                reason = _LOOKUP_PREFIX.sub("", _one_line(exc))
                record.errors.append(f"{db.path}: lookup of {address} failed ({reason})")
                continue
            if d is None:
                continue
            try:
                c = d.get("country")
                cc = None if c is None else c["iso_code"]
                c = d.get("registered_country")
                rc = None if c is None else c["iso_code"]
                n = d.get("autonomous_system_number")
                name = None if n is None else d.get("autonomous_system_organization")
            except (AttributeError, KeyError, TypeError):
                cc = rc = 0  # not the layout we wrote: the general path below copes
            if not (
                (cc is None or type(cc) is str)
                and (rc is None or type(rc) is str)
                and (n is None or (type(n) is int and n > 0))
                and (name is None or type(name) is str)
            ):
                facts = _facts(d)
                if facts:
                    self._apply(record, db, facts, plen, address)
                continue
            prov, srcs = record.provenance, record.sources
            if cc is not None:
                record.location.country = cc
                prov["location.country"] = id_c
                srcs[id_c] = s_c
            if rc is not None:
                record.registered_country = rc
                prov["registered_country"] = id_r
                srcs[id_r] = s_r
            if n is not None:
                record.asn = AsnInfo(n, name, network(address, plen))
                prov["asn.number"] = prov["asn.network"] = id_a
                if name is not None:
                    prov["asn.name"] = id_a
                srcs[id_a] = s_a

    def _enrich(self, dbs: list[_Db], records: list[AddressRecord]) -> None:
        lookup, apply = self._lookup, self._apply
        single = dbs[0] if len(dbs) == 1 else None
        for record in records:
            # record.needs_lookup and record.attributed, inlined for the hot path.
            lt = record.looked_through
            if lt is None:
                if record.special is not None:
                    continue
                address = record.address
            else:
                address = lt.ipv4
            if single is not None:
                hit = lookup(single, address, record)
                if hit is not None:
                    apply(record, single, hit[0], hit[1], address)
                continue
            hits: list[tuple[_Db, dict[str, Any], int]] = []
            for db in dbs:
                hit = lookup(db, address, record)
                if hit is not None:
                    hits.append((db, hit[0], hit[1]))
            if not hits:
                continue
            if len(hits) == 1:
                db, facts, plen = hits[0]
                apply(record, db, facts, plen, address)
                continue
            # Best source per slot: user database before embedded, then longest prefix, then order.
            best: dict[str, tuple[int, int, int]] = {}
            for i, (db, facts, plen) in enumerate(hits):
                rank = (db.tier, -plen, i)
                for path in facts:
                    slot = _SLOT.get(path, path)
                    cur = best.get(slot)
                    if cur is None or rank < cur:
                        best[slot] = rank
            for i, (db, facts, plen) in enumerate(hits):
                apply(record, db, facts, plen, address, best, i)

    def close(self) -> None:
        for db in self._dbs:
            with contextlib.suppress(Exception):  # a reader already closed: nothing left to release
                db.reader.close()
        self._dbs = []

    def __enter__(self) -> MmdbProvider:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _age(built: datetime | None) -> int | None:
    if built is None:
        return None
    return max((datetime.now(UTC) - built).days, 0)
