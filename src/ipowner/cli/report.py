"""``ipowner report``: captures or logs in, the ownership and jurisdiction report out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

import click

from ipowner.cli._common import error_line
from ipowner.cli._process import few_collections
from ipowner.errors import UsageError
from ipowner.exitcodes import ExitCode
from ipowner.model.report import Report
from ipowner.render.escape import terminal_safe
from ipowner.reports.policy import parse_rule

FORMATS = ["table", "json", "jsonl", "csv", "markdown", "html"]
_SUFFIX = {".json": "json", ".jsonl": "jsonl", ".csv": "csv", ".md": "markdown", ".html": "html", ".htm": "html"}


def write_report(rep: Report, fmt: str, stream: TextIO) -> None:
    if fmt == "json":
        from ipowner.render.report_json import write_report_json

        write_report_json(rep, stream)
    elif fmt == "jsonl":
        from ipowner.render.report_json import write_report_jsonl

        write_report_jsonl(rep, stream)
    elif fmt == "csv":
        from ipowner.render.report_csv import write_report_csv

        write_report_csv(rep, stream)
    elif fmt == "markdown":
        from ipowner.render.markdown import write_markdown

        write_markdown(rep, stream)
    elif fmt == "html":
        from ipowner.render.html import write_html

        write_html(rep, stream)
    else:
        from ipowner.render.terminal_report import write_terminal_report

        write_terminal_report(rep, stream)


def pick_format(fmt: str | None, output: str | None) -> str:
    if fmt:
        return fmt
    if output and output != "-":
        return _SUFFIX.get(Path(output).suffix.lower(), "table")
    return "table"


def open_output(output: str | None) -> TextIO:
    if not output or output == "-":
        return click.get_text_stream("stdout")
    try:
        return open(output, "w", encoding="utf-8", newline="")  # noqa: SIM115 (closed by the caller)
    except OSError as exc:
        raise UsageError(f"{output}: cannot write ({exc.strerror or exc})") from None


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


def command_line(name: str, params: dict) -> list[str]:
    """The command as run, rebuilt from its parsed options (deterministic, whatever the caller)."""
    out = ["ipowner", name]
    positional = ("inputs", "before", "after")
    ordered = [k for k in positional if k in params] + [k for k in params if k not in positional]
    for key in ordered:
        value = params[key]
        flag = "--" + key.replace("_", "-")
        if key in ("inputs", "before", "after"):
            out += list(value) if isinstance(value, tuple) else [value]
        elif isinstance(value, bool):
            if value:
                out.append(flag)
        elif isinstance(value, tuple):
            for v in value:
                out += [flag, str(v)]
        elif value is not None:
            out += ["--format" if key == "fmt" else flag, str(value)]
    return out


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
    stream = open_output(output)
    try:
        write_report(rep, fmt, stream)
    finally:
        if stream is not sys.stdout and output and output != "-":
            stream.close()
        else:
            stream.flush()
    policy_summary(rep)
    if rep.policy is not None and rep.policy.fired:
        return int(ExitCode.POLICY)
    return int(ExitCode.PARTIAL if rep.partial else ExitCode.OK)
