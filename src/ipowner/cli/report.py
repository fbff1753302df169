"""``ipowner report``: captures or logs in, the ownership and jurisdiction report out."""

from __future__ import annotations

import click

from ipowner.cli._common import command_line, error_line, output_stream, pick_format
from ipowner.cli._process import few_collections
from ipowner.errors import UsageError
from ipowner.exitcodes import ExitCode
from ipowner.model.report import Report
from ipowner.render import formats, render
from ipowner.render.escape import terminal_safe
from ipowner.reports.policy import parse_rule

FORMATS = formats("report")


def policy_summary(rep: Report) -> None:
    """The offending destinations, on stderr, one line each."""
    if rep.policy is None or not rep.policy.fired:
        return
    n = len({o["address"] for o in rep.policy.offending})
    error_line(f"policy gate fired: {n} destination{'s' if n != 1 else ''} ({', '.join(rep.policy.rules)})")
    for o in rep.policy.offending:
        names = ", ".join(o["hostnames"][:3]) + (", ..." if len(o["hostnames"]) > 3 else "")
        click.echo(
            f"  {terminal_safe(o['address'])}  {terminal_safe(o['rule'])} = {terminal_safe(o['value'], 80)}"
            + (f"  [{terminal_safe(names, 120)}]" if names else ""),
            err=True,
        )


@click.command("report")
@click.argument("inputs", nargs=-1, metavar="INPUT...")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="table (default), json (ipowner.report/1), jsonl, csv, markdown, html; "
                   "with -o, guessed from the file's suffix.")
@click.option("-o", "--output", metavar="FILE", help="Write the report to FILE instead of stdout.")
@click.option("--offline", is_flag=True, help="Open no socket: embedded and local data only.")
@click.option("--mmdb", multiple=True, metavar="PATH", help="A MaxMind-format database to use as well (repeatable).")
@click.option("--no-system-mmdb", is_flag=True, help="Do not use databases found in the usual places.")
@click.option("--no-embedded", is_flag=True, help="Do not use the embedded database shipped with ipowner.")
@click.option("--no-rdap", is_flag=True, help="Ask no registry over RDAP: holder and registry chain from the RDAP cache only.")
@click.option("--cloud-ranges", multiple=True, metavar="FILE",
              help="A provider's published range file (AWS ip-ranges.json, Google cloud.json, Azure service "
                   "tags) for the region (repeatable). Never fetched by ipowner.")
@click.option("--device", multiple=True, metavar="ADDR", help="The device's address (repeatable), overriding the guess.")
@click.option("--fail-on", multiple=True, metavar="RULE",
              help="Exit 3 when a destination matches: location:CN,RU  holder-country:CN  holder:NAME  "
                   "unknown:holder|location (repeatable).")
def report_cmd(inputs: tuple[str, ...], fmt: str | None, output: str | None, offline: bool, mmdb: tuple[str, ...],
               no_system_mmdb: bool, no_embedded: bool, no_rdap: bool, cloud_ranges: tuple[str, ...],
               device: tuple[str, ...], fail_on: tuple[str, ...]) -> int:
    """Who holds and where are the servers in captures or logs: location, holder and registry, weighed by bytes.

    INPUT: pcap/pcapng captures, Zeek logs, PCAPdroid CSV, address lists (format detected from the content).
    Exit 3 when a --fail-on rule matches (it wins over 4, partial input).
    """
    from ipowner.reports.report import report  # imported here: other commands start faster

    if not inputs:
        raise UsageError("give at least one capture or log")
    rules = [parse_rule(r) for r in fail_on]
    fmt = pick_format(fmt, output)
    params = click.get_current_context().params
    with few_collections():  # the command owns the process: reading captures runs the collector less
        rep = report(list(inputs), offline=offline, mmdb=mmdb, use_embedded=not no_embedded,
                     discover=not no_system_mmdb, cloud_ranges=list(cloud_ranges), device=list(device) or None,
                     fail_on=rules, rdap=not no_rdap, command_line=command_line("report", params))
    for w in rep.warnings:
        error_line(w)
    if not rep.destinations and all(i.partial and not i.records for i in rep.provenance.inputs):
        return int(ExitCode.FAILURE)  # no input could be read at all: the lines above say why
    with output_stream(output) as stream:
        render(rep, fmt, stream)
    policy_summary(rep)
    if rep.policy is not None and rep.policy.fired:
        return int(ExitCode.POLICY)
    return int(ExitCode.PARTIAL if rep.partial else ExitCode.OK)
