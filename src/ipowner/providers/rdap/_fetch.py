"""Every RDAP request goes through here: URL rewrite, the allow-list, per-registry concurrency and rate
limits, 429/Retry-After, exponential backoff with jitter, bounded retries and redirects, a size cap,
one run deadline, failure accounting per registry, counters by kind, and a hook that records each raw
response as evidence.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

from ipowner.errors import RdapError
from ipowner.providers.rdap import _registries
from ipowner.providers.rdap._allow import AllowList, same_origin
from ipowner.providers.rdap._config import Limit, RdapConfig, size_text
from ipowner.providers.rdap._exceptions import (
    RdapDeadlineError,
    RdapDnsError,
    RdapHttpError,
    RdapMalformedError,
    RdapRateLimitedError,
    RdapRedirectError,
    RdapRefusedError,
    RdapTimeoutError,
    RdapTooLargeError,
    RdapTransportError,
)
from ipowner.providers.rdap._parse import decode, error_from
from ipowner.providers.rdap._transports.base import BaseTransport, Request, Response

KINDS = ("ip network", "entity", "autnum", "nir", "referral", "parent", "search", "bootstrap")
_REDIRECTS = {301, 302, 303, 307, 308}
_RETRY_STATUS = {429, 500, 502, 503, 504}


@dataclass(slots=True)
class Fetched:
    """One answer: the JSON object, where it finally came from, and when."""

    url: str  # public URL of the final hop (before rewrite), as cited in evidence
    obj: dict[str, Any]
    fetched: float  # epoch seconds
    status: int
    body: bytes
    hops: list[str]  # public URLs of redirects/referrals followed, in order


class TokenBucket:
    """``count`` requests per ``per`` seconds, bursting up to ``count``."""

    def __init__(self, limit: Limit, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = limit.count / limit.per
        self.capacity = float(max(1, limit.count))
        self.tokens = self.capacity
        self.clock = clock
        self.stamp = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait_time(self) -> float:
        self._refill()
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    async def acquire(self, deadline: float) -> None:
        async with self._lock:
            while True:
                wait = self.wait_time()
                if wait <= 0:
                    self.tokens -= 1
                    return
                if time.monotonic() + wait > deadline:
                    raise RdapDeadlineError("", f"rate limit would delay this query past the run deadline ({wait:.0f} s)")
                await asyncio.sleep(wait)


# Consecutive failed queries (each after its retries) after which one registry is given up for the run.
DOWN_AFTER = 2


class Fetcher:
    def __init__(
        self,
        config: RdapConfig,
        transport: BaseTransport,
        *,
        on_response: Callable[[str, str, float, int, bytes, bool], None] | None = None,
        allow: Callable[[], Awaitable[AllowList]] | None = None,
    ) -> None:
        self.config = config
        self.transport = transport
        self.on_response = on_response
        self._allow = allow
        self.counts: Counter[str] = Counter()
        self.retries = 0
        self.rate_limited = 0
        self.started = time.monotonic()
        self.deadline = self.started + config.deadline
        self._buckets: dict[str, TokenBucket] = {}
        # When the network is plainly down (the resolver gives no answer), the remaining queries fail at
        # once with the same reason instead of each waiting out its retries.
        self.down: str | None = None
        # A registry that failed DOWN_AFTER queries in a row (timeouts, refused or broken connections) is
        # given up for the run; the others are still asked.
        self.registry_down: dict[str, str] = {}
        self._failures: Counter[str] = Counter()
        self._sems: dict[str, asyncio.Semaphore] = {}

    # -- limits ------------------------------------------------------------------------------
    def registry_key(self, url: str) -> str:
        """Rate-limit key: the registry a (possibly rewritten) URL belongs to, else its service base."""
        reg = _registries.by_url(self.config.rewrite.original(url))
        if reg is not None:
            return reg.key
        return url.split("/ip/")[0].split("/entity/")[0].split("/autnum/")[0]

    @staticmethod
    def _registry_name(key: str) -> str:
        reg = _registries.registries().get(key)
        return reg.name if reg is not None else key

    def _limit_for(self, key: str) -> Limit:
        if key in self.config.limits:
            return self.config.limits[key]
        reg = _registries.by_name(key)
        if reg is not None and reg.kind == "nir":
            return self.config.limit("nir")
        return self.config.limit("default")

    def _bucket(self, key: str) -> TokenBucket:
        if key not in self._buckets:
            self._buckets[key] = TokenBucket(self._limit_for(key))
            self._sems[key] = asyncio.Semaphore(max(1, self._limit_for(key).concurrency))
        return self._buckets[key]

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    # -- one query ---------------------------------------------------------------------------
    async def get(self, url: str, kind: str, *, retries: int | None = None) -> Fetched:
        """GET ``url`` (a public URL; rewritten here), following redirects; raise an ``RdapError`` subclass.

        Every hop is checked against the allow-list as it would be contacted (after rewrites); the
        bootstrap files, which carry no address, may come only from where they were asked for."""
        public = url
        target = self.config.rewrite(url)
        origin = target
        why = await self._refusal(target, kind, origin)
        if why is not None:
            raise RdapRefusedError(public, f"not contacted: {why}")
        hops: list[str] = []
        for hop in range(self.config.max_redirects + 1):
            resp, fetched = await self._get_with_retries(public, target, kind if hop == 0 else "referral", retries)
            if resp.status in _REDIRECTS:
                location = resp.header("location")
                if not location:
                    raise RdapRedirectError(public, f"HTTP {resp.status} redirect without a Location")
                # Relative to the URL actually fetched (a mirror's relative Location stays on the mirror);
                # an absolute public URL is rewritten like any other.
                target = self.config.rewrite(urljoin(target, location.strip()))
                why = await self._refusal(target, kind, origin)
                if why is not None:
                    raise RdapRedirectError(public, f"HTTP {resp.status} redirect to {location.strip()[:200]!r}, "
                                                    f"not an RDAP service ipowner may contact ({why})")
                public = self.config.rewrite.original(target)
                hops.append(public)
                continue
            return self._interpret(public, resp, fetched, hops)
        raise RdapRedirectError(url, f"more than {self.config.max_redirects} redirects or referrals")

    async def _refusal(self, target: str, kind: str, origin: str) -> str | None:
        if kind == "bootstrap":
            return None if same_origin(target, origin) else "the bootstrap files moved to another host"
        if self._allow is None:
            return "no allow-list"
        return (await self._allow()).refusal(target)

    def _interpret(self, public: str, resp: Response, fetched: float, hops: list[str]) -> Fetched:
        obj: dict[str, Any] | None = None
        try:
            obj = decode(resp.body, public)
        except RdapMalformedError:
            if resp.status >= 400:
                raise RdapHttpError(public, f"HTTP {resp.status}", resp.status) from None
            raise
        err = error_from(obj, public, resp.status)
        if err is not None:
            raise err
        if resp.status >= 400:
            raise RdapHttpError(public, f"HTTP {resp.status}", resp.status)
        if resp.status != 200:
            raise RdapHttpError(public, f"unexpected HTTP {resp.status}", resp.status)
        return Fetched(public, obj, fetched, resp.status, resp.body, hops)

    async def _get_with_retries(
        self, public: str, target: str, kind: str, retries: int | None = None,
    ) -> tuple[Response, float]:
        max_retries = self.config.retries if retries is None else retries
        if self.down is not None:
            raise RdapTransportError(public, f"not attempted: {self.down}")
        key = self.registry_key(target)
        if key in self.registry_down:
            raise RdapTransportError(public, f"not attempted: {self.registry_down[key]}")
        bucket = self._bucket(key)
        cap = self.config.max_response_bytes
        attempt = 0
        while True:
            if self.remaining() <= 0:
                raise RdapDeadlineError(public, f"run deadline of {self.config.deadline:g} s reached before this query")
            try:
                async with self._sems[key]:
                    await bucket.acquire(self.deadline)
                    timeout = max(0.05, min(self.config.timeout, self.remaining()))
                    self.counts[kind] += 1
                    resp = await self.transport.handle(Request(target, timeout=timeout, max_bytes=cap))
                    fetched = time.time()
                if len(resp.body) > cap:  # a transport that does not stream: checked before any use
                    raise RdapTooLargeError(public, "")
            except RdapDeadlineError as exc:
                raise RdapDeadlineError(public, exc.reason) from None
            except RdapTooLargeError:
                raise RdapTooLargeError(
                    public, f"answer larger than {size_text(cap)} (IPOWNER_RDAP_MAX_BYTES), not used") from None
            except RdapDnsError as exc:
                if exc.stalled:
                    self.down = f"network unreachable ({exc.reason})"
                raise RdapDnsError(public, exc.reason, stalled=exc.stalled) from None
            except (RdapTimeoutError, RdapTransportError) as exc:
                if attempt >= max_retries:
                    self._failures[key] += 1
                    if self._failures[key] >= DOWN_AFTER:
                        self.registry_down[key] = f"{self._registry_name(key)} unreachable ({exc.reason})"
                    raise type(exc)(public, f"{exc.reason} (after {attempt + 1} attempts)") from None
                await self._backoff(attempt, public, None)
                attempt += 1
                continue
            self._failures[key] = 0
            if self.on_response is not None:
                self.on_response(public, kind, fetched, resp.status, resp.body, False)
            if resp.status not in _RETRY_STATUS:
                return resp, fetched
            if resp.status == 429:
                self.rate_limited += 1
            if attempt >= max_retries:
                if resp.status == 429:
                    raise RdapRateLimitedError(public, f"rate limited (HTTP 429) after {attempt + 1} attempts", 429)
                return resp, fetched  # the error status becomes the reason
            retry_after = _retry_after(resp.header("retry-after"))
            if retry_after is not None and retry_after > self.config.max_retry_after:
                raise RdapRateLimitedError(
                    public, f"HTTP {resp.status} with Retry-After {retry_after:.0f} s, longer than allowed", resp.status
                )
            await self._backoff(attempt, public, retry_after)
            attempt += 1

    async def _backoff(self, attempt: int, public: str, retry_after: float | None) -> None:
        self.retries += 1
        if retry_after is not None:
            wait = retry_after  # the server said when; honour it exactly
        else:
            wait = random.uniform(0, self.config.backoff * (2**attempt))  # full jitter
        if wait >= self.remaining():
            raise RdapDeadlineError(public, f"run deadline of {self.config.deadline:g} s reached while backing off")
        await asyncio.sleep(wait)


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def reason(exc: BaseException) -> str:
    """A one-line per-address reason for a failed query."""
    if isinstance(exc, RdapError):
        return f"RDAP {exc.url}: {exc.reason}"
    return f"RDAP: {exc}"
