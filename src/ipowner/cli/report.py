"""``ipowner report``: captures or logs in, the ownership and jurisdiction report out."""

from __future__ import annotations

import re
from typing import Any

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
from ipowner.cli._process import few_collections
from ipowner.cli._rdap import ProgressBar, rdap_config, rdap_options
from ipowner.errors import IpownerError, UsageError
from ipowner.exitcodes import ExitCode
from ipowner.model.report import Report
from ipowner.model.traffic import nothing_read
from ipowner.render import formats
from ipowner.render.escape import terminal_safe
from ipowner.reports.policy import parse_rule

FORMATS = formats("report")


def policy_summary(rep: Report) -> None:
    """The offending destinations, on stderr, one line each (unless -q)."""
    if rep.policy is None or not rep.policy.fired or verbosity() < 0:
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


def lookup_options(f):  # type: ignore[no-untyped-def]
    """The data options of every command that looks destinations up (``report``, ``diff``)."""
    for option in reversed((
        click.option("--offline", is_flag=True, help="Open no socket: embedded and local data, and the RDAP cache."),
        click.option("--mmdb", multiple=True, metavar="PATH", help="A MaxMind-format database to use as well (repeatable)."),
        click.option("--no-system-mmdb", is_flag=True, help="Do not use databases found in the usual places."),
        click.option("--no-embedded", is_flag=True, help="Do not use the embedded database shipped with ipowner."),
        click.option("--cloud-ranges", multiple=True, metavar="FILE",
                     help="A provider's published range file (AWS ip-ranges.json, Google cloud.json, Azure service "
                          "tags) for the region (repeatable). Never fetched by ipowner."),
        click.option("--device", multiple=True, metavar="ADDR",
                     help="The device's address (repeatable), overriding the guess."),
    )):
        f = option(f)
    return rdap_options(f)


@click.command("report")
@click.argument("inputs", nargs=-1, metavar="INPUT...")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="table (default), json (ipowner.report/3), jsonl, csv, tsv, markdown, html; "
                   "with -o, taken from the file's suffix.")
@output_option
@lookup_options
@click.option("--fail-on", multiple=True, metavar="RULE",
              help="Exit 3 when a destination matches: location:CN,RU  holder-country:CN  holder:NAME  "
                   "unknown:holder|location (repeatable).")
@click.option("--engine", type=click.Choice(["auto", "python", "duckdb"]), default="auto", show_default=True,
              help="python: in memory; duckdb: destinations judged in batches, rolled up in SQL, memory bounded "
                   "(the 'scale' extra; writes json and jsonl); auto: DuckDB from 200,000 destinations when "
                   "installed and the format is json or jsonl.")
@click.option("--memory-limit", default="512MB", show_default=True, metavar="SIZE",
              help="DuckDB engine: DuckDB's memory limit; past it, the spool's sorts and sums spill to --temp-dir.")
@click.option("--temp-dir", type=click.Path(file_okay=False), metavar="DIR",
              help="DuckDB engine: where the spool and DuckDB's spill files go (default: the system's).")
@verbosity_options
def report_cmd(inputs: tuple[str, ...], fmt: str | None, output: str | None, offline: bool, mmdb: tuple[str, ...],
               no_system_mmdb: bool, no_embedded: bool, cloud_ranges: tuple[str, ...], device: tuple[str, ...],
               no_rdap: bool, rdap_bootstrap: str | None, refresh: bool, chain: bool, evidence: str | None,
               deadline: float, fail_on: tuple[str, ...], engine: str, memory_limit: str, temp_dir: str | None) -> int:
    """Who holds and where are the servers in captures or logs: location, holder and registry, weighed by bytes.

    INPUT: pcap/pcapng captures, Zeek logs, PCAPdroid CSV, address lists (format detected from the content).
    Exit 3 when a --fail-on rule matches (it wins over 4, partial input). CSV and TSV hold one row per
    destination; with -o FILE.csv the rollups and the sources go to FILE.rollups.csv and FILE.sources.csv.
    --evidence DIR keeps the raw registry answers and the data sources' dates beside the report.
    --engine duckdb (or auto past 200,000 destinations) spools the judged destinations to DuckDB and writes
    the same json/jsonl documents as the Python engine within --memory-limit.
    """
    from ipowner.reports.report import read_traffic, report  # imported here: other commands start faster

    if not inputs:
        raise UsageError("give at least one capture or log")
    rules = [parse_rule(r) for r in fail_on]
    fmt = pick_format(fmt, output, "report")
    if engine == "duckdb":
        _duckdb_usable(fmt)
    if not re.fullmatch(r"\d+(\.\d+)?\s*([KMGT]i?B|B)", memory_limit.strip(), re.IGNORECASE):
        raise UsageError(f"--memory-limit {memory_limit!r}: a size such as 512MB or 2GB")
    params = click.get_current_context().params
    config = rdap_config(rdap_bootstrap=rdap_bootstrap, refresh=refresh, chain=chain, evidence=evidence,
                         deadline=deadline)
    options: dict[str, Any] = dict(offline=offline, mmdb=mmdb, use_embedded=not no_embedded,
                                   discover=not no_system_mmdb, cloud_ranges=list(cloud_ranges), fail_on=rules,
                                   rdap=not no_rdap, rdap_config=config, command_line=command_line("report", params))
    with few_collections(), ProgressBar(enabled=verbosity() >= 0) as progress:  # the command owns the process: reading captures runs the collector less
        if engine == "python":
            rep = report(list(inputs), device=list(device) or None, progress=progress, **options)
        else:
            tr = read_traffic(list(inputs), list(device) or None)
            if engine == "duckdb" or _auto_duckdb(len(tr.destinations), fmt):
                return _duckdb_report(tr, fmt, output, config, options, progress, memory_limit, temp_dir)
            rep = report(tr, progress=progress, **options)
    warn_and_detail(rep)
    if not rep.destinations and nothing_read(rep.provenance.inputs):
        return int(ExitCode.FAILURE)  # no input could be read at all: the lines above say why
    if config.evidence_dir is not None:
        from ipowner.reports.evidence import write_sources_json

        write_sources_json(config.evidence_dir, rep.provenance.data_sources, generated=rep.provenance.generated)
    write_output(rep, fmt, output, kind="report")
    policy_summary(rep)
    if rep.policy is not None and rep.policy.fired:
        return int(ExitCode.POLICY)
    return int(ExitCode.PARTIAL if rep.partial else ExitCode.OK)


def _duckdb_usable(fmt: str) -> None:
    """An explicit ``--engine duckdb``: the extra installed and a format it writes, else exit 2."""
    from ipowner.engines.extra import require_scale
    from ipowner.engines.report_duck import FORMATS as DUCK_FORMATS

    require_scale("--engine duckdb")
    if fmt not in DUCK_FORMATS:
        raise UsageError(f"--engine duckdb writes {' and '.join(DUCK_FORMATS)} (--format, or -o FILE.json), not {fmt}")


def _auto_duckdb(destinations: int, fmt: str) -> bool:
    """``--engine auto``: DuckDB from ``AUTO_FROM`` destinations, when it is installed and writes ``fmt``."""
    from ipowner.engines.extra import INSTALL, scale_available
    from ipowner.engines.report_duck import AUTO_FROM
    from ipowner.engines.report_duck import FORMATS as DUCK_FORMATS

    if destinations < AUTO_FROM:
        return False
    if not scale_available():
        note(f"{destinations} destinations: the Python engine (the DuckDB engine needs the 'scale' extra: {INSTALL})")
        return False
    if fmt not in DUCK_FORMATS:
        note(f"{destinations} destinations: the Python engine (the DuckDB engine writes "
             f"{' and '.join(DUCK_FORMATS)}, not {fmt})")
        return False
    return True


def _duckdb_report(tr: Any, fmt: str, output: str | None, config: Any, options: dict[str, Any], progress: Any,
                   memory_limit: str, temp_dir: str | None) -> int:
    import duckdb

    try:
        return _spooled(tr, fmt, output, config, options, progress, memory_limit, temp_dir)
    except duckdb.OutOfMemoryException as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise IpownerError(f"the duckdb engine needs more than --memory-limit {memory_limit} ({reason})") from None


def _spooled(tr: Any, fmt: str, output: str | None, config: Any, options: dict[str, Any], progress: Any,
             memory_limit: str, temp_dir: str | None) -> int:
    from ipowner.cli._common import detail_line, output_stream
    from ipowner.engines.report_duck import spool_report
    from ipowner.render.report_stream import encoder, write_spooled

    n = len(tr.destinations)
    with spool_report(tr, encode=encoder(fmt), progress=progress, memory_limit=memory_limit, temp_dir=temp_dir,
                      **options) as spooled:
        rep = spooled.head
        for w in rep.warnings:
            note(w)
        if not n and nothing_read(rep.provenance.inputs):
            return int(ExitCode.FAILURE)
        if config.evidence_dir is not None:
            from ipowner.reports.evidence import write_sources_json

            write_sources_json(config.evidence_dir, rep.provenance.data_sources, generated=rep.provenance.generated)
        with output_stream(output) as stream:
            write_spooled(spooled, fmt, stream)
    detail_line(f"{n} destinations (duckdb engine)")
    policy_summary(rep)
    if rep.policy is not None and rep.policy.fired:
        return int(ExitCode.POLICY)
    return int(ExitCode.PARTIAL if rep.partial else ExitCode.OK)


def warn_and_detail(rep: Report) -> None:
    """The report's warnings on stderr (unless -q); with -v, each address's own failure too."""
    from ipowner.cli._common import detail_line

    for w in rep.warnings:
        note(w)
    if verbosity() >= 1:
        for d in rep.destinations:
            if d.record is not None:
                for m in d.record.errors:
                    detail_line(f"{d.address}: {m}")
