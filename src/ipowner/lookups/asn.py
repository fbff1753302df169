"""``lookup_as()``: what is known about one AS number (``ipowner lookup AS15169``).

Offline, from the embedded data (and any ``mmdb`` given): the AS's name, the address ranges the data maps to
it (counted, and listed in the JSON), and the registration countries of those ranges; the registry whose
range of AS numbers holds it, from IANA's RDAP bootstrap; the cloud provider whose AS number it is, from the
shipped provider table. Online (or from the RDAP cache offline): the registry's autnum record, its holder
and the registry chain.

The autnum record is cached by the RDAP client under the number asked; the range of numbers it covers is kept
beside it (``as-ranges.sqlite``), so a record cached for one number answers the rest of its range offline.

Finding an AS's ranges means walking the whole database once; the walk is kept as an index in the cache
folder (``as-index-<database hash>.sqlite``), built on the first AS query against that database. A
database that cannot be read, or an index that is damaged, costs that source only (one line in ``errors``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import json
import os
import re
import sqlite3
import tempfile
from collections import Counter
from collections.abc import Sequence
from os import PathLike
from pathlib import Path
from typing import Any

from ipowner import paths
from ipowner.errors import IpownerError
from ipowner.model import SourceInfo, SourceKind
from ipowner.model.asn import AsCloud, AsLookup, AsPrefixes, AsRegistration, AsRegistry, CountryCount
from ipowner.providers.mmdb.embedded import embedded
from ipowner.providers.rdap import RdapClient, RdapConfig, asn_service
from ipowner.reference.cloud import cloud_table
from ipowner.reference.registries import by_url

MAX_ASN = 4_294_967_295
MAX_LISTED = 100_000  # prefixes listed in one answer (the counts are complete)
MAX_NAME = 200
INDEX_FORMAT = "ipowner.as-index/1"

# IANA's special-purpose AS numbers (RFC 7607, 6793, 5398, 6996, 7300): (first, last, label).
SPECIAL_AS: tuple[tuple[int, int, str], ...] = (
    (0, 0, "reserved (RFC 7607: AS 0 is never announced)"),
    (23456, 23456, "AS_TRANS (RFC 6793: stands in for a 4-byte AS number)"),
    (64496, 64511, "documentation (RFC 5398)"),
    (64512, 65534, "private use (RFC 6996)"),
    (65535, 65535, "reserved (RFC 7300)"),
    (65536, 65551, "documentation (RFC 5398)"),
    (4_200_000_000, 4_294_967_294, "private use (RFC 6996)"),
    (4_294_967_295, 4_294_967_295, "reserved (RFC 7300)"),
)

_AS_TOKEN = re.compile(r"^\s*[Aa][Ss]\s?(\d{1,10})\s*$")


def parse_as(text: str) -> int | None:
    """The AS number of a token such as ``AS15169`` or ``as15169`` (None when it is not one)."""
    m = _AS_TOKEN.match(text)
    if m is None:
        return None
    n = int(m.group(1))
    return n if 0 <= n <= MAX_ASN else None


def special_as(number: int) -> str | None:
    return next((label for lo, hi, label in SPECIAL_AS if lo <= number <= hi), None)


# ---------------------------------------------------------------------------------------------------
# The AS index of one database


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


# IPv6 blocks that mirror IPv4 space in a MaxMind tree (IPv4-mapped, 6to4, Teredo): not the AS's IPv6 space.
_ALIASES = [ipaddress.ip_network(n) for n in ("::ffff:0:0/96", "2002::/16", "2001::/32", "::/96")]


def _text(value: Any, limit: int = MAX_NAME) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value[:limit] if value else None


def _walk(db_path: Path) -> dict[int, tuple[str | None, Counter[str], list[list[int]]]]:
    """AS number -> (name, registration countries counted by database ranges, merged ranges [version, first,
    last])."""
    import maxminddb

    out: dict[int, tuple[str | None, Counter[str], list[list[int]]]] = {}
    with maxminddb.open_database(str(db_path), maxminddb.MODE_AUTO) as reader:
        for net, rec in reader:
            if not isinstance(rec, dict):
                continue
            asn = rec.get("autonomous_system_number")
            if not isinstance(asn, int) or isinstance(asn, bool) or not 0 < asn <= MAX_ASN:
                continue
            if net.version == 6 and any(net.subnet_of(a) for a in _ALIASES):
                continue
            first, last = int(net.network_address), int(net.broadcast_address)
            entry = out.get(asn)
            if entry is None:
                entry = out[asn] = (_text(rec.get("autonomous_system_organization")), Counter(), [])
            ranges = entry[2]
            if ranges and ranges[-1][0] == net.version and ranges[-1][2] + 1 == first:
                ranges[-1][2] = last
            else:
                ranges.append([net.version, first, last])
            reg = rec.get("registered_country")
            cc = _text(reg.get("iso_code"), 2) if isinstance(reg, dict) else None
            if cc and re.fullmatch(r"[A-Z]{2}", cc):
                entry[1][cc] += 1
    return out


def _index_path(db_path: Path) -> Path:
    return paths.user_cache_dir() / f"as-index-{_digest(db_path)[:16]}.sqlite"


def _build_index(db_path: Path, target: Path) -> None:
    walked = _walk(db_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".as-index-", suffix=".sqlite", dir=target.parent)
    os.close(fd)
    try:
        con = sqlite3.connect(tmp)
        with con:
            con.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
            con.execute("CREATE TABLE asn (asn INTEGER PRIMARY KEY, name TEXT, countries TEXT, ranges TEXT)")
            con.execute("INSERT INTO meta VALUES ('format', ?), ('database', ?)", (INDEX_FORMAT, str(db_path)))
            con.executemany("INSERT INTO asn VALUES (?, ?, ?, ?)", (
                (asn, name, json.dumps(dict(cc)), json.dumps(ranges, separators=(",", ":")))
                for asn, (name, cc, ranges) in walked.items()))
        con.close()
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _row(db_path: Path, asn: int) -> tuple[str | None, dict[str, int], list[list[int]]] | None:
    """The index row of ``asn`` for the database at ``db_path`` (building the index first if needed);
    ``ValueError`` when the index cannot be used."""
    index = _index_path(db_path)
    for attempt in (0, 1):
        if not index.is_file():
            _build_index(db_path, index)
        try:
            con = sqlite3.connect(f"file:{index}?mode=ro", uri=True)
            try:
                fmt = con.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
                if fmt is None or fmt[0] != INDEX_FORMAT:
                    raise sqlite3.DatabaseError("not an AS index")
                row = con.execute("SELECT name, countries, ranges FROM asn WHERE asn = ?", (asn,)).fetchone()
            finally:
                con.close()
        except sqlite3.DatabaseError:
            if attempt:
                raise ValueError(f"{index}: the AS index is damaged and could not be rebuilt") from None
            index.unlink(missing_ok=True)  # damaged: built again once
            continue
        if row is None:
            return None
        name, countries, ranges = row
        return _checked(name, countries, ranges)
    return None


def _checked(name: Any, countries: Any, ranges: Any) -> tuple[str | None, dict[str, int], list[list[int]]]:
    cc = json.loads(countries) if isinstance(countries, str) else {}
    rs = json.loads(ranges) if isinstance(ranges, str) else []
    if not isinstance(cc, dict) or not isinstance(rs, list):
        raise ValueError("AS index row of the wrong shape")
    good_cc = {k: v for k, v in cc.items() if isinstance(k, str) and re.fullmatch(r"[A-Z]{2}", k)
               and isinstance(v, int) and v >= 0}
    good_rs = [r for r in rs if isinstance(r, list) and len(r) == 3 and r[0] in (4, 6)
               and all(isinstance(x, int) for x in r) and 0 <= r[1] <= r[2] < (1 << (32 if r[0] == 4 else 128))]
    return _text(name), good_cc, good_rs


def _prefixes(ranges: list[list[int]], source: str) -> AsPrefixes:
    out = AsPrefixes(source=source)
    cidrs: list[str] = []
    for version, first, last in sorted(ranges):
        if version == 4:
            out.ipv4_ranges += 1
            out.ipv4_addresses += last - first + 1
            lo, hi = ipaddress.IPv4Address(first), ipaddress.IPv4Address(last)
        else:
            out.ipv6_ranges += 1
            out.ipv6_slash48s += (last - first + 1) >> 80
            lo, hi = ipaddress.IPv6Address(first), ipaddress.IPv6Address(last)  # type: ignore[assignment]
        if len(cidrs) < MAX_LISTED:
            cidrs.extend(str(n) for n in ipaddress.summarize_address_range(lo, hi))
    out.truncated = len(cidrs) > MAX_LISTED
    out.prefixes = cidrs[:MAX_LISTED]
    return out


# ---------------------------------------------------------------------------------------------------
# The answer


def _databases(mmdb: Sequence[str | PathLike[str]], use_embedded: bool,
               answer: AsLookup) -> list[tuple[Path, SourceInfo, SourceInfo | None]]:
    """(path, source of the AS facts, source of the registration countries) of each database to ask."""
    out: list[tuple[Path, SourceInfo, SourceInfo | None]] = []
    for p in mmdb:
        path = Path(p)
        src = SourceInfo(id=f"mmdb:{path.name}", kind=SourceKind.MMDB, name=path.name, path=str(path))
        out.append((path, src, src))
    if use_embedded:
        try:
            emb = embedded()
        except (IpownerError, OSError, ValueError, KeyError) as exc:
            answer.errors.append(f"embedded database: {exc}")
        else:
            out.append((emb.path, emb.components.get("asn.number", emb.source), emb.components.get("registered_country")))
    return out


def lookup_as(
    number: int,
    *,
    offline: bool,
    query: str | None = None,
    mmdb: Sequence[str | PathLike[str]] = (),
    use_embedded: bool = True,
    rdap: bool = True,
    rdap_config: RdapConfig | None = None,
) -> AsLookup:
    """Everything known about AS ``number``; never raises for a source that fails (its line is in ``errors``).

    ``offline``: no socket is opened (the RDAP autnum record from the cache only). ``mmdb``: databases with
    AS data asked before the embedded one (``use_embedded``). ``rdap``: False asks the registry nothing
    (cache only, as offline). ``rdap_config``: bootstrap, rewrites, limits, cache (default from the environment).
    """
    if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= MAX_ASN:
        raise ValueError(f"not an AS number: {number!r}")
    ans = AsLookup(query=query or f"AS{number}", number=number, special=special_as(number), offline=offline)
    sources: dict[str, SourceInfo] = {}

    # 1. The databases: name, ranges, registration countries.
    for path, src, reg_src in _databases(mmdb, use_embedded, ans):
        try:
            row = _row(path, number)
        except (OSError, ValueError, sqlite3.Error, RuntimeError) as exc:
            ans.errors.append(f"{path}: cannot read AS data ({str(exc)[:200]})")
            continue
        except Exception as exc:  # a damaged database is that database's failure, never the run's
            if type(exc).__name__ != "InvalidDatabaseError":
                raise
            ans.errors.append(f"{path}: not a readable MaxMind-format database ({str(exc)[:200]})")
            continue
        if row is None:
            continue
        name, countries, ranges = row
        ans.name, ans.name_source = name, src.id if name else None
        ans.prefixes = _prefixes(ranges, src.id)
        sources[src.id] = src
        if countries and reg_src is not None:
            ans.registration_countries = [
                CountryCount(cc, n) for cc, n in sorted(countries.items(), key=lambda kv: (-kv[1], kv[0]))]
            ans.registration_source = reg_src.id
            sources[reg_src.id] = reg_src
        break

    # 2. The cloud provider whose AS number it is.
    table = cloud_table()
    op = table.by_asn.get(number)
    if op is not None:
        ts = table.source()
        ans.cloud = AsCloud(op.key, op.name, op.company, op.country, ts.id)
        sources[ts.id] = ts

    # 3. The registry: from the autnum record when there is one, else IANA's bootstrap.
    cfg = rdap_config if rdap_config is not None else RdapConfig.from_env()
    if offline or not rdap:
        cfg = dataclasses.replace(cfg, offline=True, evidence_dir=None)
    if ans.special is None:
        try:
            service, boot_source = asn_service(number, source=cfg.bootstrap,
                                               cache_dir=cfg.cache_dir or paths.user_cache_dir())
        except IpownerError as exc:
            ans.errors.append(f"RDAP bootstrap: {exc}")
        else:
            reg = by_url(service) if service else None
            boot = SourceInfo(id="rdap-bootstrap", kind=SourceKind.IANA,
                              name=f"IANA RDAP bootstrap for AS numbers ({boot_source})", path=boot_source)
            if service:
                ans.registry = AsRegistry(reg.name if reg else None, "IANA AS number bootstrap (RDAP)", service, boot.id)
                sources[boot.id] = boot
        _registration(ans, cfg, sources)
    ans.sources = [sources[k] for k in sorted(sources)]
    return ans


MAX_RANGE_SPAN = 1 << 20  # an autnum record covering more AS numbers than this is not remembered by range


def _ranges_db(cache_dir: Path) -> sqlite3.Connection:
    cache_dir.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(cache_dir / "as-ranges.sqlite", timeout=5)
    con.execute("CREATE TABLE IF NOT EXISTS ranges (first INTEGER, last INTEGER, asked INTEGER, "
                "PRIMARY KEY (first, last))")
    return con


def _asked_for_range(cache_dir: Path, number: int) -> int | None:
    """The AS number whose cached autnum record covers ``number`` (records are cached by the number asked;
    this remembers the range each one covers), or None."""
    try:
        con = _ranges_db(cache_dir)
        try:
            row = con.execute("SELECT asked FROM ranges WHERE first <= ? AND ? <= last ORDER BY last - first LIMIT 1",
                              (number, number)).fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return None  # a damaged index of ranges costs the shortcut only
    return row[0] if row and isinstance(row[0], int) else None


def _remember_range(cache_dir: Path, first: int, last: int, asked: int) -> None:
    if not (0 <= first <= asked <= last <= MAX_ASN and last - first <= MAX_RANGE_SPAN):
        return
    try:
        con = _ranges_db(cache_dir)
        with con:
            con.execute("INSERT OR REPLACE INTO ranges VALUES (?, ?, ?)", (first, last, asked))
        con.close()
    except sqlite3.Error:
        return


def _registration(ans: AsLookup, cfg: RdapConfig, sources: dict[str, SourceInfo]) -> None:
    """The registry's autnum record (the cache only when ``cfg`` is offline). A record covers a range of AS
    numbers: one cached for any number of its range answers the others too."""
    cache_dir = cfg.cache_dir or paths.user_cache_dir()
    try:
        with RdapClient(cfg) as client:
            got = client.autnum(ans.number)
            if got.autnum is None and not cfg.refresh:
                other = _asked_for_range(cache_dir, ans.number)
                if other is not None and other != ans.number:
                    via = client.autnum(other)
                    if via.autnum is not None and via.autnum.start <= ans.number <= via.autnum.end:
                        got = via
    except IpownerError as exc:
        ans.errors.append(f"RDAP: {exc}")
        return
    if got.autnum is None or got.decision is None:
        if not cfg.offline and got.error:
            ans.errors.append(got.error)
        elif got.error:
            ans.registration_note = "no RDAP record in the cache (offline: nothing was asked)"
        return
    aut, dec = got.autnum, got.decision
    if got.asn == ans.number:
        _remember_range(cache_dir, aut.start, aut.end, ans.number)
    rir = dec.rir
    sid = f"rdap:{rir.key}" if rir is not None else "rdap"
    sources.setdefault(sid, SourceInfo(id=sid, kind=SourceKind.RDAP,
                                       name=f"RDAP autnum record ({rir.name if rir else 'registry'})", path=got.url))
    ans.registration = AsRegistration(
        handle=_text(aut.handle, 80), name=_text(aut.name), first=aut.start, last=aut.end,
        country=_text(aut.country, 2), holder=dec.holder, registry_chain=list(dec.chain), url=got.url, source=sid,
    )
    if rir is not None:
        ans.registry = AsRegistry(rir.name, "RDAP autnum record", ans.registry.rdap_service if ans.registry else None, sid)


__all__ = ["SPECIAL_AS", "lookup_as", "parse_as", "special_as"]
