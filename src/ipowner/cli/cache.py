"""`ipowner cache stats|clear|export|import`: the RDAP cache (registry answers kept for a week)."""

from __future__ import annotations

import sys

import click

from ipowner.cli._common import verbosity, verbosity_options
from ipowner.exitcodes import combine
from ipowner.render import formats, render
from ipowner.render.escape import terminal_safe


@click.group("cache")
@verbosity_options
def cache() -> None:
    """The RDAP cache: answers by network range, entities, autnums (IPOWNER_CACHE_DIR overrides its place)."""


@cache.command("stats")
@verbosity_options
@click.option("--format", "fmt", type=click.Choice(formats("cache")), default="table", show_default=True,
              help="Output format (json: ipowner.cache/2).")
def stats_cmd(fmt: str) -> int:
    """What the cache holds: answers (fresh, leaf), objects by kind, size, oldest and newest."""
    from ipowner.providers.housekeeping import cache_status
    render(cache_status(), fmt, sys.stdout, kind="cache")
    return 0


@cache.command("clear")
@verbosity_options
@click.option("--expired", is_flag=True, help="Only entries older than the time to live.")
def clear_cmd(expired: bool) -> int:
    """Delete cached RDAP answers (all, or only expired ones). A damaged cache file is removed whole."""
    from ipowner.providers.housekeeping import cache_clear

    done = cache_clear(expired_only=expired)
    if verbosity() < 0:
        return 0
    if done.damaged is not None:
        click.echo(f"removed the damaged cache file ({terminal_safe(done.damaged)})", err=True)
    else:
        click.echo(f"removed {done.removed} {'expired ' if expired else ''}entries", err=True)
    return 0


@cache.command("export")
@verbosity_options
def export_cmd() -> int:
    """Every cached entry as JSON Lines on stdout (raw registry answers included), for audit or backup."""
    from ipowner.providers.housekeeping import cache_export
    render(cache_export(), "jsonl", sys.stdout, kind="cache-export")
    return 0


@cache.command("import")
@verbosity_options
@click.argument("file", metavar="FILE")
def import_cmd(file: str) -> int:
    """Add what `cache export` wrote (FILE, or - for stdin) to the cache: look up online once, answer offline
    elsewhere. Every row is checked as a registry's answer is; rows that fail are skipped and counted.
    Exit 4 when rows were skipped, 1 when none was imported."""
    from ipowner.providers.housekeeping import cache_import

    done = cache_import(file)
    if verbosity() >= 0 or done.skipped:
        click.echo(terminal_safe(done.summary(), 2000), err=True)
    return int(combine(answered=done.answers + done.objects + done.unchanged, failed=done.skipped_total))
