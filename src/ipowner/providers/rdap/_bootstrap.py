"""The IANA RDAP bootstrap registry: which RDAP service answers for an address or an AS number.

Sources, in order: ``--rdap-bootstrap`` / ``IPOWNER_RDAP_BOOTSTRAP`` (a folder or a base URL holding
``ipv4.json``, ``ipv6.json`` and ``asn.json`` as IANA lays them out); else a refreshed copy in the
cache dir; else the snapshot shipped in ``data/rdap-bootstrap/``. A refresh happens only online, when
asked (``--refresh``) or when the copy in use is older than ``bootstrap_max_age``: one try when a copy
is there to fall back on, a few with backoff when there is none (else one 503 would fail every address).

The files are untrusted like any answer: decoded with the same depth bound, and a service or an entry of
the wrong shape is skipped (one bad entry does not lose the file). Only http(s) service URLs are kept.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ipowner import paths
from ipowner.errors import RdapError, UsageError
from ipowner.providers.rdap._parse import decode

FILES = ("ipv4.json", "ipv6.json", "asn.json")
IANA_BASE = "https://data.iana.org/rdap/"

Fetch = Callable[[str, int], Awaitable[bytes]]  # (url, retries) -> body
FETCH_RETRIES = 3  # when no copy is there to fall back on (at most; the client caps it at its retries)


@dataclass(slots=True)
class _Table:
    rows: list[tuple[int, int, tuple[str, ...]]] = field(default_factory=list)

    def add(self, lo: int, hi: int, urls: tuple[str, ...]) -> None:
        self.rows.append((lo, hi, urls))

    def freeze(self) -> None:
        self.rows.sort()

    def find(self, value: int) -> tuple[str, ...]:
        best = self.route(value)
        return best[2] if best else ()

    def route(self, value: int) -> tuple[int, int, tuple[str, ...]] | None:
        """The most specific entry covering ``value``: (first, last, service URLs)."""
        # The tables hold a few hundred rows, so a scan is enough.
        best: tuple[int, int, tuple[str, ...]] | None = None
        for lo, hi, urls in self.rows:
            if lo > value:
                break
            if value <= hi and (best is None or hi - lo < best[1] - best[0]):
                best = (lo, hi, urls)
        return best


def _order(urls: list[str]) -> tuple[str, ...]:
    # https first (RFC 9224 asks clients to prefer it), then the rest as listed.
    return tuple(sorted(urls, key=lambda u: 0 if u.startswith("https:") else 1))


@dataclass(slots=True)
class Bootstrap:
    v4: _Table
    v6: _Table
    asn: _Table
    source: str  # folder, URL or "shipped snapshot"
    publication: dict[str, str]  # file -> IANA publication date
    fetched: float | None = None  # when a refreshed copy was fetched (epoch)

    @classmethod
    def from_docs(cls, docs: dict[str, Any], source: str, fetched: float | None = None) -> Bootstrap:
        v4, v6, asn = _Table(), _Table(), _Table()
        pub: dict[str, str] = {}
        for name, table in (("ipv4.json", v4), ("ipv6.json", v6), ("asn.json", asn)):
            doc = docs[name]
            if not isinstance(doc, dict) or not isinstance(doc.get("services"), list):
                raise RdapError(f"{source}/{name}", "not an RDAP bootstrap file (no services list)")
            publication = doc.get("publication", "")
            pub[name] = publication[:40] if isinstance(publication, str) else ""
            for service in doc["services"]:
                if not (isinstance(service, list) and len(service) >= 2 and isinstance(service[0], list)
                        and isinstance(service[1], list)):
                    continue
                urls = _order([u for u in service[1] if _usable_url(u)])
                if not urls:
                    continue
                for entry in service[0]:
                    if not isinstance(entry, str):
                        continue
                    try:
                        if name == "asn.json":
                            lo_s, _, hi_s = entry.partition("-")
                            table.add(int(lo_s), int(hi_s or lo_s), urls)
                        else:
                            net = ipaddress.ip_network(entry, strict=False)
                            table.add(int(net.network_address), int(net.broadcast_address), urls)
                    except ValueError:
                        continue  # one bad entry does not lose the file
            table.freeze()
        return cls(v4, v6, asn, source, pub, fetched)

    def for_address(self, address: str) -> tuple[str, ...]:
        ip = ipaddress.ip_address(address)
        return (self.v4 if ip.version == 4 else self.v6).find(int(ip))

    def route(self, address: str) -> tuple[int, int, tuple[str, ...]] | None:
        """The block that routes ``address`` (first, last as integers) and its services."""
        ip = ipaddress.ip_address(address)
        return (self.v4 if ip.version == 4 else self.v6).route(int(ip))

    def services(self) -> set[str]:
        """Every service URL the files name."""
        return {u for table in (self.v4, self.v6, self.asn) for _lo, _hi, urls in table.rows for u in urls}

    def for_asn(self, asn: int) -> tuple[str, ...]:
        return self.asn.find(asn)

    @property
    def published(self) -> datetime | None:
        dates = []
        for value in self.publication.values():
            try:
                dates.append(datetime.fromisoformat(value.replace("Z", "+00:00")))
            except ValueError:
                continue
        return max(dates) if dates else None

    def age(self, now: float | None = None) -> float | None:
        now = time.time() if now is None else now
        if self.fetched is not None:
            return now - self.fetched
        pub = self.published
        return now - pub.timestamp() if pub else None


def _usable_url(url: object) -> bool:
    return isinstance(url, str) and url.startswith(("http://", "https://")) and len(url) < 2000


def _read_folder(folder: Path) -> dict[str, Any]:
    docs: dict[str, Any] = {}
    for name in FILES:
        p = folder / name
        try:
            docs[name] = decode(p.read_bytes(), str(p), what="RDAP bootstrap file")
        except FileNotFoundError:
            raise UsageError(f"{folder}: no {name} in this RDAP bootstrap folder") from None
        except OSError as exc:
            raise UsageError(f"{p}: not a readable RDAP bootstrap file ({exc})") from None
        except RdapError as exc:
            raise UsageError(f"{p}: not a readable RDAP bootstrap file ({exc.reason})") from None
    return docs


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def _copy_dir(cache_dir: Path, base_url: str) -> Path:
    tag = "iana" if base_url == IANA_BASE else hashlib.sha256(base_url.encode()).hexdigest()[:16]
    return cache_dir / "rdap-bootstrap" / tag


def _read_copy(folder: Path) -> tuple[dict[str, Any], float] | None:
    meta = folder / "fetched.json"
    try:
        fetched = float(json.loads(meta.read_text())["fetched"])
        return _read_folder(folder), fetched
    except (OSError, ValueError, KeyError, TypeError, RecursionError, UsageError):
        return None


RETRY_AFTER_FAILURE = 24 * 3600.0


def _failed_recently(folder: Path) -> bool:
    """A refresh failed less than a day ago: do not try again on every run."""
    try:
        return time.time() - float(json.loads((folder / "failed.json").read_text())["at"]) < RETRY_AFTER_FAILURE
    except (OSError, ValueError, KeyError, TypeError, RecursionError):
        return False


def _note_failure(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "failed.json").write_text(json.dumps({"at": time.time()}))
    except OSError:
        pass  # nowhere to remember it: the next run tries again


def _write_copy(folder: Path, raw: dict[str, bytes], source: str) -> float:
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in raw.items():
        tmp = folder / (name + ".tmp")
        tmp.write_bytes(body)
        tmp.replace(folder / name)  # atomic: a killed run leaves the old copy whole
    fetched = time.time()
    (folder / "fetched.json").write_text(json.dumps({"fetched": fetched, "source": source}))
    return fetched


async def load(
    source: str | None,
    *,
    cache_dir: Path,
    online: bool,
    refresh: bool,
    max_age: float,
    fetch: Fetch | None,
) -> tuple[Bootstrap, str | None]:
    """The bootstrap to use, and a note when a wanted refresh failed (the older copy is used)."""
    if source and not _is_url(source):
        folder = Path(source).expanduser()
        if not folder.is_dir():
            raise UsageError(f"{source}: RDAP bootstrap folder not found")
        return Bootstrap.from_docs(_read_folder(folder), str(folder)), None

    base = (source.rstrip("/") + "/") if source else IANA_BASE
    copy_dir = _copy_dir(cache_dir, base)
    copy = _read_copy(copy_dir)
    current: Bootstrap | None = None
    if copy is not None:
        try:
            current = Bootstrap.from_docs(copy[0], base, fetched=copy[1])
        except RdapError:
            current = None  # a damaged copy: as if there were none
    if current is None and not source:
        current = Bootstrap.from_docs(_read_folder(paths.shipped("rdap-bootstrap")), "shipped snapshot")

    age = current.age() if current else None
    stale = age is not None and age > max_age and not _failed_recently(copy_dir)
    wanted = current is None or refresh or stale
    if not (wanted and online and fetch is not None):
        if current is None:
            raise UsageError(f"{base}: RDAP bootstrap not cached yet and running offline")
        return current, None
    # With a copy to fall back on, one try (a failure waits a day); with none, a few with backoff.
    retries = 0 if current is not None else FETCH_RETRIES
    try:
        raw = {name: await fetch(base + name, retries) for name in FILES}
        docs = {name: decode(body, base + name, what="RDAP bootstrap file") for name, body in raw.items()}
        fresh = Bootstrap.from_docs(docs, base, fetched=None)
    except RdapError as exc:
        _note_failure(copy_dir)
        if current is None:
            raise RdapError(base, f"RDAP bootstrap could not be fetched ({exc})") from None
        return current, f"bootstrap refresh from {base} failed ({exc}); using {current.source}"
    try:
        fresh.fetched = _write_copy(copy_dir, raw, base)
    except OSError as exc:
        # A read-only cache folder: the fresh files serve this run and are fetched again next time.
        fresh.fetched = time.time()
        return fresh, f"bootstrap copy not kept in {copy_dir} ({exc.strerror or exc})"
    return fresh, None


def asn_service(asn: int, *, source: str | None, cache_dir: Path) -> tuple[str | None, str]:
    """(the RDAP base URL that answers for AS ``asn``, the bootstrap's source), from the bootstrap in use,
    read offline (a refreshed copy in the cache when there is one, else the shipped snapshot)."""
    # Offline, load() awaits nothing: run it to its end without an event loop (whose wake-up pipe is a
    # socket pair, and no socket is needed to read two files).
    coro = load(source, cache_dir=cache_dir, online=False, refresh=False, max_age=float("inf"), fetch=None)
    try:
        coro.send(None)
    except StopIteration as done:
        boot, _note = done.value
    else:
        coro.close()
        raise RuntimeError("reading the RDAP bootstrap offline waited on I/O")
    services = boot.for_asn(asn)
    return (services[0] if services else None), boot.source
