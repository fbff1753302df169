"""`ipowner data`: every database in use, with its type, vendor, dates and licence."""

from __future__ import annotations

import sys

import click

from ipowner.cli._common import note, verbosity_options
from ipowner.render import formats


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
    type=click.Choice(formats("data")),
    default="table",
    show_default=True,
    help="Output format (json: ipowner.data/1).",
)
@verbosity_options
def data(mmdb_paths: tuple[str, ...], fmt: str) -> int:
    """List every database in use: path, type, vendor, build date, age, licence, and the embedded inputs.

    Databases are looked for in $IPOWNER_MMDB_PATH, the user data folder's mmdb/ and the system
    GeoIP folders. A database that cannot be opened is named on stderr and the exit code is 4.
    """
    # imported here: other commands start faster
    from ipowner.providers.housekeeping import data_status
    from ipowner.render import render

    status = data_status(mmdb_paths)
    for problem in status.problems:
        note(problem)
    render(status, fmt, sys.stdout, kind="data")
    return int(status.exit_code)
