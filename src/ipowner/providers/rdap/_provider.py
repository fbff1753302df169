"""``RdapProvider``: holder, registry chain, network and abuse contact of addresses, as range facts.

Each answer becomes one ``RangeFact`` per network, shared by every address it answers: the flat columns
``holder``, ``holder_country``, ``registry``, ``handle``, ``name``, and ``fields`` with the record's own
objects (``network``, ``holder``, ``registry_chain``, ``abuse``), which ``enrich`` copies onto records.

Online, the client is asked (``RdapClient.lookup``: cache, then the registries). Offline, the cache is
read directly: a batch of ``_INDEX_FROM`` addresses or more reads the cache's ranges once
(``RdapCache.index``) and bisects them, a smaller one asks ``RdapCache.find`` per address; both pick the
same answer. The fact's range is then the cached answer's range.
"""

from __future__ import annotations

import time
from bisect import bisect_right
from datetime import UTC, datetime
from typing import Any

from ipowner._addr import Addresses
from ipowner.errors import IpownerError
from ipowner.model import Network, RangeFact, SourceInfo, SourceKind
from ipowner.providers.base import NO_RANGES, Facts, Provider, Ranges
from ipowner.providers.rdap import _registries
from ipowner.providers.rdap._cache import CachedAnswer, CacheIndex, RdapCache, answer_range, valid_bundle
from ipowner.providers.rdap._client import (
    _INDEX_FROM,
    Answer,
    AsyncRdapClient,
    Progress,
    RdapClient,
    RunStats,
    _drive,
    _unexpected,
)
from ipowner.providers.rdap._config import RdapConfig
from ipowner.providers.rdap._transports.base import BaseTransport

_NOTHING: tuple[list[int], list[int | None]] = ([0], [None])


def _when(ts: float | None) -> datetime | None:
    return datetime.fromtimestamp(ts, tz=UTC) if ts is not None else None


class RdapProvider(Provider):
    """Registration data over RDAP: one query per network, cached, rate-limited, with evidence.

    Records whose ``needs_lookup`` is False are skipped; translation addresses are looked up by
    their embedded IPv4. A failure for one address is a reason in that address's errors. Offline, a
    cache that cannot be read is a problem (no holder can be answered); online the run goes on without it.
    """

    name = "rdap"
    problem_kind = "database"  # its only problem: an RDAP cache file that cannot be read offline

    def __init__(
        self,
        config: RdapConfig | None = None,
        *,
        transport: BaseTransport | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.config = config or RdapConfig.from_env()
        self._transport = transport
        self.progress = progress
        self._stats = RunStats(offline=self.config.offline)
        self._used: dict[str, SourceInfo] = {}
        self._made: dict[tuple[Any, ...], Ranges] = {}  # one fact per (answer, range)
        # Offline: the cache, a client that works answers out from it, its index, answers per row.
        self._cache: RdapCache | None = None
        self._client: AsyncRdapClient | None = None
        self._index: CacheIndex | None = None
        # row id -> (its ranges or its error, whether the row was there)
        self._rows: dict[int, tuple[Ranges | str, bool]] = {}
        self._unusable = False

    @property
    def stats(self) -> RunStats:
        """Requests by kind, cache hits, addresses not cached (the last online run; every offline one)."""
        return self._stats

    def sources(self) -> list[SourceInfo]:
        """The registry responses the facts handed out so far rest on (one source per network object)."""
        return [self._used[k] for k in sorted(self._used)]

    def facts_many(self, addresses: Addresses) -> Facts:
        if not addresses:
            return Facts()
        if self.config.offline and not self.config.refresh:
            return self._from_cache(addresses)
        return self._ask(addresses)

    def close(self) -> None:
        if self._client is not None:
            self._client.close_local()  # the evidence files, if any
            self._client = None
        if self._cache is not None:
            self._cache.close()
            self._cache = None
        self._index = None

    # -- online: the client ---------------------------------------------------------------------------
    def _ask(self, addresses: Addresses) -> Facts:
        kwargs = {"transport": self._transport} if self._transport is not None else {}
        try:
            with RdapClient(self.config, progress=self.progress, **kwargs) as client:
                try:
                    answers = client.lookup(sorted(set(addresses.texts)))
                finally:
                    self._stats = client.stats
        except IpownerError as exc:
            # The run as a whole could not start (bootstrap unusable, cache unreadable, no event loop):
            # every address asked for gets the reason; the other providers' answers stand.
            return Facts.failed(len(addresses), f"RDAP: {getattr(exc, 'reason', None) or exc}")
        out = Facts()
        for i, (text, _v, _n) in enumerate(addresses):
            ans = answers.get(text)
            net = ans.network if ans is not None else None
            if ans is None:
                got: Ranges | str = NO_RANGES
            elif net is None:
                got = self._ranges(ans, 0, 0, 0)  # an error, or nothing to say
            else:
                # What the answer may stand for: the whole network only when nothing is registered below it.
                lo, hi = answer_range(net.version, net.start, net.end, text, net.is_leaf)
                got = self._ranges(ans, net.version, lo, hi)
            _put(out, i, got)
        return out

    # -- offline: the cache -------------------------------------------------------------------------
    def _open(self) -> AsyncRdapClient | None:
        if self._client is None and not self._unusable:
            try:
                self._cache = RdapCache(self.config.cache_dir, ttl=self.config.cache_ttl)
                self._client = AsyncRdapClient(self.config, cache=self._cache, transport=self._transport)
            except IpownerError as exc:
                self.problems.append(str(exc))
                self._unusable = True
                self.close()
        return self._client

    def _from_cache(self, addresses: Addresses) -> Facts:
        started = time.monotonic()
        unique = set(addresses.texts)
        client = self._open()
        try:
            if client is not None and self._index is None and len(unique) >= _INDEX_FROM:
                self._index = self._cache_index()
                client = self._client  # None when the index could not be read
            if client is None:
                out, hits = Facts.none(len(addresses)), 0
            elif self._index is not None:
                out, hits = self._by_index(client, self._index, addresses, len(unique))
            else:
                out, hits = self._by_find(client, addresses, len(unique))
        except IpownerError as exc:  # the cache failed while being read: as when the client cannot start
            return Facts.failed(len(addresses), f"RDAP: {getattr(exc, 'reason', None) or exc}")
        stats = self._stats
        stats.addresses += len(unique)
        stats.from_cache += hits
        stats.not_cached += len(unique) - hits
        stats.elapsed += time.monotonic() - started
        return out

    def _cache_index(self) -> CacheIndex | None:
        assert self._cache is not None
        try:
            return self._cache.index()  # once per provider: enrich() asks batch after batch
        except IpownerError as exc:
            self.problems.append(str(exc))
            self._unusable = True
            self.close()
            return None

    def _by_index(self, client: AsyncRdapClient, index: CacheIndex, addresses: Addresses,
                  total: int) -> tuple[Facts, int]:
        cuts4, own4 = index.segments.get(4, _NOTHING)
        cuts6, own6 = index.segments.get(6, _NOTHING)
        progress, evidence = self.progress, client.evidence is not None
        if len(cuts4) == 1 and len(cuts6) == 1 and progress is None:
            return Facts.none(len(addresses)), 0  # an empty cache costs nothing per address
        rows = self._rows
        seen: dict[str, Ranges | str] = {}
        out = Facts()
        put, bis, nothing = out.ranges.append, bisect_right, NO_RANGES
        hits = 0
        for i, (text, v, n) in enumerate(addresses):
            got = seen.get(text)
            if got is None:
                rowid = own4[bis(cuts4, n) - 1] if v == 4 else own6[bis(cuts6, n) - 1]
                if rowid is None:
                    got = nothing
                else:
                    row = rows.get(rowid)
                    if row is None:
                        cached = index.answer(rowid, valid_bundle)
                        row = rows[rowid] = (self._cached(client, text, cached), cached is not None)
                    got = row[0]
                    if row[1]:
                        hits += 1
                        if evidence:
                            self._claims(client, text, index.answer(rowid, valid_bundle))
                seen[text] = got
                if progress is not None:
                    progress(len(seen), total)
            if isinstance(got, str):
                put(nothing)
                out.errors[i] = (got,)
            else:
                put(got)
        return out, hits

    def _by_find(self, client: AsyncRdapClient, addresses: Addresses, total: int) -> tuple[Facts, int]:
        assert self._cache is not None
        find, evidence = self._cache.find, client.evidence is not None
        seen: dict[str, Ranges | str] = {}
        out = Facts()
        hits = 0
        for i, address in enumerate(addresses):
            text = address[0]
            got = seen.get(text)
            if got is None:
                cached = find(text, valid_bundle)  # the rows the client would take
                got = seen[text] = self._cached(client, text, cached)
                if cached is not None:
                    hits += 1
                    if evidence:
                        self._claims(client, text, cached)
                if self.progress is not None:
                    self.progress(len(seen), total)
            _put(out, i, got)
        return out, hits

    def _cached(self, client: AsyncRdapClient, address: str, cached: CachedAnswer | None) -> Ranges | str:
        """A cached answer's ranges (or the reason it cannot be used), made once per row and range."""
        if cached is None:
            return NO_RANGES
        try:
            ans = _drive(client.from_cache(address, cached))
        except IpownerError as exc:
            return f"RDAP: {exc}"
        except Exception as exc:  # one cached answer's surprise costs its addresses, not the run (as in the client)
            return _unexpected(exc)
        return self._ranges(ans, cached.version, cached.lo, cached.hi)

    @staticmethod
    def _claims(client: AsyncRdapClient, address: str, cached: CachedAnswer | None) -> None:
        """The evidence of one address's claims (each address has its own, even when networks are shared)."""
        if cached is None:
            return
        try:
            ans = _drive(client.from_cache(address, cached))
        except Exception:  # its facts already say why it could not be used
            return
        client._claims(address, ans)

    # -- answers to facts ------------------------------------------------------------------------------
    def _ranges(self, ans: Answer, version: int, lo: int, hi: int) -> Ranges | str:
        """One answer as a range fact (or its error): made once per network and range, its sources noted."""
        if ans.error:
            return ans.error
        if ans.decision is None or ans.network is None:
            return NO_RANGES
        key = (ans.url, ans.fetched, ans.registry, ans.from_cache, version, lo, hi)
        made = self._made.get(key)
        if made is not None:
            return made
        net, d = ans.network, ans.decision
        src = _source(ans, ans.url)
        holder_url = d.claims.get("holder", ans.url)
        hsrc = src if holder_url == ans.url else SourceInfo(
            id=f"rdap:{ans.registry or 'unknown'}:entity:{d.holder.handle}", kind=SourceKind.RDAP,
            name=f"{src.name} entity", date=src.date, path=holder_url)
        self._used.setdefault(src.id, src)
        self._used.setdefault(hsrc.id, hsrc)
        registry = d.nir.name if d.nir else (d.rir.name if d.rir else None)
        network = Network(
            start=net.start_text, end=net.end_text, cidrs=list(net.cidrs), name=net.name, handle=net.handle,
            type=net.type, country=net.country, registry=registry, parent_handle=net.parent_handle,
            registration=net.registration, last_changed=net.last_changed, url=ans.url,
        )
        fields: list[tuple[str, Any, str]] = [
            ("network", network, src.id),
            ("holder", d.holder, hsrc.id),
            ("registry_chain", tuple(d.chain), src.id),
        ]
        if d.abuse is not None:
            fields.append(("abuse", d.abuse, src.id))
        fact = RangeFact(
            start=lo, end=hi, version=version, source=src.id, holder=d.holder.name, holder_country=d.holder.country,
            registry=registry, handle=net.handle, name=net.name, fields=tuple(fields),
        )
        made = self._made[key] = (fact,)
        return made


def _put(out: Facts, i: int, got: Ranges | str) -> None:
    if isinstance(got, str):
        out.ranges.append(NO_RANGES)
        out.errors[i] = (got,)
    else:
        out.ranges.append(got)


def _source(ans: Answer, url: str | None) -> SourceInfo:
    reg = _registries.registries().get(ans.registry or "")
    regname = reg.name if reg else "registry"
    handle = ans.network.handle if ans.network else None
    if handle and " " in handle and ans.network and ans.network.cidrs:
        handle = ans.network.cidrs[0]  # APNIC/RIPE/AFRINIC handles are ranges with spaces: a CIDR reads better
    return SourceInfo(
        id=f"rdap:{ans.registry or 'unknown'}:{handle or ans.address}" + (":cache" if ans.from_cache else ""),
        kind=SourceKind.RDAP,
        name=f"{regname} RDAP" + (" (cached)" if ans.from_cache else ""),
        date=_when(ans.fetched),
        path=url,
    )
