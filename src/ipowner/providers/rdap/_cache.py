"""The RDAP cache: SQLite under the user cache dir, safe for two runs at once and for a killed process.

``answers`` holds, per address range, the raw responses that answered it (the network, referrals on
the way, the NIR's reply) so the holder can be worked out again without a request. The range is the
returned network's for a leaf (assigned) object, and only the /24 (IPv4) or /48 (IPv6) around the
fetched address for an allocation or an object of unknown type: something more specific may sit
under an allocation elsewhere. ``objects`` holds entities, autnums and parent networks by URL,
failures too (a 404 is an answer), and the registries' "no such network" for an address (kind ``ip
network``, keyed by the query URL). Entries older than the TTL are ignored and replaced; negative
answers (any status but 200) have a shorter lifetime, ``negative_ttl`` (a day by default).

WAL journaling lets one run read while another writes; every write is one statement in autocommit,
so a killed process leaves either the old or the new row, never half of one.

Faults cost the rows they touch, never the run: a cache on a read-only filesystem (or in a folder this
user may not write) is opened read-only (immutable when even that fails, as a WAL file needs its
shared-memory file) and still answers; a row that cannot be read back (a range that is not hex, a
bundle that is not the shape written) is skipped, counted and removed when the file is writable; a read
that fails is a miss. ``notes()`` says what happened, in one line per kind of fault.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import json
import os
import sqlite3
import time
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ipowner import paths
from ipowner.errors import IpownerError
from ipowner.providers.rdap._config import NEGATIVE_TTL

SCHEMA_VERSION = 1
FILE_NAME = "rdap.sqlite3"


def _hex(value: int) -> str:
    return f"{value:032x}"  # fixed width: text order is numeric order, IPv6 fits


@dataclass(slots=True)
class CachedAnswer:
    version: int
    lo: int
    hi: int
    fetched: float
    bundle: dict[str, Any]
    rowid: int | None = None


@dataclass(slots=True)
class CachedObject:
    url: str
    kind: str
    fetched: float
    status: int
    body: str


class CacheIndex:
    """The cache's answer ranges as sorted disjoint segments per IP version, each with the row that answers it.

    Overlapping ranges are resolved once, when the index is built, by the order ``RdapCache.find`` uses.
    """

    def __init__(self, cache: RdapCache, rows: list[tuple[Any, ...]]) -> None:
        self._cache = cache
        self.rows = len(rows)
        self.segments: dict[int, tuple[list[int], list[int | None]]] = {}
        by_version: dict[int, list[tuple[int, int, int, int, float, str]]] = {}
        for row in rows:
            parsed = _range_row(row)
            if parsed is None:
                cache.damaged(row[0] if row and isinstance(row[0], int) else None)
                continue
            rowid, version, first, last, span, fetched, url = parsed
            by_version.setdefault(version, []).append((rowid, first, last, span, fetched, url))
        for version, items in by_version.items():
            cuts = sorted({x for _r, lo, hi, *_ in items for x in (lo, hi + 1)} | {0})
            pos = {c: i for i, c in enumerate(cuts)}
            owner: list[int | None] = [None] * len(cuts)
            nxt = list(range(len(cuts) + 1))  # next segment not yet painted (path-halving union-find)

            def free(i: int, nxt: list[int] = nxt) -> int:
                while nxt[i] != i:
                    nxt[i] = nxt[nxt[i]]
                    i = nxt[i]
                return i

            # Best first; each segment takes the first (best) range that covers it.
            items.sort(key=lambda r: (r[3], -r[4], -r[1], r[2], r[5]))
            for rowid, lo, hi, _span, _f, _u in items:
                i, stop = free(pos[lo]), pos[hi + 1]
                while i < stop:
                    owner[i] = rowid
                    nxt[i] = i + 1
                    i = free(i + 1)
            self.segments[version] = (cuts, owner)

    def find(self, version: int, value: int) -> int | None:
        """The row id of the answer ``RdapCache.find`` would give for this address, or None."""
        seg = self.segments.get(version)
        if seg is None:
            return None
        cuts, owner = seg
        return owner[bisect_right(cuts, value) - 1]

    def answer(self, rowid: int, valid: Validator | None = None) -> CachedAnswer | None:
        return self._cache.answer(rowid, valid)


class CacheError(IpownerError):
    """The cache file could not be opened or written."""


def _range_row(row: tuple[Any, ...]) -> tuple[int, int, int, int, int, float, str] | None:
    """(rowid, version, lo, hi, span, fetched, url) of an index row, None when any of it is damaged."""
    try:
        rowid, version, lo, hi, span, fetched, url = row
        first, last = int(lo, 16), int(hi, 16)
    except (TypeError, ValueError):
        return None
    if not (isinstance(rowid, int) and version in (4, 6) and isinstance(span, int) and isinstance(url, str)
            and isinstance(fetched, (int, float)) and 0 <= first <= last < 1 << (32 if version == 4 else 128)):
        return None
    return rowid, version, first, last, span, float(fetched), url


def _part_ok(part: Any) -> bool:
    return (isinstance(part, dict) and isinstance(part.get("url"), str) and isinstance(part.get("body"), str)
            and isinstance(part.get("fetched"), (int, float)) and isinstance(part.get("status"), int)
            and isinstance(part.get("registry"), (str, type(None))) and isinstance(part.get("hops", []), list))


Validator = Callable[[dict[str, Any]], bool]


def valid_bundle(bundle: Any) -> bool:
    """Whether a decoded bundle has the shape the client stores (network, NIR answer, note, route)."""
    return (isinstance(bundle, dict) and _part_ok(bundle.get("network"))
            and (bundle.get("nir") is None or _part_ok(bundle.get("nir")))
            and isinstance(bundle.get("nir_note"), (str, type(None)))
            and isinstance(bundle.get("route"), (str, type(None))))


def _read_only_fault(exc: BaseException) -> bool:
    """An error that says the file or its folder cannot be written (so it may still be read)."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM)
    text = str(exc).lower()
    return any(w in text for w in ("readonly", "read-only", "unable to open", "disk i/o error", "permission"))


def answer_range(version: int, net_lo: int, net_hi: int, address: str, leaf: bool) -> tuple[int, int]:
    """The range a fetched network may answer for from the cache (see module doc)."""
    if leaf:
        return net_lo, net_hi
    ip = ipaddress.ip_address(address)
    prefix = 24 if version == 4 else 48
    block = ipaddress.ip_network(f"{ip}/{prefix}", strict=False)
    return max(net_lo, int(block.network_address)), min(net_hi, int(block.broadcast_address))


class RdapCache:
    def __init__(self, directory: Path | None = None, ttl: float = 7 * 24 * 3600.0, *, memory: bool = False,
                 negative_ttl: float = NEGATIVE_TTL) -> None:
        """The cache file in ``directory`` (default: the user cache dir); ``memory``: a throw-away one.
        ``ttl``: the lifetime of answers; ``negative_ttl``: of negative ones (a 404, an error object)."""
        self.directory = Path(directory) if directory else paths.user_cache_dir()
        self.path = self.directory / FILE_NAME
        self.ttl = ttl
        self.negative_ttl = min(negative_ttl, ttl)
        self.memory = memory
        self.failed_writes = 0  # writes that failed (the answer is still given, just not kept)
        self.last_error: str | None = None
        self.read_only = False  # opened read-only: answers are read, new ones not kept
        self.skipped_writes = 0  # answers not kept because the cache is read-only
        self._damaged: set[int | str] = set()  # rows (answer row ids, object URLs) that could not be read back
        self._damaged_unnamed = 0  # and those without a usable row id
        self.read_errors = 0  # reads that failed (treated as not cached)
        self.last_read_error: str | None = None
        last: Exception | None = None
        # Two runs opening a new cache at once can find it locked while the other sets it up: retry briefly.
        for attempt in range(50):
            try:
                self._db = self._connect()
                return
            except (sqlite3.Error, OSError) as exc:
                last = exc
                if not (isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc).lower()):
                    break
                time.sleep(0.05 + 0.01 * attempt)
        raise CacheError(f"{self.path}: RDAP cache unusable ({last})") from None

    def _connect(self) -> sqlite3.Connection:
        if self.memory:
            return self._setup(sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False))
        if self.path.is_file() and not _writable(self.directory, self.path):
            return self._connect_read_only()
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            return self._setup(sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False))
        except (sqlite3.Error, OSError) as exc:
            if not (self.path.is_file() and _read_only_fault(exc)):
                raise
        return self._connect_read_only()

    def _connect_read_only(self) -> sqlite3.Connection:
        """Open an existing cache for reading only; immutable when read-only mode cannot open its WAL."""
        uri = f"file:{quote(str(self.path))}?mode=ro"
        last: sqlite3.Error | None = None
        for suffix in ("", "&immutable=1"):
            db = sqlite3.connect(uri + suffix, uri=True, timeout=30.0, isolation_level=None, check_same_thread=False)
            try:
                db.execute("PRAGMA busy_timeout = 30000")
                db.execute("SELECT 1 FROM answers LIMIT 1").fetchall()
                db.execute("SELECT 1 FROM objects LIMIT 1").fetchall()
            except sqlite3.Error as exc:
                db.close()
                last = exc
                continue
            self.read_only = True
            return db
        raise last or sqlite3.OperationalError("cannot open read-only")

    def _setup(self, db: sqlite3.Connection) -> sqlite3.Connection:
        try:
            if not self.memory:
                db.execute("PRAGMA busy_timeout = 30000")
                # WAL is a property of the file: set it once; asking again while another run is open may fail.
                if str(db.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
                    db.execute("PRAGMA journal_mode = WAL")
                db.execute("PRAGMA synchronous = NORMAL")
            db.executescript(
                """
                CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
                CREATE TABLE IF NOT EXISTS answers(
                    version INTEGER NOT NULL, lo TEXT NOT NULL, hi TEXT NOT NULL, span INTEGER NOT NULL,
                    url TEXT NOT NULL, registry TEXT, handle TEXT, fetched REAL NOT NULL, leaf INTEGER NOT NULL,
                    bundle TEXT NOT NULL,
                    PRIMARY KEY(version, lo, hi, url));
                CREATE INDEX IF NOT EXISTS answers_lo ON answers(version, lo);
                CREATE TABLE IF NOT EXISTS objects(
                    url TEXT PRIMARY KEY, kind TEXT NOT NULL, fetched REAL NOT NULL,
                    status INTEGER NOT NULL, body TEXT NOT NULL);
                """
            )
            db.execute("INSERT OR IGNORE INTO meta(key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        except BaseException:
            db.close()
            raise
        return db

    def close(self) -> None:
        self._db.close()

    # -- faults --------------------------------------------------------------------------------
    @property
    def damaged_rows(self) -> int:
        return len(self._damaged) + self._damaged_unnamed

    def damaged(self, key: int | str | None) -> None:
        """A row that cannot be read back (an answer's row id, an object's URL): skipped, and removed at
        once when the file is writable, before a fresh answer may take its place."""
        if key is None:
            self._damaged_unnamed += 1
            return
        if key in self._damaged:
            return
        self._damaged.add(key)
        if self.read_only:
            return
        sql = "DELETE FROM answers WHERE rowid = ?" if isinstance(key, int) else "DELETE FROM objects WHERE url = ?"
        with contextlib.suppress(sqlite3.Error):  # if not, still there next run and skipped again
            self._db.execute(sql, (key,))

    def _read_failed(self, exc: Exception) -> None:
        self.read_errors += 1
        self.last_read_error = f"{self.path}: RDAP cache read failed ({exc})"

    def notes(self) -> list[str]:
        """What went wrong since the last call, one short line per kind of fault (then forgotten)."""
        out = []
        if self.read_only and self.skipped_writes:
            n = self.skipped_writes
            out.append(f"{self.path}: RDAP cache is read-only: answers read from it, "
                       f"{n} new answer{'s' if n != 1 else ''} not kept")
        if self.damaged_rows:
            n = self.damaged_rows
            out.append(f"{self.path}: {n} damaged RDAP cache entr{'ies' if n != 1 else 'y'} skipped"
                       + ("" if self.read_only else " and removed"))
        if self.read_errors:
            out.append(f"{self.last_read_error}; {self.read_errors} lookups treated as not cached")
        if self.failed_writes:
            out.append(f"{self.last_error}; {self.failed_writes} answers not kept")
        self.skipped_writes = self.read_errors = self.failed_writes = 0
        self._damaged.clear()
        self._damaged_unnamed = 0
        return out

    def _fresh_after(self) -> float:
        return time.time() - self.ttl

    # -- answers by address range --------------------------------------------------------------
    def find(self, address: str, valid: Validator | None = None) -> CachedAnswer | None:
        """The best fresh answer covering ``address``; damaged rows (and bundles ``valid`` refuses) are
        skipped for the next best."""
        ip = ipaddress.ip_address(address)
        key = _hex(int(ip))
        try:
            cur = self._db.execute(
                "SELECT rowid, version, lo, hi, fetched, bundle FROM answers"
                " WHERE version = ? AND lo <= ? AND hi >= ? AND fetched >= ?"
                " ORDER BY span ASC, fetched DESC, lo DESC, hi ASC, url ASC",  # the order CacheIndex keeps
                (ip.version, key, key, self._fresh_after()),
            )
            for row in iter(cur.fetchone, None):
                got = self._answer_row(row, valid)
                if got is not None and got.lo <= int(ip) <= got.hi:
                    return got
        except sqlite3.Error as exc:
            self._read_failed(exc)
        return None

    def _answer_row(self, row: tuple[Any, ...], valid: Validator | None = None) -> CachedAnswer | None:
        """A (rowid, version, lo, hi, fetched, bundle) row as an answer; None (and noted) when damaged."""
        rowid = row[0]
        try:
            version, first, last, fetched = row[1], int(row[2], 16), int(row[3], 16), float(row[4])
            bundle = json.loads(row[5])
        except (TypeError, ValueError, RecursionError):
            bundle = None
        if not isinstance(bundle, dict) or version not in (4, 6) or (valid is not None and not valid(bundle)):
            self.damaged(rowid if isinstance(rowid, int) else None)
            return None
        return CachedAnswer(version, first, last, fetched, bundle, rowid)

    def index(self) -> CacheIndex:
        """Every fresh answer's range, read with one query, for batches: ``CacheIndex.find`` picks the
        same answer as ``find`` (narrowest span, newest, then the same tie-breaks) without SQL per address."""
        try:
            rows = self._db.execute(
                "SELECT rowid, version, lo, hi, span, fetched, url FROM answers WHERE fetched >= ?",
                (self._fresh_after(),),
            ).fetchall()
        except sqlite3.Error as exc:
            self._read_failed(exc)
            rows = []
        return CacheIndex(self, rows)

    def answer(self, rowid: int, valid: Validator | None = None) -> CachedAnswer | None:
        """One answer by its row id (from ``CacheIndex``)."""
        try:
            row = self._db.execute(
                "SELECT rowid, version, lo, hi, fetched, bundle FROM answers WHERE rowid = ?", (rowid,)
            ).fetchone()
        except sqlite3.Error as exc:
            self._read_failed(exc)
            return None
        return None if row is None else self._answer_row(row, valid)

    def store(
        self, version: int, lo: int, hi: int, *, url: str, registry: str | None, handle: str | None,
        fetched: float, leaf: bool, bundle: dict[str, Any],
    ) -> None:
        if self.read_only:
            self.skipped_writes += 1
            return
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO answers(version, lo, hi, span, url, registry, handle, fetched, leaf, bundle)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (version, _hex(lo), _hex(hi), (hi - lo).bit_length(), url, registry, handle, fetched, int(leaf),
                 json.dumps(bundle, separators=(",", ":"))),
            )
        except sqlite3.Error as exc:
            self._write_failed(exc)

    def answer_fetched(self, version: int, lo: int, hi: int, url: str) -> float | None:
        """When the answer kept for exactly this range and URL was fetched (None: there is none)."""
        try:
            row = self._db.execute("SELECT fetched FROM answers WHERE version = ? AND lo = ? AND hi = ? AND url = ?",
                                   (version, _hex(lo), _hex(hi), url)).fetchone()
        except sqlite3.Error as exc:
            self._read_failed(exc)
            return None
        return float(row[0]) if row is not None and isinstance(row[0], (int, float)) else None

    # -- objects by URL ------------------------------------------------------------------------
    def object_fetched(self, url: str) -> float | None:
        """When the object kept for ``url`` was fetched, fresh or not (None: there is none)."""
        try:
            row = self._db.execute("SELECT fetched FROM objects WHERE url = ?", (url,)).fetchone()
        except sqlite3.Error as exc:
            self._read_failed(exc)
            return None
        return float(row[0]) if row is not None and isinstance(row[0], (int, float)) else None

    def get_object(self, url: str) -> CachedObject | None:
        """The fresh object cached for ``url``: an answer younger than ``ttl``, a negative one (status not
        200) younger than ``negative_ttl``."""
        try:
            row = self._db.execute(
                "SELECT url, kind, fetched, status, body FROM objects WHERE url = ? AND fetched >= ?"
                " AND (status = 200 OR fetched >= ?)",
                (url, self._fresh_after(), time.time() - self.negative_ttl),
            ).fetchone()
        except sqlite3.Error as exc:
            self._read_failed(exc)
            return None
        if row is None:
            return None
        if not (isinstance(row[1], str) and isinstance(row[2], (int, float)) and isinstance(row[3], int)
                and isinstance(row[4], str)):
            self.damaged(url)
            return None
        return CachedObject(row[0], row[1], float(row[2]), row[3], row[4])

    def put_object(self, url: str, kind: str, fetched: float, status: int, body: str) -> None:
        if self.read_only:
            self.skipped_writes += 1
            return
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO objects(url, kind, fetched, status, body) VALUES (?, ?, ?, ?, ?)",
                (url, kind, fetched, status, body),
            )
        except sqlite3.Error as exc:
            self._write_failed(exc)

    def _write_failed(self, exc: Exception) -> None:
        # A full disk or a lock held past the busy timeout costs the cache entry, never the answer.
        self.failed_writes += 1
        self.last_error = f"{self.path}: RDAP cache write failed ({exc})"

    # -- maintenance ---------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        fresh = self._fresh_after()
        q = self._db.execute
        answers = q("SELECT COUNT(*), SUM(fetched >= ?), MIN(fetched), MAX(fetched) FROM answers", (fresh,)).fetchone()
        leaf = q("SELECT COUNT(*) FROM answers WHERE leaf = 1").fetchone()[0]
        by_registry = dict(q("SELECT COALESCE(registry, '?'), COUNT(*) FROM answers GROUP BY 1 ORDER BY 1").fetchall())
        by_kind = dict(q("SELECT kind, COUNT(*) FROM objects GROUP BY kind ORDER BY kind").fetchall())
        size = 0 if self.memory else sum(p.stat().st_size for p in self.directory.glob(FILE_NAME + "*") if p.is_file())
        return {
            "path": str(self.path),
            "size_bytes": size,
            "ttl_seconds": self.ttl,
            "answers": answers[0] or 0,
            "answers_fresh": int(answers[1] or 0),
            "answers_leaf": leaf,
            "answers_by_registry": by_registry,
            "objects": by_kind,
            "oldest": answers[2],
            "newest": answers[3],
        }

    def clear(self, expired_only: bool = False) -> int:
        if expired_only:
            fresh = self._fresh_after()
            n = self._db.execute("DELETE FROM answers WHERE fetched < ?", (fresh,)).rowcount
            n += self._db.execute("DELETE FROM objects WHERE fetched < ? OR (status != 200 AND fetched < ?)",
                                  (fresh, time.time() - self.negative_ttl)).rowcount
        else:
            n = self._db.execute("DELETE FROM answers").rowcount
            n += self._db.execute("DELETE FROM objects").rowcount
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return n

    def export(self) -> Iterator[dict[str, Any]]:
        for version, lo, hi, url, registry, handle, fetched, leaf, bundle in self._db.execute(
            "SELECT version, lo, hi, url, registry, handle, fetched, leaf, bundle FROM answers ORDER BY version, lo"
        ):
            try:
                first, last = (ipaddress.IPv4Address(int(lo, 16)), ipaddress.IPv4Address(int(hi, 16))) if version == 4 \
                    else (ipaddress.IPv6Address(int(lo, 16)), ipaddress.IPv6Address(int(hi, 16)))
            except (TypeError, ValueError):
                continue  # a damaged range names no addresses
            try:
                decoded = json.loads(bundle)
            except (TypeError, ValueError, RecursionError):
                decoded = None  # a damaged entry: listed, its content not
            yield {"type": "answer", "first": str(first), "last": str(last), "url": url, "registry": registry,
                   "handle": handle, "fetched": fetched, "leaf": bool(leaf), "bundle": decoded}
        for url, kind, fetched, status, body in self._db.execute(
            "SELECT url, kind, fetched, status, body FROM objects ORDER BY url"
        ):
            yield {"type": "object", "url": url, "kind": kind, "fetched": fetched, "status": status, "body": body}


def _writable(directory: Path, path: Path) -> bool:
    """Whether this user may write the cache file and its folder (SQLite needs both for WAL)."""
    return os.access(directory, os.W_OK) and os.access(path, os.W_OK)
