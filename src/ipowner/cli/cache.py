"""`ipowner cache stats|clear|export`: the RDAP cache (registry answers kept for a week)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import click

from ipowner.render.escape import terminal_safe
from ipowner.render.json import write_json

if TYPE_CHECKING:
    from ipowner.providers.rdap import RdapCache

SCHEMA_CACHE = "ipowner.cache/1"


def _open(ttl_days: float | None = None) -> RdapCache:
    from ipowner.providers.rdap import RdapCache

    return RdapCache(ttl=(ttl_days or 7) * 86400.0)


def _when(ts: float | None) -> str:
    if ts is None:
        return "—"
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@click.group("cache")
def cache() -> None:
    """The RDAP cache: answers by network range, entities, autnums (IPOWNER_CACHE_DIR overrides its place)."""


@cache.command("stats")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def stats_cmd(fmt: str) -> int:
    """What the cache holds: answers (fresh, leaf), objects by kind, size, oldest and newest."""
    c = _open()
    try:
        st = c.stats()
    finally:
        c.close()
    out = click.get_text_stream("stdout")
    if fmt == "json":
        write_json({"schema": SCHEMA_CACHE, **st}, out)
        return 0
    lines = [
        f"path            {terminal_safe(st['path'])}",
        f"size            {st['size_bytes']} bytes",
        f"answers         {st['answers']} ({st['answers_fresh']} fresh, {st['answers_leaf']} for a whole leaf network)",
        "by registry     " + (", ".join(f"{terminal_safe(k)} {v}" for k, v in st["answers_by_registry"].items()) or "—"),
        "objects         " + (", ".join(f"{terminal_safe(k)} {v}" for k, v in st["objects"].items()) or "—"),
        f"oldest          {_when(st['oldest'])}",
        f"newest          {_when(st['newest'])}",
        f"time to live    {st['ttl_seconds'] / 86400:g} days",
    ]
    click.echo("\n".join(lines))
    return 0


@cache.command("clear")
@click.option("--expired", is_flag=True, help="Only entries older than the time to live.")
def clear_cmd(expired: bool) -> int:
    """Delete cached RDAP answers (all, or only expired ones). A damaged cache file is removed whole."""
    from ipowner import paths
    from ipowner.providers.rdap import CACHE_FILE as FILE_NAME
    from ipowner.providers.rdap import CacheError

    try:
        c = _open()
    except CacheError as exc:
        if expired:
            raise
        removed = [p for p in paths.user_cache_dir().glob(FILE_NAME + "*") if p.is_file()]
        for p in removed:
            p.unlink()
        click.echo(f"removed the damaged cache file ({terminal_safe(exc)})", err=True)
        return 0
    try:
        n = c.clear(expired_only=expired)
    finally:
        c.close()
    click.echo(f"removed {n} {'expired ' if expired else ''}entries", err=True)
    return 0


@cache.command("export")
def export_cmd() -> int:
    """Every cached entry as JSON Lines on stdout (raw registry answers included), for audit or backup."""
    c = _open()
    out = click.get_text_stream("stdout")
    try:
        for row in c.export():
            out.write(json.dumps({"schema": SCHEMA_CACHE, **row}, ensure_ascii=True, separators=(",", ":")) + "\n")
    finally:
        c.close()
    return 0
