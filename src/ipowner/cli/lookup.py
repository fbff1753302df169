"""``ipowner lookup``: what is known about addresses and hostnames, with sources."""

from __future__ import annotations

import sys
from typing import Any

import click

from ipowner.cli._common import (
    detail_line,
    note,
    output_option,
    pick_format,
    verbosity,
    verbosity_options,
    write_output,
)
from ipowner.cli._rdap import PROGRESS_MIN, ProgressBar, rdap_config, rdap_options, rdap_summary
from ipowner.errors import UsageError
from ipowner.lookups.resolve import DEFAULT_TIMEOUT
from ipowner.render import formats

# Kept for callers of the earlier module: the progress bar and the summary line live in ``cli._rdap``.
_ProgressBar = ProgressBar
__all__ = ["PROGRESS_MIN", "lookup_cmd", "rdap_summary"]


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
    type=click.Choice(formats("lookup")),
    default=None,
    help="table (default): for people; json: one ipowner.lookup/1 document; jsonl (or ndjson): one record "
         "per line; csv, tsv: flat columns. With -o, taken from the file's suffix.",
)
@output_option
@click.option("--offline", is_flag=True, help="Open no socket: hostnames are not resolved; addresses are answered from local data and the RDAP cache.")
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
@rdap_options
@verbosity_options
def lookup_cmd(
    queries: tuple[str, ...],
    fmt: str | None,
    output: str | None,
    offline: bool,
    mmdb: tuple[str, ...],
    no_system_mmdb: bool,
    no_embedded: bool,
    resolve_timeout: float,
    no_rdap: bool,
    rdap_bootstrap: str | None,
    refresh: bool,
    chain: bool,
    evidence: str | None,
    deadline: float,
) -> int:
    """Look up addresses and hostnames: holder, registry chain, location, registration country, origin AS.

    Give addresses or hostnames as arguments, or one per line on stdin (with "-" or no arguments); one AS
    number (AS15169) gives that AS: its name, ranges, registry and cloud provider (and its RDAP record online).
    A hostname gives one row per A/AAAA answer. Every fact names its source and that source's date.
    Holder and registry chain come from the registries over RDAP (one query per network, cached for a
    week; a registry's "no such network" for a day); with --offline or --no-rdap only cached answers
    are used.
    """
    from ipowner.lookups.asn import lookup_as, parse_as
    from ipowner.lookups.lookup import lookup  # imported here: other commands start faster

    fmt = pick_format(fmt, output, "lookup")
    config = rdap_config(rdap_bootstrap=rdap_bootstrap, refresh=refresh, chain=chain, evidence=evidence,
                         deadline=deadline)
    items = list(queries)
    if not items or items == ["-"]:
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("give addresses or hostnames as arguments, or one per line on stdin")
        items = _read_stdin()
    elif "-" in items:
        items = [q for q in items if q != "-"] + _read_stdin()
    if not items:
        raise UsageError("no addresses or hostnames given")
    if len(items) == 1 and (asn := parse_as(items[0])) is not None:  # one AS number: its own answer
        if fmt not in formats("as"):
            raise UsageError(f"an AS answer is written as {', '.join(formats('as'))}, not {fmt}")
        answer = lookup_as(asn, offline=offline, query=items[0].strip(), mmdb=mmdb, use_embedded=not no_embedded,
                           rdap=not no_rdap, rdap_config=config)
        for message in answer.errors:
            note(message)
        write_output(answer, fmt, output, kind="as")
        return int(answer.exit_code)

    with ProgressBar(enabled=verbosity() >= 0) as progress:
        result = lookup(
            items,
            offline=offline,
            mmdb=mmdb,
            use_embedded=not no_embedded,
            discover=not no_system_mmdb,
            resolve_timeout=resolve_timeout,
            rdap=not no_rdap,
            rdap_config=config,
            progress=progress,
        )
    report_problems(result)
    if config.evidence_dir is not None:
        from ipowner.reports.evidence import write_sources_json

        write_sources_json(config.evidence_dir, result.sources, generated=result.generated)
    write_output(result, fmt, output, kind="lookup")
    return int(result.exit_code)


def report_problems(result: Any) -> None:
    """Each problem of a lookup on stderr, except RDAP's per-address failures: those are counted in the
    summary line (each one is shown with ``-v``, and is in the record's ``errors``)."""
    from ipowner.providers.rdap import is_rdap_reason

    for e in result.errors:
        note(e.message)
    for rec in result.records:
        for m in rec.errors:
            line = f"{rec.query} ({rec.address}): {m}" if rec.query != rec.address else f"{rec.address}: {m}"
            (detail_line if is_rdap_reason(m) else note)(line)
    summary = rdap_summary(result.rdap)
    if summary:
        note(summary)
