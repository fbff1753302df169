"""``ipowner diff BEFORE AFTER``: what changed between two captures, logs or saved JSON reports."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from ipowner.cli._common import command_line, error_line, output_stream, pick_format
from ipowner.exitcodes import ExitCode
from ipowner.render import formats, render

if TYPE_CHECKING:
    from ipowner.model.report import Report


@click.command("diff")
@click.argument("before", metavar="BEFORE")
@click.argument("after", metavar="AFTER")
@click.option("--format", "fmt", type=click.Choice(formats("diff")), default=None,
              help="table (default), json (ipowner.diff/2), jsonl, csv, markdown, html.")
@click.option("-o", "--output", metavar="FILE", help="Write to FILE instead of stdout.")
@click.option("--offline", is_flag=True, help="Open no socket when a side has to be looked up.")
@click.option("--mmdb", multiple=True, metavar="PATH", help="A MaxMind-format database to use as well (repeatable).")
@click.option("--no-system-mmdb", is_flag=True, help="Do not use databases found in the usual places.")
@click.option("--no-embedded", is_flag=True, help="Do not use the embedded database shipped with ipowner.")
@click.option("--no-rdap", is_flag=True, help="Ask no registry over RDAP: holder and registry chain from the RDAP cache only.")
@click.option("--cloud-ranges", multiple=True, metavar="FILE", help="A provider's published range file (repeatable).")
@click.option("--device", multiple=True, metavar="ADDR", help="The device's address (repeatable).")
def diff_cmd(before: str, after: str, fmt: str | None, output: str | None, offline: bool, mmdb: tuple[str, ...],
             no_system_mmdb: bool, no_embedded: bool, no_rdap: bool, cloud_ranges: tuple[str, ...], device: tuple[str, ...]) -> int:
    """Destinations, hostnames and jurisdictions added and removed, and byte changes per jurisdiction.

    BEFORE and AFTER are each a capture, a log or a saved JSON report (`ipowner report --format json`).
    A saved report keeps the answers of its day; a capture or log is looked up now.
    """
    from ipowner.reports.diff import diff_reports, load_side
    from ipowner.reports.report import report  # imported here: other commands start faster

    fmt = pick_format(fmt, output)
    params = click.get_current_context().params
    partial = False

    def make(path: str) -> Report:
        nonlocal partial
        rep = report([path], offline=offline, mmdb=mmdb, use_embedded=not no_embedded, discover=not no_system_mmdb,
                     cloud_ranges=list(cloud_ranges), device=list(device) or None, rdap=not no_rdap,
                     command_line=command_line("diff", params))
        for w in rep.warnings:
            error_line(w)
        partial = partial or rep.partial
        return rep

    b, bk = load_side(before, make)
    a, ak = load_side(after, make)
    doc = diff_reports(b, a, before_kind=bk, after_kind=ak)
    doc.command_line = command_line("diff", params)
    with output_stream(output) as stream:
        render(doc, fmt, stream, kind="diff")
    return int(ExitCode.PARTIAL if partial else ExitCode.OK)
