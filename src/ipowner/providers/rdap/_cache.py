"""The RDAP cache: SQLite under the user cache dir, safe for two runs at once and for a killed process.

``answers`` holds, per address range, the raw responses that answered it (the network, referrals on
the way, the NIR's reply) so the holder can be worked out again without a request. The range is the
returned network's for a leaf (assigned) object, and only the /24 (IPv4) or /48 (IPv6) around the
fetched address for an allocation or an object of unknown type: something more specific may sit
under an allocation elsewhere. ``objects`` holds entities, autnums and parent networks by URL,
failures too (a 404 is an answer). Entries older than the TTL are ignored and replaced.

WAL journaling lets one run read while another writes; every write is one statement in autocommit,
so a killed process leaves either the old or the new row, never half of one.
"""

from __future__ import annotations

import ipaddress
import json
import sqlite3
import time
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ipowner import paths
from ipowner.errors import IpownerError

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

    def __init__(self, cache: RdapCache, rows: list[tuple[int, int, str, str, int, float, str]]) -> None:
        self._cache = cache
        self.rows = len(rows)
        self.segments: dict[int, tuple[list[int], list[int | None]]] = {}
        by_version: dict[int, list[tuple[int, int, int, int, float, str]]] = {}
        for rowid, version, lo, hi, span, fetched, url in rows:
            by_version.setdefault(version, []).append((rowid, int(lo, 16), int(hi, 16), span, fetched, url))
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

    def answer(self, rowid: int) -> CachedAnswer | None:
        return self._cache.answer(rowid)


class CacheError(IpownerError):
    """The cache file could not be opened or written."""


def answer_range(version: int, net_lo: int, net_hi: int, address: str, leaf: bool) -> tuple[int, int]:
    """The range a fetched network may answer for from the cache (see module doc)."""
    if leaf:
        return net_lo, net_hi
    ip = ipaddress.ip_address(address)
    prefix = 24 if version == 4 else 48
    block = ipaddress.ip_network(f"{ip}/{prefix}", strict=False)
    return max(net_lo, int(block.network_address)), min(net_hi, int(block.broadcast_address))


class RdapCache:
    def __init__(self, directory: Path | None = None, ttl: float = 7 * 24 * 3600.0, *, memory: bool = False) -> None:
        """The cache file in ``directory`` (default: the user cache dir); ``memory``: a throw-away one."""
        self.directory = Path(directory) if directory else paths.user_cache_dir()
        self.path = self.directory / FILE_NAME
        self.ttl = ttl
        self.memory = memory
        self.failed_writes = 0  # writes that failed (the answer is still given, just not kept)
        self.last_error: str | None = None
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
            db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        else:
            self.directory.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30.0, isolation_level=None, check_same_thread=False)
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

    def _fresh_after(self) -> float:
        return time.time() - self.ttl

    # -- answers by address range --------------------------------------------------------------
    def find(self, address: str) -> CachedAnswer | None:
        ip = ipaddress.ip_address(address)
        key = _hex(int(ip))
        try:
            row = self._db.execute(
                "SELECT version, lo, hi, fetched, bundle FROM answers"
                " WHERE version = ? AND lo <= ? AND hi >= ? AND fetched >= ?"
                " ORDER BY span ASC, fetched DESC, lo DESC, hi ASC, url ASC LIMIT 1",  # the order CacheIndex keeps
                (ip.version, key, key, self._fresh_after()),
            ).fetchone()
        except sqlite3.Error as exc:
            raise CacheError(f"{self.path}: RDAP cache read failed ({exc})") from None
        if row is None:
            return None
        try:
            bundle = json.loads(row[4])
        except ValueError:
            return None
        return CachedAnswer(row[0], int(row[1], 16), int(row[2], 16), row[3], bundle)

    def index(self) -> CacheIndex:
        """Every fresh answer's range, read with one query, for batches: ``CacheIndex.find`` picks the
        same answer as ``find`` (narrowest span, newest, then the same tie-breaks) without SQL per address."""
        try:
            rows = self._db.execute(
                "SELECT rowid, version, lo, hi, span, fetched, url FROM answers WHERE fetched >= ?",
                (self._fresh_after(),),
            ).fetchall()
        except sqlite3.Error as exc:
            raise CacheError(f"{self.path}: RDAP cache read failed ({exc})") from None
        return CacheIndex(self, rows)

    def answer(self, rowid: int) -> CachedAnswer | None:
        """One answer by its row id (from ``CacheIndex``)."""
        try:
            row = self._db.execute(
                "SELECT version, lo, hi, fetched, bundle FROM answers WHERE rowid = ?", (rowid,)
            ).fetchone()
        except sqlite3.Error as exc:
            raise CacheError(f"{self.path}: RDAP cache read failed ({exc})") from None
        if row is None:
            return None
        try:
            bundle = json.loads(row[4])
        except ValueError:
            return None
        return CachedAnswer(row[0], int(row[1], 16), int(row[2], 16), row[3], bundle)

    def store(
        self, version: int, lo: int, hi: int, *, url: str, registry: str | None, handle: str | None,
        fetched: float, leaf: bool, bundle: dict[str, Any],
    ) -> None:
        try:
            self._db.execute(
                "INSERT OR REPLACE INTO answers(version, lo, hi, span, url, registry, handle, fetched, leaf, bundle)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (version, _hex(lo), _hex(hi), (hi - lo).bit_length(), url, registry, handle, fetched, int(leaf),
                 json.dumps(bundle, separators=(",", ":"))),
            )
        except sqlite3.Error as exc:
            self._write_failed(exc)

    # -- objects by URL ------------------------------------------------------------------------
    def get_object(self, url: str) -> CachedObject | None:
        row = self._db.execute(
            "SELECT url, kind, fetched, status, body FROM objects WHERE url = ? AND fetched >= ?",
            (url, self._fresh_after()),
        ).fetchone()
        return CachedObject(*row) if row else None

    def put_object(self, url: str, kind: str, fetched: float, status: int, body: str) -> None:
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
            n += self._db.execute("DELETE FROM objects WHERE fetched < ?", (fresh,)).rowcount
        else:
            n = self._db.execute("DELETE FROM answers").rowcount
            n += self._db.execute("DELETE FROM objects").rowcount
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return n

    def export(self) -> Iterator[dict[str, Any]]:
        for version, lo, hi, url, registry, handle, fetched, leaf, bundle in self._db.execute(
            "SELECT version, lo, hi, url, registry, handle, fetched, leaf, bundle FROM answers ORDER BY version, lo"
        ):
            first, last = (ipaddress.ip_address(int(lo, 16)), ipaddress.ip_address(int(hi, 16))) if version == 4 else (
                ipaddress.IPv6Address(int(lo, 16)), ipaddress.IPv6Address(int(hi, 16)))
            yield {"type": "answer", "first": str(first), "last": str(last), "url": url, "registry": registry,
                   "handle": handle, "fetched": fetched, "leaf": bool(leaf), "bundle": json.loads(bundle)}
        for url, kind, fetched, status, body in self._db.execute(
            "SELECT url, kind, fetched, status, body FROM objects ORDER BY url"
        ):
            yield {"type": "object", "url": url, "kind": kind, "fetched": fetched, "status": status, "body": body}
