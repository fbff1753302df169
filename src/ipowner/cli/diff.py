"""``ipowner diff BEFORE AFTER``: what changed between two captures, logs or saved JSON reports."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ipowner.cli._common import (
    command_line,
    error_line,
    note,
    output_option,
    pick_format,
    verbosity,
    verbosity_options,
    write_output,
)
from ipowner.cli._rdap import ProgressBar, rdap_config
from ipowner.cli.report import lookup_options, warn_and_detail
from ipowner.errors import CaptureError
from ipowner.exitcodes import ExitCode
from ipowner.model.traffic import nothing_read
from ipowner.render import formats
from ipowner.render.escape import terminal_safe

if TYPE_CHECKING:
    from ipowner.model.report import Report


@click.command("diff")
@click.argument("before", metavar="BEFORE")
@click.argument("after", metavar="AFTER")
@click.option("--format", "fmt", type=click.Choice(formats("diff")), default=None,
              help="table (default), json (ipowner.diff/2), jsonl, csv, tsv, markdown, html; with -o, taken "
                   "from the file's suffix.")
@output_option
@lookup_options
@click.option("--fail-on", multiple=True, metavar="RULE",
              help="Exit 3 when a change matches: new-destination  new-location-country[:CN,RU]  "
                   "new-holder-country[:CN]  new-domain[:DOMAIN]  bytes-up:N% (bytes sent to a location or "
                   "holder country up by more than N percent) (repeatable).")
@verbosity_options
def diff_cmd(before: str, after: str, fmt: str | None, output: str | None, offline: bool, mmdb: tuple[str, ...],
             no_system_mmdb: bool, no_embedded: bool, cloud_ranges: tuple[str, ...], device: tuple[str, ...],
             no_rdap: bool, rdap_bootstrap: str | None, refresh: bool, chain: bool, evidence: str | None,
             deadline: float, fail_on: tuple[str, ...]) -> int:
    """Destinations, hostnames and jurisdictions added and removed, and byte changes per jurisdiction.

    BEFORE and AFTER are each a capture, a log or a saved JSON report (`ipowner report --format json`).
    A saved report keeps the answers of its day; a capture or log is looked up now (with --evidence
    DIR, each side's registry answers go to DIR/before and DIR/after). Exit 3 when a --fail-on rule
    matches a change, for CI; the changes that matched are listed on stderr.
    """
    from ipowner.reports.diff import diff_reports, load_side
    from ipowner.reports.diff_rules import evaluate_diff, parse_diff_rule
    from ipowner.reports.report import report  # imported here: other commands start faster

    rules = [parse_diff_rule(r) for r in fail_on]
    fmt = pick_format(fmt, output, "diff")
    params = click.get_current_context().params
    partial = False

    def make_for(side: str):  # type: ignore[no-untyped-def]
        def make(path: str) -> Report:
            nonlocal partial
            folder = str(Path(evidence) / side) if evidence else None
            config = rdap_config(rdap_bootstrap=rdap_bootstrap, refresh=refresh, chain=chain, evidence=folder,
                                 deadline=deadline)
            with ProgressBar(enabled=verbosity() >= 0) as progress:
                rep = report([path], offline=offline, mmdb=mmdb, use_embedded=not no_embedded,
                             discover=not no_system_mmdb, cloud_ranges=list(cloud_ranges), device=list(device) or None,
                             rdap=not no_rdap, rdap_config=config, progress=progress,
                             command_line=command_line("diff", params))
            warn_and_detail(rep)
            if config.evidence_dir is not None:
                from ipowner.reports.evidence import write_sources_json

                write_sources_json(config.evidence_dir, rep.provenance.data_sources, generated=rep.provenance.generated)
            if not rep.destinations and nothing_read(rep.provenance.inputs):
                # one side unread would show everything as added or removed: no diff at all (exit 1)
                raise CaptureError(path, f"nothing could be read ({side}); no diff made")
            partial = partial or rep.partial
            return rep
        return make

    b, bk = load_side(before, make_for("before"))
    a, ak = load_side(after, make_for("after"))
    doc = diff_reports(b, a, before_kind=bk, after_kind=ak)
    doc.command_line = command_line("diff", params)
    write_output(doc, fmt, output, kind="diff")
    if rules:
        from ipowner.render.terminal.diff import summary

        gate = evaluate_diff(doc, rules)
        if not gate.fired:
            note(f"diff gate passed ({', '.join(gate.rules)}): {summary(doc)}")
        elif verbosity() >= 0:
            error_line(f"diff gate fired: {len(gate.findings)} change{'s' if len(gate.findings) != 1 else ''} "
                       f"matched ({', '.join(gate.rules)}); {summary(doc)}")
            for f in gate.findings:
                click.echo(f"  {terminal_safe(f.rule)}: {terminal_safe(f.key)}  {terminal_safe(f.detail, 300)}",
                           err=True)
        if gate.fired:
            return int(ExitCode.POLICY)
    return int(ExitCode.PARTIAL if partial else ExitCode.OK)
