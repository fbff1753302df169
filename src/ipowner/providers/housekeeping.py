"""The data ipowner keeps, looked at and tidied: the databases in use and the RDAP cache.

The library side of ``ipowner data`` and ``ipowner cache``: each function returns a typed document
(``ipowner.data/3``, ``ipowner.cache/2``) that the command line only renders.
"""

from __future__ import annotations

import lzma
import os
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from ipowner import paths
from ipowner.errors import DocumentError, InputError, InputNotFoundError
from ipowner.model.cache import (
    CacheCleared,
    CachedAnswerRow,
    CachedObjectRow,
    CacheEntry,
    CacheImported,
    CacheStats,
)
from ipowner.model.data import CloudSource, DatabaseInfo, DataStatus
from ipowner.model.kinds import DatabaseOrigin, RdapRequestKind
from ipowner.providers.delegations import DUE_DAYS, table_sources
from ipowner.providers.mmdb.reader import MmdbProvider
from ipowner.providers.rdap import RdapCache, RdapConfig
from ipowner.providers.rdap._cache import FILE_NAME, CacheError
from ipowner.reference.cloud import RANGE_FILE_TERMS, read_snapshot, shipped_snapshot_path

DEFAULT_TTL_DAYS = 7.0  # how long the RDAP cache keeps an answer


def data_status(mmdb: Sequence[str | os.PathLike[str]] = (), *, use_embedded: bool = True,
                discover: bool = True) -> DataStatus:
    """Every location/AS database a lookup would use (given, discovered, embedded) with its type, vendor,
    build date, age and licence, the embedded database's inputs, every database that cannot be opened, and
    the registry table's inputs with their dates and whether each is due for ``ipowner data update``.

    Databases are looked for in ``$IPOWNER_MMDB_PATH``, the user data folder's ``mmdb/`` and the system
    GeoIP folders (``discover``); ``mmdb`` adds others. Never raises for a bad database: it is a problem.
    """
    if isinstance(mmdb, (str, os.PathLike)):
        mmdb = [mmdb]  # one path, not a sequence of characters
    provider = MmdbProvider(tuple(str(p) for p in mmdb), use_embedded=use_embedded, discover=discover)
    try:
        databases, problems = provider.databases(), list(provider.problems)
    finally:
        provider.close()
    now = datetime.now(UTC)
    for d in databases:
        d.due = _embedded_due(d, now)
    sources, table_problems = table_sources(now) if use_embedded else ([], [])
    cloud, cloud_problems = cloud_sources(now) if use_embedded else ([], [])
    return DataStatus(databases=databases, problems=problems + table_problems + cloud_problems,
                      registry_sources=sources, cloud_sources=cloud)


def _age(when: datetime | None, now: datetime) -> int | None:
    return (now - when).days if when is not None else None


def _embedded_due(d: DatabaseInfo, now: datetime) -> bool:
    """The embedded database is due when its oldest input (else its build) is older than the due age; other
    databases are the user's to refresh, never due for `ipowner data update`."""
    if d.origin != DatabaseOrigin.EMBEDDED:
        return False
    dates: list[datetime | None] = [s.date for s in d.sources if s.date is not None] or [d.build_date]
    ages = [_age(when, now) for when in dates]
    return any(age is None or age > DUE_DAYS for age in ages)


def cloud_sources(now: datetime | None = None) -> tuple[list[CloudSource], list[str]]:
    """Each provider's range file in the cloud snapshot in use, with its age and whether it is due for
    ``ipowner data update``; and a problem line when the snapshot cannot be read."""
    now = now or datetime.now(UTC)
    path = shipped_snapshot_path()
    try:
        snapshot = read_snapshot(path)
    except (OSError, ValueError, lzma.LZMAError, RecursionError) as exc:
        return [], [f"{path}: cannot read the cloud snapshot ({exc})"]
    out = []
    for s in snapshot.sources:
        age = _age(s.date, now)
        out.append(CloudSource(s.name, s.publisher, s.url, s.date, age, RANGE_FILE_TERMS,
                               age is None or age > DUE_DAYS, snapshot.path))
    return out, []


def _open(directory: str | os.PathLike[str] | None, ttl_days: float) -> RdapCache:
    return RdapCache(Path(directory) if directory is not None else None, ttl=ttl_days * 86400.0)


def cache_status(*, directory: str | os.PathLike[str] | None = None,
                 ttl_days: float = DEFAULT_TTL_DAYS) -> CacheStats:
    """What the RDAP cache holds: answers (fresh, for a whole leaf network, by registry), objects by kind,
    its size, oldest and newest answers. ``directory``: the cache folder (default: the user cache folder,
    or ``$IPOWNER_CACHE_DIR``). Raises ``IpownerError`` when the cache file cannot be opened."""
    cache = _open(directory, ttl_days)
    try:
        st = cache.stats()
    finally:
        cache.close()
    return CacheStats(
        path=st["path"], size_bytes=st["size_bytes"], ttl_seconds=st["ttl_seconds"], answers=st["answers"],
        answers_fresh=st["answers_fresh"], answers_leaf=st["answers_leaf"],
        answers_by_registry=dict(st["answers_by_registry"]),
        objects={RdapRequestKind(k): v for k, v in st["objects"].items()},
        oldest=st["oldest"], newest=st["newest"],
    )


def cache_clear(*, expired_only: bool = False, directory: str | os.PathLike[str] | None = None,
                ttl_days: float = DEFAULT_TTL_DAYS) -> CacheCleared:
    """Delete cached RDAP answers: all of them, or only those older than the time to live.

    A cache file that cannot be opened is removed whole when everything is to go (``damaged`` says
    why); with ``expired_only`` it raises ``IpownerError`` instead, since nothing can be kept of it.
    """
    try:
        cache = _open(directory, ttl_days)
    except CacheError as exc:
        if expired_only:
            raise
        folder = Path(directory) if directory is not None else paths.user_cache_dir()
        for p in folder.glob(FILE_NAME + "*"):
            if p.is_file():
                p.unlink()
        return CacheCleared(removed=0, expired_only=False, damaged=str(exc))
    try:
        return CacheCleared(removed=cache.clear(expired_only=expired_only), expired_only=expired_only)
    finally:
        cache.close()


def cache_export(*, directory: str | os.PathLike[str] | None = None) -> Iterator[CacheEntry]:
    """Every cached entry, raw registry answers included: answers by range, then objects by URL.

    The cache stays open until the iterator is exhausted or closed."""
    cache = _open(directory, DEFAULT_TTL_DAYS)
    try:
        for row in cache.export():
            if row["type"] == "answer":
                yield CachedAnswerRow(first=row["first"], last=row["last"], url=row["url"], registry=row["registry"],
                                      handle=row["handle"], fetched=row["fetched"], leaf=row["leaf"],
                                      bundle=row["bundle"])
            else:
                yield CachedObjectRow(url=row["url"], kind=RdapRequestKind(row["kind"]), fetched=row["fetched"],
                                      status=row["status"], body=row["body"])
    finally:
        cache.close()


def cache_import(
    source: str | os.PathLike[str] | TextIO,
    *,
    directory: str | os.PathLike[str] | None = None,
    config: RdapConfig | None = None,
) -> CacheImported:
    """Read what ``cache_export`` (``ipowner cache export``) wrote, any cache document version, into the cache.

    ``source``: a file path, ``"-"`` for stdin, or an open text stream. The file is hostile input: every row
    passes the checks a registry's answer passes before it is cached (shape, size, registry URL, an RDAP
    network, ISO country code, a range inside the network and its bootstrap block, a plausible time; see
    ``providers/rdap/_import.py``); rows that fail are skipped and counted by reason. Each imported answer
    keeps its URL and retrieval time; a row the cache holds as new or newer is left as it is. ``config``:
    bootstrap, rewrites, limits and time to live the checks use (default ``RdapConfig.from_env()``);
    ``directory``: the cache folder (default the config's). Raises ``InputNotFoundError`` for a missing
    file, ``DocumentError`` when no line is a cache row, ``IpownerError`` when the cache cannot be written.
    """
    from ipowner.providers.rdap._import import Importer, bounded_lines

    cfg = config if config is not None else RdapConfig.from_env()
    folder = Path(directory) if directory is not None else cfg.cache_dir
    name = "-" if source == "-" else (getattr(source, "name", None) or "stream") if not isinstance(
        source, (str, os.PathLike)) else os.fspath(source)
    cache = RdapCache(folder, ttl=cfg.cache_ttl)
    try:
        importer = Importer(cache, cfg)
        if isinstance(source, (str, os.PathLike)) and source != "-":
            try:
                fh = open(source, encoding="utf-8", errors="replace")  # noqa: SIM115 - closed below
            except FileNotFoundError:
                raise InputNotFoundError(source) from None
            except OSError as exc:
                raise InputError(str(name), f"cannot read ({exc.strerror or exc})") from None
            with fh:
                tally = importer.run(bounded_lines(fh, importer.line_limit))
        else:
            stream = sys.stdin if source == "-" else source
            tally = importer.run(bounded_lines(stream, importer.line_limit))
    finally:
        cache.close()
    if not tally.cache_rows and tally.skipped:
        raise DocumentError(str(name), f"not an ipowner cache export ({tally.first_skipped})")
    return CacheImported(source=str(name), answers=tally.answers, objects=tally.objects, unchanged=tally.unchanged,
                         skipped=dict(tally.skipped), first_skipped=tally.first_skipped)


__all__ = ["DEFAULT_TTL_DAYS", "cache_clear", "cache_export", "cache_import", "cache_status", "cloud_sources", "data_status"]
