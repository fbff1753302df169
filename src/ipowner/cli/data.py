"""`ipowner data`: every database in use, with its type, vendor, dates and licence."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from ipowner.cli._common import error_line
from ipowner.exitcodes import combine
from ipowner.render.escape import terminal_safe
from ipowner.render.json import write_json

if TYPE_CHECKING:
    from ipowner.providers.mmdb.reader import DatabaseInfo

SCHEMA_DATA = "ipowner.data/1"


def data_document(dbs: Sequence[DatabaseInfo], problems: Sequence[str]) -> dict[str, object]:
    return {
        "schema": SCHEMA_DATA,
        "databases": [d.to_dict() for d in dbs],
        "problems": list(problems),
    }


def _cell(value: object) -> str:
    return "" if value is None else terminal_safe(value)


def _print_table(dbs: Sequence[DatabaseInfo]) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # Text objects are never parsed as markup; terminal_safe makes controls and bidi characters visible.
    # Piped output gets a wide fixed width so that paths are not folded mid-word.
    console = Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 200)
    table = Table(title="Databases in use", title_justify="left")
    for col in ("path", "type", "vendor", "built", "age (days)", "licence", "IP", "origin"):
        table.add_column(col, overflow="fold")
    for d in dbs:
        table.add_row(
            *(
                Text(_cell(v))
                for v in (
                    d.path,
                    d.database_type,
                    d.vendor,
                    d.build_date.date().isoformat() if d.build_date else None,
                    d.age_days,
                    d.licence,
                    "v4+v6" if d.ip_version == 6 else "v4",
                    d.origin,
                )
            )
        )
    console.print(table)
    for d in dbs:
        if not d.sources:
            continue
        src = Table(title=Text(f"Inputs of {terminal_safe(d.path)}"), title_justify="left")
        for col in ("source", "data date", "licence", "credit"):
            src.add_column(col, overflow="fold")
        for s in d.sources:
            src.add_row(
                *(Text(_cell(v)) for v in (s.name, s.date.date().isoformat() if s.date else None, s.licence, s.credit))
            )
        console.print(src)
    if not dbs:
        console.print(Text("No database in use."))


@click.command("data")
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
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
    help="Output format.",
)
def data(mmdb_paths: tuple[str, ...], fmt: str) -> int:
    """List every database in use: path, type, vendor, build date, age, licence, and the embedded inputs.

    Databases are looked for in $IPOWNER_MMDB_PATH, the user data folder's mmdb/ and the system
    GeoIP folders. A database that cannot be opened is named on stderr and the exit code is 4.
    """
    from ipowner.providers.mmdb.reader import MmdbProvider  # imported here: other commands start faster

    provider = MmdbProvider(mmdb_paths)
    try:
        dbs = provider.databases()
        for problem in provider.problems:
            error_line(problem)
        if fmt == "json":
            write_json(data_document(dbs, provider.problems), sys.stdout)
        else:
            _print_table(dbs)
        return int(combine(answered=len(dbs), failed=len(provider.problems)))
    finally:
        provider.close()
