"""The RDAP client: addresses in, holder / registry chain / network / abuse out, one query per network.

Async inside (one transport, registries queried in parallel under their own limits); ``RdapClient``
is the plain synchronous face for library users::

    with RdapClient() as client:
        answers = client.lookup(["74.125.225.229"])
        answers["74.125.225.229"].decision.holder.name   # 'Google Inc.'

Scheduling: every address is first checked against the cache and against networks fetched earlier in
the same run; addresses that share a /16 (IPv4) or /32 (IPv6) at one registry are asked one after the
other, so the second is usually answered by the first's network without a request.

Answers are untrusted. Whatever one answer does (a body that cannot be parsed, a shape no parser
expected) ends as that address's reason; the other addresses keep theirs. Before an answer is kept
for its range it must be plausible (``cache_range``): its range lies within the block the bootstrap
routed the query through, and a leaf is no wider than ``MAX_LEAF_PREFIX``; else it answers the asked
address only. Entity, parent and AS number answers are checked the same way before they are cached.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from ipowner._addr import parse
from ipowner.errors import IpownerError, RdapError
from ipowner.model.serialize import iso
from ipowner.providers.rdap import _bootstrap, _registries
from ipowner.providers.rdap._allow import AllowList
from ipowner.providers.rdap._cache import CachedAnswer, CacheIndex, RdapCache, answer_range, valid_bundle
from ipowner.providers.rdap._config import RdapConfig
from ipowner.providers.rdap._evidence import EvidenceWriter
from ipowner.providers.rdap._exceptions import (
    NOT_FOUND,
    UNUSABLE,
    RdapMalformedError,
    RdapOfflineError,
    RdapTransportError,
    failure_reason,
    is_negative,
)
from ipowner.providers.rdap._fetch import Fetched, Fetcher, reason
from ipowner.providers.rdap._holder import Decision, Resolved, decide, detect_nir, org_handles
from ipowner.providers.rdap._parse import (
    Autnum,
    Network,
    _text,
    decode,
    error_from,
    parse_autnum,
    parse_entity,
    parse_network,
)
from ipowner.providers.rdap._registries import Registry
from ipowner.providers.rdap._transports.base import BaseTransport

Progress = Callable[[int, int], None]


@dataclass(slots=True)
class Answer:
    """What RDAP says about one address."""

    address: str
    network: Network | None = None  # the most specific network found
    decision: Decision | None = None
    url: str | None = None  # public URL of the response that gave ``network``
    registry: str | None = None  # key of the registry that answered ("arin", "jpnic", ...)
    fetched: float | None = None  # when that response was retrieved (epoch seconds)
    from_cache: bool = False
    error: str | None = None  # why nothing could be said
    urls: list[str] = field(default_factory=list)  # every response the answer rests on
    failure: str | None = None  # the kind of failure, for the run's summary (``failure_reason``)


@dataclass(slots=True)
class AutnumAnswer:
    """What RDAP says about one AS number: who registered it (not necessarily who runs it)."""

    asn: int
    autnum: Autnum | None = None
    decision: Decision | None = None
    url: str | None = None
    error: str | None = None


@dataclass(slots=True)
class RunStats:
    addresses: int = 0  # distinct addresses asked
    from_cache: int = 0  # answered by a network cached by an earlier run
    deduplicated: int = 0  # answered by a network fetched earlier in this run
    queried: int = 0  # addresses that needed a network query
    failed: int = 0
    not_cached: int = 0  # offline and not in the cache
    offline: bool = False
    requests: Counter[str] = field(default_factory=Counter)  # HTTP requests sent, by kind
    retries: int = 0
    rate_limited: int = 0
    elapsed: float = 0.0
    notes: list[str] = field(default_factory=list)
    bootstrap: dict[str, Any] | None = None  # the bootstrap used: source, IANA publication dates, fetched
    failures: Counter[str] = field(default_factory=Counter)  # failed addresses by kind of failure
    negative_cached: int = 0  # of them, a registry's "no such object" remembered from an earlier run

    def fail(self, answer: Answer) -> None:
        """Count one address that could not be answered, by the kind of its failure."""
        self.failed += 1
        self.failures[answer.failure or UNUSABLE] += 1

    def to_dict(self) -> dict[str, Any]:
        return {
            "addresses": self.addresses,
            "from_cache": self.from_cache,
            "deduplicated": self.deduplicated,
            "queried": self.queried,
            "failed": self.failed,
            "not_cached": self.not_cached,
            "offline": self.offline,
            "requests": {k: self.requests.get(k, 0) for k in ("ip network", "entity", "autnum", "nir", "referral", "parent", "search", "bootstrap")},
            "requests_total": sum(self.requests.values()),
            "retries": self.retries,
            "rate_limited": self.rate_limited,
            "elapsed_seconds": round(self.elapsed, 3),
            "notes": list(self.notes),
            "bootstrap": self.bootstrap,
            "failures": dict(sorted(self.failures.items(), key=lambda kv: (-kv[1], kv[0]))),
            "negative_cached": self.negative_cached,
        }

    def summary(self) -> str:
        req = self.to_dict()["requests"]
        parts = [f"RDAP: {self.addresses} addresses"]
        if self.offline:
            parts.append(f"offline: {self.from_cache} from cache, {self.not_cached} not cached (no request made)")
        else:
            parts.append(f"{self.from_cache} from cache, {self.deduplicated} shared a network, {self.queried} queried")
            parts.append(
                "requests: " + ", ".join(f"{v} {k}" for k, v in req.items() if v) if any(req.values()) else "no requests"
            )
        if self.retries:
            parts.append(f"{self.retries} retries ({self.rate_limited} rate-limited)")
        if self.failed:
            parts.append(f"{self.failed} failed")
        return "; ".join(parts)


_HANDLE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")

# The widest leaf (assigned) network kept in the cache for its whole range. Real assignments are far
# narrower (recorded leaves: /16 at most for IPv4, /48 for IPv6; the largest blocks ever registered to
# one holder are allocations of a /8 or a /19), so a wider "leaf" is a mistake or an attack: it answers
# the address it was asked for and nothing else.
MAX_LEAF_PREFIX = {4: 8, 6: 16}

Route = tuple[int, int]  # the bootstrap block (first, last) a query was routed through


def cache_range(
    nets: list[Network], address: str, leaf: bool, route: Route | None,
) -> tuple[int, int, str | None]:
    """The range the answer made of ``nets`` (the last is the most specific) may answer from the cache,
    and, when it is narrowed to the asked address alone, why."""
    net = nets[-1]
    ip = int(ipaddress.ip_address(address))
    if route is not None:
        for n in nets:
            if not (route[0] <= n.start and n.end <= route[1]):
                block = _range_text(n.version, *route)
                return ip, ip, f"{n.start_text} - {n.end_text} lies outside {block}, the block the bootstrap routes it to"
    widest = 1 << ((32 if net.version == 4 else 128) - MAX_LEAF_PREFIX[net.version])
    if leaf and net.end - net.start + 1 > widest:
        return ip, ip, (f"{net.start_text} - {net.end_text} is wider than a /{MAX_LEAF_PREFIX[net.version]}, "
                        f"more than any real assignment")
    lo, hi = answer_range(net.version, net.start, net.end, address, leaf)
    return lo, hi, None


def _range_text(version: int, lo: int, hi: int) -> str:
    first, last = (ipaddress.IPv4Address(lo), ipaddress.IPv4Address(hi)) if version == 4 else (
        ipaddress.IPv6Address(lo), ipaddress.IPv6Address(hi))
    nets = list(ipaddress.summarize_address_range(first, last))
    return str(nets[0]) if len(nets) == 1 else f"{first} - {last}"


def _route_of(text: Any, version: int) -> Route | None:
    """A route stored in a bundle (``_range_text``) back as integers; None when absent or unreadable."""
    if not isinstance(text, str):
        return None
    try:
        if "/" in text:
            block = ipaddress.ip_network(text)
            if block.version != version:
                return None
            return int(block.network_address), int(block.broadcast_address)
        a, _, b = text.partition(" - ")
        first, last = ipaddress.ip_address(a), ipaddress.ip_address(b)
    except ValueError:
        return None
    if first.version != version or last.version != version:
        return None
    return int(first), int(last)


def _unexpected(exc: Exception) -> str:
    """The one-line reason for a failure no rule foresaw (an answer of a shape nothing expected)."""
    return f"RDAP: answer could not be used ({type(exc).__name__}: {str(exc)[:200]})"


def _service_base(url: str) -> str:
    for marker in ("/ip/", "/entity/", "/autnum/"):
        if marker in url:
            return url.split(marker, 1)[0] + "/"
    return url.rstrip("/") + "/"


def _bucket(address: str) -> str:
    ip = ipaddress.ip_address(address)
    return str(ipaddress.ip_network(f"{ip}/{16 if ip.version == 4 else 32}", strict=False))


_INDEX_FROM = 64  # batch size from which the cache is read as a whole


def _canon(address: str) -> str:
    got = parse(address)
    return got[0] if got is not None else str(ipaddress.ip_address(address))


def _find(index: CacheIndex, address: str) -> int | None:
    got = parse(address)
    if got is None:
        ip = ipaddress.ip_address(address)
        return index.find(ip.version, int(ip))
    return index.find(got[1], got[2])


def _body_text(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


class AsyncRdapClient:
    def __init__(
        self,
        config: RdapConfig | None = None,
        *,
        transport: BaseTransport | None = None,
        cache: RdapCache | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.config = config or RdapConfig.from_env()
        self._transport = transport
        self._own_transport = transport is None
        self._cache = cache
        self._own_cache = cache is None
        self.progress = progress
        self.evidence = EvidenceWriter(self.config.evidence_dir) if self.config.evidence_dir else None
        self.stats = RunStats(offline=self.config.offline)
        self._fetcher: Fetcher | None = None
        self._bootstrap: _bootstrap.Bootstrap | None = None
        # Ranges answered in this run, indexed by /16 (IPv4) or /32 (IPv6) so a big batch stays linear.
        self._run_idx: dict[tuple[int, int], list[tuple[int, int, dict[str, Any]]]] = {}
        self._run_big: list[tuple[int, int, int, dict[str, Any]]] = []
        self._locks: dict[str, asyncio.Lock] = {}
        self._decided: dict[tuple[str, float, str], tuple[Network, Decision, str | None, list[str]]] = {}
        self._allow: AllowList | None = None
        self._narrowed: list[str] = []  # answers kept for their own address only, and why

    # -- lifecycle -------------------------------------------------------------------------------
    @property
    def cache(self) -> RdapCache:
        if self._cache is None:
            try:
                self._cache = RdapCache(self.config.cache_dir, ttl=self.config.cache_ttl)
            except IpownerError as exc:
                # A cache that cannot be opened must not cost the answers: keep them in memory for this run.
                self.stats.notes.append(f"{exc}; answers are not kept after this run")
                self._cache = RdapCache(self.config.cache_dir, ttl=self.config.cache_ttl, memory=True)
        return self._cache

    def _fetch(self) -> Fetcher:
        if self.config.offline:
            raise RdapOfflineError("", "running offline: no RDAP query is made")
        if self._fetcher is None:
            if self._transport is None:
                from ipowner.providers.rdap._transports.default import HTTPTransport

                self._transport = HTTPTransport()
            self._fetcher = Fetcher(self.config, self._transport, on_response=self._on_response,
                                    allow=self.allow_list)
        return self._fetcher

    async def allow_list(self) -> AllowList:
        """Where requests may go: the bootstrap's services and the registry table, after rewrites."""
        if self._allow is None:
            services = {u for reg in _registries.registries().values() for u in reg.rdap}
            chosen: set[str] = set()
            try:
                boot = await self.bootstrap()
            except IpownerError:
                boot = None  # the registry table alone; rebuilt once a bootstrap loads
            if boot is not None:
                services |= boot.services()
                if self.config.bootstrap:
                    chosen = boot.services()  # named by the user: kept even when rewrites are configured
            allow = AllowList(services, self.config.rewrite, chosen=chosen)
            if boot is None:
                return allow
            self._allow = allow
        return self._allow

    async def _may_follow(self, url: str) -> bool:
        """Whether a URL an answer names (a link) is on the allow-list, as it would be contacted."""
        return (await self.allow_list()).refusal(self.config.rewrite(url)) is None

    def _on_response(self, url: str, kind: str, fetched: float, status: int, body: bytes, from_cache: bool) -> None:
        if self.evidence is not None:
            self.evidence.response(url, kind, fetched, status, body, from_cache)

    async def aclose(self) -> None:
        if self._fetcher is not None:
            self.stats.requests.update(self._fetcher.counts)
            self.stats.retries += self._fetcher.retries
            self.stats.rate_limited += self._fetcher.rate_limited
            self._fetcher.counts.clear()
            self._fetcher.retries = self._fetcher.rate_limited = 0
        if self._transport is not None and self._own_transport:
            await self._transport.aclose()
            self._transport = None
            self._fetcher = None
        if self._cache is not None and self._own_cache:
            self._cache.close()
            self._cache = None
        if self.evidence is not None:
            self.evidence.close()
            self.evidence = None

    def close_local(self) -> None:
        """Close the cache and the evidence files (when no event loop could be started to close the rest)."""
        if self._cache is not None and self._own_cache:
            self._cache.close()
            self._cache = None
        if self.evidence is not None:
            self.evidence.close()
            self.evidence = None

    async def __aenter__(self) -> AsyncRdapClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- bootstrap -------------------------------------------------------------------------------
    async def bootstrap(self) -> _bootstrap.Bootstrap:
        if self._bootstrap is None:
            fetch = None
            if not self.config.offline:
                fetcher = self._fetch()

                async def fetch(url: str, retries: int) -> bytes:
                    # The loader says whether to retry: not with a copy to fall back on, else as configured.
                    return (await fetcher.get(url, "bootstrap", retries=min(retries, self.config.retries))).body

            cache_dir = self.cache.directory
            self._bootstrap, note = await _bootstrap.load(
                self.config.bootstrap, cache_dir=cache_dir, online=not self.config.offline,
                refresh=self.config.refresh, max_age=self.config.bootstrap_max_age, fetch=fetch,
            )
            if note:
                self.stats.notes.append(note)
            self._allow = None  # rebuilt with this bootstrap's services
            b = self._bootstrap
            self.stats.bootstrap = {
                "source": b.source,
                "published": dict(sorted(b.publication.items())),
                "fetched": iso(datetime.fromtimestamp(b.fetched, tz=UTC)) if b.fetched else None,
            }
        return self._bootstrap

    # -- the batch -------------------------------------------------------------------------------
    async def lookup(self, addresses: Iterable[str]) -> dict[str, Answer]:
        started = time.monotonic()
        unique = list(dict.fromkeys(_canon(a) for a in addresses))
        self.stats.addresses += len(unique)
        answers: dict[str, Answer] = {}
        done = 0

        def tick() -> None:
            nonlocal done
            done += 1
            if self.progress is not None:
                self.progress(done, len(unique))

        misses: list[str] = []
        # A large batch reads the cache's ranges once instead of one query per address.
        index = self.cache.index() if len(unique) >= _INDEX_FROM and not self.config.refresh else None
        rows: dict[int, CachedAnswer | None] = {}
        for addr in unique:
            if index is not None:
                hit = None
                rowid = _find(index, addr)
                if rowid is not None:
                    hit = rows[rowid] if rowid in rows else rows.setdefault(rowid, index.answer(rowid, valid_bundle))
            else:
                hit = None if self.config.refresh else self.cache.find(addr, valid_bundle)
            if hit is not None:
                try:
                    answers[addr] = await self._from_bundle(addr, hit.bundle, from_cache=True)
                except Exception as exc:  # one cached answer's surprise costs that address, not the run
                    answers[addr] = Answer(addr, error=_unexpected(exc), from_cache=True, failure=UNUSABLE)
                    self.stats.fail(answers[addr])
                else:
                    if answers[addr].error:
                        self.stats.fail(answers[addr])
                self.stats.from_cache += 1
                tick()
            else:
                misses.append(addr)

        if misses and self.config.offline:
            for addr in misses:
                answers[addr] = Answer(addr, error=None)
                self.stats.not_cached += 1
                tick()
            misses = []

        if misses:
            try:
                boot = await self.bootstrap()
            except IpownerError as exc:
                why = str(exc) if str(exc).startswith("RDAP") else f"RDAP: {exc}"  # every RDAP reason says RDAP
                if str(exc) not in self.stats.notes:
                    self.stats.notes.append(str(exc))  # one reason for the whole run: said once, in the summary
                for addr in misses:
                    answers[addr] = Answer(addr, error=why, failure="no usable bootstrap")
                    self.stats.fail(answers[addr])
                    tick()
                misses = []
            else:
                async def one(addr: str) -> None:
                    try:
                        answers[addr] = await self._resolve(addr, boot)
                    except Exception as exc:  # whatever one answer does, the gather and the others go on
                        answers[addr] = Answer(addr, error=_unexpected(exc), failure=UNUSABLE)
                    if answers[addr].error:
                        self.stats.fail(answers[addr])
                    tick()

                await asyncio.gather(*(one(a) for a in sorted(misses, key=lambda x: ipaddress.ip_address(x).packed)))

        if self._fetcher is not None:
            self.stats.requests.update(self._fetcher.counts)
            self.stats.retries += self._fetcher.retries
            self.stats.rate_limited += self._fetcher.rate_limited
            self._fetcher.counts.clear()
            self._fetcher.retries = self._fetcher.rate_limited = 0
        self.stats.elapsed += time.monotonic() - started
        if self._cache is not None:
            self.stats.notes.extend(self._cache.notes())
        if self._narrowed:
            more = f" (and {len(self._narrowed) - 1} more)" if len(self._narrowed) > 1 else ""
            self.stats.notes.append(f"registry answer used for its own address only: {self._narrowed[0]}{more}")
            self._narrowed.clear()
        for addr, ans in answers.items():
            self._claims(addr, ans)
        return {a: answers[a] for a in unique}

    async def autnum(self, asn: int) -> AutnumAnswer:
        """The registration of an AS number (cached like entities). An AS name says who registered the
        AS; a ``CNNIC-`` prefix names the registry it came through, not its operator."""
        try:
            return await self._autnum(asn)
        except Exception as exc:  # an answer of a shape nothing expected is this AS number's reason
            return AutnumAnswer(asn, error=_unexpected(exc))

    async def _autnum(self, asn: int) -> AutnumAnswer:
        try:
            boot = await self.bootstrap()
        except IpownerError as exc:
            return AutnumAnswer(asn, error=str(exc))
        services = boot.for_asn(asn)
        if not services:
            return AutnumAnswer(asn, error=f"RDAP: no registry for AS{asn} in the bootstrap ({boot.source})")
        url = f"{services[0]}autnum/{asn}"

        def plausible(obj: dict[str, Any]) -> str | None:
            if error_from(obj, url, None) is not None:
                return None
            try:
                aut = parse_autnum(obj, url)
            except RdapError as exc:
                return exc.reason
            return None if aut.start <= asn <= aut.end else f"answered for AS{aut.start}-AS{aut.end}, not AS{asn}"

        obj, why = await self._object(url, "autnum", check=plausible)
        if self._fetcher is not None:
            self.stats.requests.update(self._fetcher.counts)
            self._fetcher.counts.clear()
        if obj is None:
            return AutnumAnswer(asn, url=url, error=f"RDAP {url}: {why}")
        try:
            err = error_from(obj, url, None)
            if err is not None:
                raise err
            aut = parse_autnum(obj, url)
        except RdapError as exc:
            return AutnumAnswer(asn, url=url, error=reason(exc))
        answered = self._answered_by(url, None) or _registries.by_port43(aut.port43)
        resolved = await self._resolve_entities(aut, url)  # type: ignore[arg-type]
        decision = decide(aut, url=url, answered_by=answered, resolved=resolved)  # type: ignore[arg-type]
        return AutnumAnswer(asn, aut, decision, url)

    def _claims(self, addr: str, ans: Answer) -> None:
        if self.evidence is None or ans.decision is None:
            return
        d = ans.decision
        self.evidence.claim(addr, "holder", {"name": d.holder.name, "handle": d.holder.handle, "rule": d.holder.rule,
                                             "inferred": d.holder.inferred, "reason": d.holder.reason}, d.claims.get("holder", ans.url))
        self.evidence.claim(addr, "holder.country", {"country": d.holder.country, "basis": d.holder.country_basis},
                            d.claims.get("holder", ans.url))
        self.evidence.claim(addr, "registry_chain", [f"{c.role}:{c.name}" for c in d.chain], ans.url)
        if ans.network is not None:
            self.evidence.claim(addr, "network", {"start": ans.network.start_text, "end": ans.network.end_text,
                                                  "handle": ans.network.handle}, ans.url)
        if d.abuse is not None:
            self.evidence.claim(addr, "abuse", {"email": d.abuse.email, "handle": d.abuse.handle}, ans.url)

    @staticmethod
    def _shift(version: int) -> int:
        return 16 if version == 4 else 96

    def _run_add(self, version: int, lo: int, hi: int, bundle: dict[str, Any]) -> None:
        shift = self._shift(version)
        first, last = lo >> shift, hi >> shift
        if last - first > 4096:
            self._run_big.append((version, lo, hi, bundle))
            return
        for b in range(first, last + 1):
            self._run_idx.setdefault((version, b), []).append((lo, hi, bundle))

    def _run_hit(self, addr: str) -> dict[str, Any] | None:
        ip = ipaddress.ip_address(addr)
        value = int(ip)
        best = None
        for lo, hi, bundle in self._run_idx.get((ip.version, value >> self._shift(ip.version)), []):
            if lo <= value <= hi and (best is None or hi - lo < best[0]):
                best = (hi - lo, bundle)
        for version, lo, hi, bundle in self._run_big:
            if version == ip.version and lo <= value <= hi and (best is None or hi - lo < best[0]):
                best = (hi - lo, bundle)
        return best[1] if best else None

    async def _resolve(self, addr: str, boot: _bootstrap.Bootstrap) -> Answer:
        services = boot.for_address(addr)
        if not services:
            return Answer(addr, error=f"RDAP: no registry for {addr} in the bootstrap ({boot.source})",
                          failure="no registry in the bootstrap")
        base = services[0]
        routed = boot.route(addr)
        route = (routed[0], routed[1]) if routed else None
        key = f"{base}|{_bucket(addr)}"
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            bundle = self._run_hit(addr)
            if bundle is None and not self.config.refresh:
                hit = self.cache.find(addr, valid_bundle)
                bundle = hit.bundle if hit else None
                if bundle is not None:
                    self.stats.from_cache += 1
                    return await self._from_bundle(addr, bundle, from_cache=True)
            if bundle is not None:
                self.stats.deduplicated += 1
                return await self._from_bundle(addr, bundle, from_cache=False, record=False)
            # A registry's "no such network" for this address, remembered for a day (``negative_ttl``).
            asked = f"{base}ip/{addr}"
            known = None if self.config.refresh else self.cache.get_object(asked)
            if known is not None and known.kind == "ip network" and known.status != 200:
                self.stats.negative_cached += 1
                return Answer(addr, error=f"RDAP {asked}: {known.body}", from_cache=True, failure=NOT_FOUND)
            self.stats.queried += 1
            try:
                bundle = await self._query(addr, base, route)
            except RdapError as exc:
                if is_negative(exc):
                    self.cache.put_object(asked, "ip network", time.time(), exc.status or 404, exc.reason)
                return Answer(addr, error=reason(exc), failure=failure_reason(exc))
            return await self._from_bundle(addr, bundle, from_cache=False, record=False)

    async def _query(self, addr: str, base: str, route: Route | None) -> dict[str, Any]:
        """Ask the registry (and the NIR below it when it keeps its own database); cache the answer."""
        fetcher = self._fetch()
        got = await fetcher.get(f"{base}ip/{addr}", "ip network")
        net = self._network(got, addr)
        nets = [net]
        # A registry that answers for space another registry maintains (port43 names the other one)
        # is a referral: ask the other, bounded, never the same service twice.
        seen = {_service_base(self.config.rewrite.original(got.url))}
        for _ in range(self.config.max_redirects):
            target = await self._referral(net, got.url, addr)
            if target is None or _service_base(target) in seen:
                break
            seen.add(_service_base(target))
            got = await fetcher.get(target, "referral")
            got.hops.insert(0, target)
            net = self._network(got, addr)
            nets.append(net)
        answered = self._answered_by(got.url, net)
        bundle: dict[str, Any] = {"network": self._pack(got, answered), "nir": None, "nir_note": None,
                                  "route": _range_text(net.version, *route) if route else None}
        nir, _ = detect_nir(net, answered)
        if (
            self.config.query_nirs and nir is not None and nir.own_database and nir.rdap
            and (answered is None or answered.kind != "nir") and not net.is_leaf
        ):
            nir_url = f"{nir.rdap[0]}ip/{addr}"
            try:
                ngot = await fetcher.get(nir_url, "nir")
                nnet = self._network(ngot, addr)
                bundle["nir"] = self._pack(ngot, nir)
                net = nnet
                nets.append(net)
            except RdapError as exc:
                bundle["nir_note"] = f"{nir.name}'s RDAP service gave no record ({exc.reason})"
        leaf = net.is_leaf or await self._childless(net)
        lo, hi, narrowed = cache_range(nets, addr, leaf, route)
        if narrowed is not None:
            self._narrowed.append(f"{narrowed} (asked for {addr})")
            leaf = False
        top = bundle["nir"] or bundle["network"]
        self.cache.store(net.version, lo, hi, url=top["url"], registry=top["registry"], handle=net.handle,
                         fetched=top["fetched"], leaf=leaf, bundle=bundle)
        self._run_add(net.version, lo, hi, bundle)
        return bundle

    async def _childless(self, net: Network) -> bool:
        """True when the registry's ``rdap-down`` search (RFC 9910) lists no child of this allocation,
        so the whole range may be answered from the cache. No link, no query."""
        down = net.link("rdap-down")
        # The answer's own links never vouch for each other: the link must land on a listed service.
        if not down or not await self._may_follow(down):
            return False
        obj, _why = await self._object(down, "search")
        if obj is None or error_from(obj, down, None) is not None:
            return False
        children = obj.get("ipSearchResults")
        return isinstance(children, list) and not any(
            isinstance(c, dict) and c.get("handle") != net.handle for c in children)

    async def _referral(self, net: Network, url: str, addr: str) -> str | None:
        asked = _registries.by_url(self.config.rewrite.original(url))
        keeper = _registries.by_port43(net.port43)
        if asked is None or keeper is None or keeper.key == asked.key or keeper.kind != "rir" or not keeper.rdap:
            return None
        for link in net.links:
            reg = _registries.by_url(link.href)
            if reg is not None and reg.key == keeper.key and "/ip/" in link.href and link.href.startswith(("http://", "https://")):
                target = f"{_service_base(link.href)}ip/{addr}"
                if await self._may_follow(target):
                    return target
        return f"{keeper.rdap[0]}ip/{addr}"

    def _network(self, got: Fetched, addr: str) -> Network:
        net = parse_network(got.obj, got.url)
        if not net.contains(addr):
            raise RdapMalformedError(got.url, f"answered with {net.start_text} - {net.end_text}, which does not contain {addr}")
        return net

    def _answered_by(self, url: str, net: Network | None) -> Registry | None:
        reg = _registries.by_url(url)
        if reg is None and net is not None:
            reg = _registries.by_port43(net.port43) or _registries.by_url(net.self_url)
        return reg

    def _pack(self, got: Fetched, registry: Registry | None) -> dict[str, Any]:
        return {"url": got.url, "fetched": got.fetched, "status": got.status, "body": _body_text(got.body),
                "registry": registry.key if registry else None, "hops": got.hops}

    # -- from raw responses to a decision ---------------------------------------------------------
    async def from_cache(self, addr: str, answer: CachedAnswer) -> Answer:
        """The answer an address gets from a cached entry (worked out once per network and run)."""
        return await self._from_bundle(addr, answer.bundle, from_cache=True)

    async def _from_bundle(self, addr: str, bundle: dict[str, Any], *, from_cache: bool, record: bool = True) -> Answer:
        if not valid_bundle(bundle):
            return Answer(addr, error="RDAP: a cached answer is damaged", from_cache=from_cache, failure=UNUSABLE)
        top = bundle.get("nir") or bundle["network"]
        # Many addresses share one network: work its answer out once per run.
        key = (top["url"], top["fetched"], bundle["network"]["url"])
        memo = self._decided.get(key)
        if memo is not None:
            net, decision, registry, urls = memo
            return Answer(addr, network=net, decision=decision, url=top["url"], registry=registry,
                          fetched=top["fetched"], from_cache=from_cache, urls=list(urls))
        urls = [bundle["network"]["url"]] + ([bundle["nir"]["url"]] if bundle.get("nir") else [])
        try:
            net = parse_network(decode(top["body"].encode(), top["url"]), top["url"])
        except RdapError as exc:
            return Answer(addr, error=reason(exc), from_cache=from_cache, failure=failure_reason(exc))
        if from_cache and record:
            for part in (bundle["network"], bundle.get("nir")):
                if part:
                    self._on_response(part["url"], "cached", part["fetched"], part["status"], part["body"].encode(), True)
        answered = _registries.registries().get(top.get("registry") or "") or self._answered_by(top["url"], net)
        resolved = await self._resolve_entities(net, top["url"])
        parents: list[tuple[Network, str]] = []
        if self.config.chain:
            parents = await self._walk_up(net, top["url"], resolved, _route_of(bundle.get("route"), net.version))
        urls += [r.url for r in resolved.values()] + [u for _, u in parents]
        decision = decide(net, url=top["url"], answered_by=answered, resolved=resolved, parents=parents,
                          nir_note=bundle.get("nir_note"))
        self._decided[key] = (net, decision, answered.key if answered else None, urls)
        return Answer(addr, network=net, decision=decision, url=top["url"], registry=answered.key if answered else None,
                      fetched=top["fetched"], from_cache=from_cache, urls=urls)

    async def _object(
        self, url: str, kind: str, check: Callable[[dict[str, Any]], str | None] | None = None,
    ) -> tuple[dict[str, Any] | None, str | None]:
        """A cached-or-fetched object by URL: (JSON, None) or (None, reason). Failures are cached too;
        an answer ``check`` finds implausible (it says why) is neither used nor cached."""
        cached = None if self.config.refresh else self.cache.get_object(url)
        if cached is not None:
            self._on_response(url, kind, cached.fetched, cached.status, cached.body.encode(), True)
            if cached.status != 200:
                return None, cached.body
            try:
                obj = decode(cached.body.encode(), url)
            except RdapError as exc:
                return None, exc.reason
            why = check(obj) if check is not None else None
            return (None, why) if why is not None else (obj, None)
        if self.config.offline:
            return None, "not in the cache (offline)"
        try:
            got = await self._fetch().get(url, kind)
        except RdapOfflineError as exc:
            return None, exc.reason
        except RdapError as exc:
            # Transient failures are not remembered; a registry's "no such object" is.
            if exc.status in (400, 404, 501) or exc.__class__.__name__ in ("RdapNotFoundError", "RdapErrorObject"):
                self.cache.put_object(url, kind, time.time(), exc.status or 0, exc.reason)
            return None, exc.reason
        why = check(got.obj) if check is not None else None
        if why is not None:
            return None, why
        self.cache.put_object(url, kind, got.fetched, 200, _body_text(got.body))
        return got.obj, None

    async def _resolve_entities(self, net: Network, url: str) -> dict[str, Resolved]:
        out: dict[str, Resolved] = {}
        base = _service_base(url)
        for handle in org_handles(net)[:3]:
            # Handles come from the registry's answer: only plausible ones are asked for, percent-encoded,
            # so a hostile handle cannot steer the request elsewhere.
            if not _HANDLE.fullmatch(handle):
                out[handle] = Resolved(None, "", "handle not usable in a query")
                continue
            eurl = f"{base}entity/{quote(handle, safe='')}"
            obj, why = await self._object(eurl, "entity", check=functools.partial(_entity_refusal, handle=handle))
            if obj is None:
                out[handle] = Resolved(None, eurl, why)
                continue
            err = error_from(obj, eurl, None)
            ent = None if err is not None else parse_entity(obj)
            out[handle] = Resolved(ent, eurl, None if ent else (err.reason if err else "empty entity ({})"))
        return out

    async def _walk_up(
        self, net: Network, url: str, resolved: dict[str, Resolved], route: Route | None = None,
    ) -> list[tuple[Network, str]]:
        """Parent networks, nearest first, with extra queries (``--chain``), bounded by ``chain_depth``.

        A parent must enclose the network below it and lie within the block the bootstrap routed the
        address through; one that does not ends the walk and is not cached."""
        parents: list[tuple[Network, str]] = []
        current, curl = net, url
        for _ in range(self.config.chain_depth):
            up = await self._up_url(current, curl)
            if up is None:
                break

            def plausible(obj: dict[str, Any], below: Network = current, up: str = up) -> str | None:
                if error_from(obj, up, None) is not None:
                    return None  # a registry's "no such network" is an answer like any other
                try:
                    parent = parse_network(obj, up)
                except RdapError as exc:
                    return exc.reason
                if not (parent.start <= below.start and parent.end >= below.end):
                    return f"parent {parent.start_text} - {parent.end_text} does not enclose {below.start_text}"
                if route is not None and not (route[0] <= parent.start and parent.end <= route[1]):
                    return f"parent {parent.start_text} - {parent.end_text} lies outside the bootstrap's block"
                return None

            obj, _why = await self._object(up, "parent", check=plausible)
            if obj is None or error_from(obj, up, None) is not None:
                break
            try:
                parent = parse_network(obj, up)
            except RdapError:
                break
            if (parent.start, parent.end) == (current.start, current.end) or not (
                parent.start <= current.start and parent.end >= current.end
            ):
                break
            if parent.end - parent.start >= (1 << (32 if parent.version == 4 else 128)) - 1:
                break  # the whole address space: nothing above the RIR
            resolved.update({k: v for k, v in (await self._resolve_entities(parent, up)).items() if k not in resolved})
            parents.append((parent, up))
            current, curl = parent, up
        return parents

    async def _up_url(self, net: Network, url: str) -> str | None:
        link = net.link("rdap-up", "up")
        if link and await self._may_follow(link):
            return link
        base = _service_base(url)
        cidr = ipaddress.ip_network(net.cidrs[0]) if net.cidrs else None
        if cidr is None or cidr.prefixlen == 0:
            return None
        # RFC 9082: a prefix query returns the most specific network that encloses it, i.e. the parent.
        parent_prefix = cidr.supernet(new_prefix=cidr.prefixlen - 1)
        return f"{base}ip/{parent_prefix}"


class RdapClient:
    """Synchronous face of ``AsyncRdapClient`` for library users (safe inside a running event loop)."""

    def __init__(self, config: RdapConfig | None = None, **kwargs: Any) -> None:
        self._config = config
        self._kwargs = kwargs
        self._async: AsyncRdapClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _run(self, coro: Any) -> Any:
        if self.client.config.offline:
            return _drive(coro)
        if self._loop is None:
            try:
                # The loop needs a socket pair for its wake-ups; try one first, because a loop whose
                # construction fails complains on stderr when it is collected.
                a, b = socket.socketpair()
                a.close()
                b.close()
                self._loop = asyncio.new_event_loop()
            except OSError as exc:
                coro.close()
                raise RdapTransportError("", f"cannot start the network client ({exc})") from None
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return self._loop.run_until_complete(coro)
        box: dict[str, Any] = {}

        loop = self._loop

        def worker() -> None:
            try:
                box["value"] = loop.run_until_complete(coro)
            except BaseException as exc:  # re-raised in the caller's thread
                box["error"] = exc

        t = threading.Thread(target=worker)
        t.start()
        t.join()
        if "error" in box:
            raise box["error"]
        return box["value"]

    @property
    def client(self) -> AsyncRdapClient:
        if self._async is None:
            self._async = AsyncRdapClient(self._config, **self._kwargs)
        return self._async

    @property
    def stats(self) -> RunStats:
        return self.client.stats

    def lookup(self, addresses: Iterable[str]) -> dict[str, Answer]:
        return self._run(self.client.lookup(list(addresses)))

    def autnum(self, asn: int) -> AutnumAnswer:
        return self._run(self.client.autnum(int(asn)))

    def close(self) -> None:
        if self._async is not None:
            try:
                self._run(self._async.aclose())
            except RdapTransportError:
                self._async.close_local()
        if self._loop is not None:
            self._loop.close()

    def __enter__(self) -> RdapClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _entity_refusal(obj: dict[str, Any], handle: str) -> str | None:
    """Why an entity answer is not the entity asked for (then it is neither used nor cached), or None."""
    if error_from(obj, "", None) is not None:
        return None
    cls = _text(obj.get("objectClassName"))
    if cls is not None and cls.lower() != "entity":
        return f"expected an entity, got {cls[:40]!r}"
    got = _text(obj.get("handle"))
    if got is not None and got.upper() != handle.upper():
        return f"answered with entity {got[:60]!r}, not {handle}"
    return None


def _drive(coro: Any) -> Any:
    """Run a coroutine that never waits on I/O (an offline run) without an event loop.

    An event loop opens a socket pair for its own wake-ups; offline means no socket at all.
    """
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise RdapOfflineError("", "an offline run tried to wait for the network")
