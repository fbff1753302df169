"""Settings of an RDAP run: where the bootstrap comes from, URL rewrites, limits, deadline, cache.

Environment overrides (read by ``RdapConfig.from_env``):
``IPOWNER_RDAP_BOOTSTRAP`` (folder or base URL holding ipv4.json, ipv6.json, asn.json),
``IPOWNER_RDAP_REWRITE`` (comma-separated ``FROM=TO`` URL prefixes applied to every URL contacted),
``IPOWNER_RDAP_LIMITS`` (comma-separated ``registry=N/SECONDS[:CONCURRENCY]``, e.g. ``lacnic=10/60:1``),
``IPOWNER_RDAP_MAX_BYTES`` (the largest answer accepted, decoded: bytes or ``K``/``M``/``G``, e.g. ``8M``).
"""

from __future__ import annotations

import os
import re
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


# The largest answer accepted, counted on the decoded bytes. Recorded answers are at most 150 KB (an APNIC
# history); an ARIN entity listing every network of a large holder stays well under a megabyte. 8 MiB
# leaves room for answers padded with long free text while bounding what one answer costs in memory.
MAX_RESPONSE_BYTES = 8 * 1024 * 1024

_SIZE = re.compile(r"(\d+)\s*([KMG]?)(I?B)?", re.IGNORECASE)


def parse_size(text: str | None, default: int = MAX_RESPONSE_BYTES) -> int:
    """``IPOWNER_RDAP_MAX_BYTES``: a byte count, optionally with K, M or G (powers of 1024)."""
    if not text or not text.strip():
        return default
    m = _SIZE.fullmatch(text.strip())
    if m is None or int(m.group(1)) == 0:
        raise UsageError(f"IPOWNER_RDAP_MAX_BYTES: {text.strip()[:40]!r} is not a size such as 4M or 500K")
    return int(m.group(1)) * 1024 ** " KMG".index((m.group(2) or " ").upper())


def size_text(n: int) -> str:
    """A byte count as people write it: ``4 MiB``, ``512 KiB``, ``100 bytes``."""
    for unit, power in (("GiB", 3), ("MiB", 2), ("KiB", 1)):
        if n >= 1024**power and n % 1024**power == 0:
            return f"{n // 1024**power} {unit}"
    return f"{n} bytes"


# How long a negative answer (404, no object) is kept in the cache, in seconds.
NEGATIVE_TTL = 24 * 3600.0


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
    # A registry's "no such object" (HTTP 404, an RDAP 404 error object) is kept for a day: long enough
    # that a second run does not ask again, short enough that a block registered since is soon found.
    negative_ttl: float = NEGATIVE_TTL
    cache_dir: Path | None = None  # None = paths.user_cache_dir()
    evidence_dir: Path | None = None
    bootstrap_max_age: float = 365 * 24 * 3600.0  # refresh the snapshot past this age (online only)
    query_nirs: bool = True  # ask NIRs that keep their own database (JPNIC, KRNIC, NIC.br) for the member
    max_response_bytes: int = MAX_RESPONSE_BYTES  # larger answers are refused (decoded size), never cached

    @classmethod
    def from_env(cls, **overrides: object) -> RdapConfig:
        cfg = cls(
            bootstrap=os.environ.get("IPOWNER_RDAP_BOOTSTRAP") or None,
            rewrite=Rewriter.parse(os.environ.get("IPOWNER_RDAP_REWRITE")),
            limits=parse_limits(os.environ.get("IPOWNER_RDAP_LIMITS")),
            max_response_bytes=parse_size(os.environ.get("IPOWNER_RDAP_MAX_BYTES")),
        )
        for key, value in overrides.items():
            if value is not None:
                setattr(cfg, key, value)
        return cfg

    def limit(self, registry: str) -> Limit:
        return self.limits.get(registry) or self.limits["default"]
