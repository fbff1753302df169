"""One line on what an RDAP run did: requests by kind, cache use, and the failures counted by kind.

Each address that could not be answered keeps its own reason (in its record's ``errors``, shown with
``-v``); the line counts them per kind of failure, so a run of 500 addresses with 40 misses says so in
one line, not forty.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def _n(count: int, word: str, plural: str | None = None) -> str:
    return f"{count} {word if count == 1 else (plural or word + 's')}"


def failures_text(failures: Mapping[str, int], negative_cached: int = 0) -> str:
    """ "3 not answered: 2 no registry object (404; 1 remembered from an earlier run), 1 timed out"."""
    total = sum(failures.values())
    parts = []
    for kind, count in sorted(failures.items(), key=lambda kv: (-kv[1], kv[0])):
        text = f"{count} {kind}"
        if negative_cached and kind.startswith("no registry object"):
            text += f", {negative_cached} of them remembered from an earlier run"
        parts.append(text)
    return f"{total} not answered: " + ", ".join(parts)


def run_summary(run: Mapping[str, Any] | Any | None) -> str | None:
    """The line for an RDAP run (a lookup's ``rdap``: ``RdapRun``, its JSON object, or
    ``RunStats.to_dict()``); None when it did nothing."""
    stats: Mapping[str, Any] | None
    if run is None or isinstance(run, Mapping):
        stats = run
    else:  # an RdapRun: its failures by kind are not in its JSON object
        stats = {**run.to_dict(), "failures": dict(getattr(run, "failures", {}) or {}),
                 "negative_cached": getattr(run, "negative_cached", 0)}
    if not stats or not stats.get("addresses"):
        return None
    req = stats.get("requests") or {}
    total = stats.get("requests_total", 0)
    notes = list(stats.get("notes") or [])
    failures = stats.get("failures") or {}
    if stats.get("offline"):
        if not stats.get("from_cache"):
            return "; ".join(["RDAP (offline, cache only)", *notes]) if notes else None
        parts = [f"RDAP (offline, cache only): {stats['from_cache']} of {stats['addresses']} addresses "
                 f"answered from cache, {stats.get('not_cached', 0)} not cached; no request made"]
        if failures:
            parts.append(failures_text(failures, int(stats.get("negative_cached") or 0)))
        return "; ".join([*parts, *notes])
    n = stats["addresses"]
    parts = [f"RDAP: {_n(n, 'address', 'addresses')}, {_n(total, 'request')}"]
    if total:
        parts[0] += " (" + ", ".join(f"{c} {kind}" for kind, c in req.items() if c) + ")"
    parts.append(f"{stats.get('from_cache', 0)} from cache, {stats.get('deduplicated', 0)} shared a network")
    if stats.get("retries"):
        parts.append(f"{stats['retries']} retries, {stats.get('rate_limited', 0)} rate-limited")
    if failures:
        parts.append(failures_text(failures, int(stats.get("negative_cached") or 0)))
    elif stats.get("failed"):
        parts.append(f"{stats['failed']} failed")
    return "; ".join([*parts, *notes])


def is_rdap_reason(message: str) -> bool:
    """Whether a record's error is an RDAP failure (the provider starts every such reason with "RDAP")."""
    return message.startswith("RDAP")
