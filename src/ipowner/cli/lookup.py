"""``ipowner lookup``: what is known about addresses and hostnames, with sources."""

from __future__ import annotations

import sys

import click

from ipowner._lookup import lookup
from ipowner.cli._common import error_line
from ipowner.errors import UsageError
from ipowner.resolve import DEFAULT_TIMEOUT


def _read_stdin() -> list[str]:
    out = []
    for line in sys.stdin:
        s = line.strip()
        if s and not s.startswith("#"):
            out.append(s)
    return out


@click.command("lookup")
@click.argument("queries", nargs=-1, metavar="ADDR|HOSTNAME...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "jsonl", "csv"]),
    default="table",
    show_default=True,
    help="table: for people; json: one ipowner.lookup/1 document; jsonl: one record per line; csv: flat columns.",
)
@click.option("--offline", is_flag=True, help="Open no socket: hostnames are not resolved; addresses are answered.")
@click.option(
    "--mmdb",
    "mmdb",
    multiple=True,
    metavar="PATH",
    help="A MaxMind-format database to use as well (repeatable); the most specific answer per field wins.",
)
@click.option(
    "--no-system-mmdb",
    is_flag=True,
    help="Do not use databases found in the usual places (/usr/share/GeoIP, the user data dir, ...).",
)
@click.option("--no-embedded", is_flag=True, help="Do not use the embedded database shipped with ipowner.")
@click.option(
    "--resolve-timeout",
    type=click.FloatRange(min=0.1, max=120),
    default=DEFAULT_TIMEOUT,
    show_default=True,
    metavar="SECONDS",
    help="Give up on hostname resolution when no answer has come for this long.",
)
def lookup_cmd(
    queries: tuple[str, ...],
    fmt: str,
    offline: bool,
    mmdb: tuple[str, ...],
    no_system_mmdb: bool,
    no_embedded: bool,
    resolve_timeout: float,
) -> int:
    """Look up addresses and hostnames: special-purpose ranges, location, registration country, origin AS.

    Give addresses or hostnames as arguments, or one per line on stdin (with "-" or no arguments).
    A hostname gives one row per A/AAAA answer. Every fact names its source and that source's date.
    """
    items = list(queries)
    if not items or items == ["-"]:
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("give addresses or hostnames as arguments, or one per line on stdin")
        items = _read_stdin()
    elif "-" in items:
        items = [q for q in items if q != "-"] + _read_stdin()
    if not items:
        raise UsageError("no addresses or hostnames given")

    result = lookup(
        items,
        offline=offline,
        mmdb=mmdb,
        use_embedded=not no_embedded,
        discover=not no_system_mmdb,
        resolve_timeout=resolve_timeout,
    )
    for message in result.problems:
        error_line(message)

    out = click.get_text_stream("stdout")
    if fmt == "json":
        from ipowner.render.json import write_json

        write_json(result.to_dict(), out)
    elif fmt == "jsonl":
        from ipowner.model import SCHEMA_LOOKUP
        from ipowner.render.json import write_jsonl

        write_jsonl((r.to_dict() for r in result.records), SCHEMA_LOOKUP, out)
    elif fmt == "csv":
        from ipowner.render.lookup_csv import write_lookup_csv

        write_lookup_csv(result.records, out)
    else:
        from rich.console import Console

        from ipowner.render.terminal_lookup import render_lookup

        if result.records:
            render_lookup(result, Console(file=out, highlight=False, soft_wrap=False))
    out.flush()
    return int(result.exit_code)
