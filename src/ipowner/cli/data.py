"""`ipowner data`: every database in use, the registry table's and the cloud snapshot's sources; `ipowner data update` refreshes them."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from ipowner.cli._common import note, verbosity, verbosity_options
from ipowner.exitcodes import ExitCode
from ipowner.render import formats

if TYPE_CHECKING:
    from ipowner.datasets.update import EmbeddedChange


@click.group("data", invoke_without_command=True)
@click.option(
    "--mmdb",
    "mmdb_paths",
    multiple=True,
    metavar="PATH",
    help="A MaxMind-format database to use besides the discovered ones and the embedded default (repeatable).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(formats("data")),
    default="table",
    show_default=True,
    help="Output format (json: ipowner.data/3).",
)
@verbosity_options
@click.pass_context
def data(ctx: click.Context, mmdb_paths: tuple[str, ...], fmt: str) -> int | None:
    """List every database in use (path, type, vendor, build date, age, licence, the embedded inputs), each
    source of the registry table and each provider's range file in the cloud snapshot (date, age, licence or
    terms), and which of them are due for `ipowner data update` (older than 30 days).

    Databases are looked for in $IPOWNER_MMDB_PATH, the user data folder's mmdb/ and the system
    GeoIP folders. A database that cannot be opened is named on stderr and the exit code is 4.
    """
    if ctx.invoked_subcommand is not None:
        return None
    # imported here: other commands start faster
    from ipowner.providers.housekeeping import data_status
    from ipowner.render import render

    status = data_status(mmdb_paths)
    for problem in status.problems:
        note(problem)
    render(status, fmt, sys.stdout, kind="data")
    return int(status.exit_code)


@data.command("update")
@click.option("--mirror", metavar="URL", default=None,
              help="Fetch every input from this mirror base instead of its publisher: <URL>/<host>/<path> "
                   "(default: $IPOWNER_DATA_MIRROR, else the publishers).")
@click.option("--offline", is_flag=True, help="Fetch nothing: only say which sources are due.")
@verbosity_options
def update_cmd(mirror: str | None, offline: bool) -> int:
    """Fetch the RIRs' delegation statistics, the providers' range files and the embedded database's npm
    packages, check them (published MD5, header counts, parse; the npm registry's sha512 integrity, sizes),
    rebuild the registry table and, when a package changed, the embedded database in the user data folder and
    swap them in, keeping the previous ones. Prints what changed. Exit 4 when some inputs could not be used, 1
    when none could."""
    from ipowner.datasets.update import update
    from ipowner.errors import IpownerError, UsageError
    from ipowner.render.escape import terminal_safe

    if offline:
        from ipowner.providers.housekeeping import data_status

        due = data_status(discover=False).due
        click.echo("offline: nothing fetched" + (f"; due: {'; '.join(terminal_safe(d) for d in due)}" if due else ""),
                   err=True)
        return int(ExitCode.OK)
    quiet = verbosity() < 0
    try:
        result = update(mirror=mirror, progress=None if quiet else (lambda m: click.echo(terminal_safe(m), err=True)))
    except UsageError:
        raise
    except IpownerError as exc:
        note(str(exc))
        return int(ExitCode.FAILURE)
    for f in result.fetched:
        state = "ok" if f.ok else "FAILED"
        when = f" ({f.date.isoformat()})" if f.date else ""
        click.echo(f"{state:6} {terminal_safe(f.name)}{when}: {terminal_safe(f.note, 600)}")
    for w in result.warnings:
        note(w)
    for r in result.registries:
        before = r.before.isoformat() if r.before else "none"
        after = r.after.isoformat() if r.after else "none"
        change = "unchanged" if r.before == r.after else f"{before} -> {after}"
        click.echo(f"{terminal_safe(r.registry)}: {change}")
    click.echo(f"ranges: {result.added} added, {result.removed} removed; table {terminal_safe(result.table or '')}"
               + (f" (previous kept as {terminal_safe(result.previous)})" if result.previous else ""))
    if result.cloud:
        click.echo(f"cloud snapshot: {terminal_safe(result.cloud)}")
    if result.embedded is not None:
        _print_embedded(result.embedded)
    return int(ExitCode.PARTIAL if result.failed else ExitCode.OK)


def _version(version: str | None, when: object) -> str:
    from ipowner.render.escape import terminal_safe

    if version is None:
        return "none"
    return terminal_safe(version, 80) + (f" ({when})" if when else "")


def _print_embedded(change: EmbeddedChange) -> None:
    """The embedded database's lines of `ipowner data update`: package versions, range counts, where it is."""
    from ipowner.render.escape import terminal_safe

    for p in change.packages:
        before, after = _version(p.before, p.before_date), _version(p.after, p.after_date)
        click.echo(f"{terminal_safe(p.package, 214)}: "
                   + (f"unchanged, {after}" if p.before == p.after else f"{before} -> {after}"))
    if not change.rebuilt:
        click.echo(f"embedded database: {terminal_safe(change.note, 600)}; in use: {terminal_safe(change.path or '')}")
        return
    parts = []
    for key in sorted(set(change.ranges_before) | set(change.ranges_after)):
        old, new = change.ranges_before.get(key), change.ranges_after.get(key)
        if old is None or new is None:
            parts.append(f"{terminal_safe(key, 40)} {old if old is not None else 'none'} -> "
                         f"{new if new is not None else 'none'}")
        else:
            parts.append(f"{terminal_safe(key, 40)} {old:,} -> {new:,} ({new - old:+,})")
    if change.networks_before is not None and change.networks_after is not None:
        parts.append(f"networks {change.networks_before:,} -> {change.networks_after:,}")
    click.echo("embedded ranges kept: " + "; ".join(parts))
    kept = (f"previous kept as {terminal_safe(change.previous)}" if change.previous
            else "the shipped database stays as it was")
    click.echo(f"embedded database: rebuilt, {terminal_safe(change.path or '')} ({kept})")
