"""Settings of an RDAP run: where the bootstrap comes from, URL rewrites, limits, deadline, cache.

Environment overrides (read by ``RdapConfig.from_env``):
``IPOWNER_RDAP_BOOTSTRAP`` (folder or base URL holding ipv4.json, ipv6.json, asn.json),
``IPOWNER_RDAP_REWRITE`` (comma-separated ``FROM=TO`` URL prefixes applied to every URL contacted),
``IPOWNER_RDAP_LIMITS`` (comma-separated ``registry=N/SECONDS[:CONCURRENCY]``, e.g. ``lacnic=10/60:1``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ipowner.errors import UsageError

# Queries allowed per window and parallel requests, per registry. LACNIC publishes 10 a minute and
# bans for about five minutes past that; the others publish no figure, so these are conservative.
DEFAULT_LIMITS: dict[str, tuple[int, float, int]] = {
    "lacnic": (10, 60.0, 1),
    "arin": (60, 60.0, 4),
    "ripe": (60, 60.0, 4),
    "apnic": (60, 60.0, 4),
    "afrinic": (30, 60.0, 2),
    "nir": (30, 60.0, 2),
    "default": (30, 60.0, 2),
}


@dataclass(slots=True, frozen=True)
class Limit:
    count: int  # requests allowed ...
    per: float  # ... per this many seconds (a token bucket holding ``count`` tokens)
    concurrency: int = 2


class Rewriter:
    """Rewrites URL prefixes (``FROM=TO``), longest match first; the reverse names a rewritten URL."""

    def __init__(self, pairs: list[tuple[str, str]] | None = None) -> None:
        self.pairs = sorted(pairs or [], key=lambda p: len(p[0]), reverse=True)

    @classmethod
    def parse(cls, text: str | None) -> Rewriter:
        pairs: list[tuple[str, str]] = []
        for item in (text or "").split(","):
            item = item.strip()
            if not item:
                continue
            src, sep, dst = item.partition("=")
            if not sep or not src.strip() or not dst.strip():
                raise UsageError(f"IPOWNER_RDAP_REWRITE: {item!r} is not FROM=TO")
            pairs.append((src.strip(), dst.strip()))
        return cls(pairs)

    def __call__(self, url: str) -> str:
        for src, dst in self.pairs:
            if url.startswith(src):
                return dst + url[len(src) :]
            # http and https name the same registry service
            alt = _other_scheme(src)
            if alt and url.startswith(alt):
                return dst + url[len(alt) :]
        return url

    def original(self, url: str) -> str:
        """The public URL a rewritten one stands for (identity when nothing was rewritten)."""
        for src, dst in self.pairs:
            if url.startswith(dst):
                return src + url[len(dst) :]
        return url


def _other_scheme(url: str) -> str | None:
    if url.startswith("https://"):
        return "http://" + url[len("https://") :]
    if url.startswith("http://"):
        return "https://" + url[len("http://") :]
    return None


def parse_limits(text: str | None) -> dict[str, Limit]:
    limits = {k: Limit(*v) for k, v in DEFAULT_LIMITS.items()}
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        name, sep, spec = item.partition("=")
        try:
            rate, _, conc = spec.partition(":")
            n, _, per = rate.partition("/")
            limits[name.strip().lower()] = Limit(int(n), float(per or 60), int(conc or limits.get(name.strip().lower(), limits["default"]).concurrency))
        except ValueError:
            raise UsageError(f"IPOWNER_RDAP_LIMITS: {item!r} is not REGISTRY=N/SECONDS[:CONCURRENCY]") from None
        if not sep:
            raise UsageError(f"IPOWNER_RDAP_LIMITS: {item!r} is not REGISTRY=N/SECONDS[:CONCURRENCY]")
    return limits


@dataclass(slots=True)
class RdapConfig:
    bootstrap: str | None = None  # folder or base URL; None = the shipped snapshot (refreshed copy if newer)
    rewrite: Rewriter = field(default_factory=Rewriter)
    limits: dict[str, Limit] = field(default_factory=lambda: parse_limits(None))
    offline: bool = False  # no socket at all: cached answers only
    refresh: bool = False  # ignore cached answers (and refresh the bootstrap)
    chain: bool = False  # walk up parent networks with extra queries
    chain_depth: int = 4
    deadline: float = 120.0  # seconds for the whole run
    timeout: float = 10.0  # per request
    retries: int = 3  # attempts after the first, for 429, 5xx, timeouts and broken connections
    backoff: float = 0.5  # first backoff, doubled each retry, with full jitter
    max_retry_after: float = 30.0  # a longer Retry-After gives up on the query rather than stall the run
    max_redirects: int = 3  # HTTP redirects and registry referrals per query
    cache_ttl: float = 7 * 24 * 3600.0
    cache_dir: Path | None = None  # None = paths.user_cache_dir()
    evidence_dir: Path | None = None
    bootstrap_max_age: float = 365 * 24 * 3600.0  # refresh the snapshot past this age (online only)
    query_nirs: bool = True  # ask NIRs that keep their own database (JPNIC, KRNIC, NIC.br) for the member

    @classmethod
    def from_env(cls, **overrides: object) -> RdapConfig:
        cfg = cls(
            bootstrap=os.environ.get("IPOWNER_RDAP_BOOTSTRAP") or None,
            rewrite=Rewriter.parse(os.environ.get("IPOWNER_RDAP_REWRITE")),
            limits=parse_limits(os.environ.get("IPOWNER_RDAP_LIMITS")),
        )
        for key, value in overrides.items():
            if value is not None:
                setattr(cfg, key, value)
        return cfg

    def limit(self, registry: str) -> Limit:
        return self.limits.get(registry) or self.limits["default"]
