"""``ipowner cache`` output: the cache's statistics (text or ``ipowner.cache/2``) and its export (JSON Lines)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from ipowner.model.cache import CacheEntry, CacheExport, CacheStats
from ipowner.model.serialize import epoch_iso
from ipowner.render.escape import terminal_safe
from ipowner.render.json import write_json, write_lines

FORMATS = ("table", "json")


def _when(ts: float | None) -> str:
    if ts is None:
        return "—"
    return (epoch_iso(float(int(ts))) or "—")  # whole seconds are enough for a person


def write_cache_stats(stats: CacheStats, fmt: str, stream: TextIO) -> None:
    if fmt == "json":
        write_json(stats.to_dict(), stream)
        return
    by_registry = ", ".join(f"{terminal_safe(k)} {v}" for k, v in stats.answers_by_registry.items())
    objects = ", ".join(f"{terminal_safe(k)} {v}" for k, v in stats.objects.items())
    lines = [
        f"path            {terminal_safe(stats.path)}",
        f"size            {stats.size_bytes} bytes",
        f"answers         {stats.answers} ({stats.answers_fresh} fresh, {stats.answers_leaf} for a whole leaf network)",
        "by registry     " + (by_registry or "—"),
        "objects         " + (objects or "—"),
        f"oldest          {_when(stats.oldest)}",
        f"newest          {_when(stats.newest)}",
        f"time to live    {stats.ttl_seconds / 86400:g} days",
    ]
    stream.write("\n".join(lines) + "\n")


def write_cache_export(entries: Iterable[CacheEntry], stream: TextIO) -> None:
    """One JSON line per entry; written as they come, so a large cache is never held in memory."""
    for entry in entries:
        write_lines(CacheExport([entry]).lines(), stream)


__all__ = ["FORMATS", "write_cache_export", "write_cache_stats"]
