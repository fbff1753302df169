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
from ipowner.exitcodes import ExitCode, combine
from ipowner.lookups.queries import AsQuery, BadQuery, Query, read_arguments
from ipowner.lookups.resolve import DEFAULT_TIMEOUT
from ipowner.model import ErrorKind
from ipowner.model.lookup import LookupResult, QueryError
from ipowner.render import formats

# Kept for callers of the earlier module: the progress bar and the summary line live in ``cli._rdap``.
_ProgressBar = ProgressBar
__all__ = ["PROGRESS_MIN", "lookup_cmd", "rdap_summary"]


@click.command("lookup")
@click.argument("queries", nargs=-1, metavar="ITEM...")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(formats("lookup")),
    default=None,
    help="table (default): for people; json: one ipowner.lookup/2 document; jsonl (or ndjson): one record "
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
    """Look up addresses, networks and hostnames: holder, registry chain, location, registration country, AS.

    \b
    ITEM is what you paste, read as the first of these that fits:
      address      8.8.8.8, 2001:db8::1, [2001:db8::1], fe80::1%eth0
      network      8.8.8.0/24, 8.8.8.0-8.8.8.255: a summary of the network
      AS number    AS15169, as15169
      FILE         an existing file: one item or free text per line
      with a port  1.1.1.1:53, [2001:db8::1]:443, dns.google:853
      URL          https://8.8.8.8/, https://example.com/path
      hostname     example.com; ips.txt. (trailing dot) is never a file
      free text    a log line: its addresses, networks and AS numbers

    "-" (or no ITEM) reads stdin as a file is read. An item that is none of these is one line on
    stderr and the run exits 4. One address gets a card; several get a row each (-v: a card each).
    A hostname gives one row per A/AAAA answer. Every fact names its source and that source's date.
    Holder and registry chain come from the registries over RDAP (one query per network, cached for a
    week; a registry's "no such network" for a day); with --offline or --no-rdap only cached answers
    are used.
    """
    from ipowner.lookups.asn import lookup_as
    from ipowner.lookups.lookup import lookup  # imported here: other commands start faster

    fmt = pick_format(fmt, output, "lookup")
    config = rdap_config(rdap_bootstrap=rdap_bootstrap, refresh=refresh, chain=chain, evidence=evidence,
                         deadline=deadline)
    args = list(queries) or ["-"]
    if "-" in args and (sys.stdin is None or sys.stdin.isatty()):
        raise UsageError("give addresses, networks or hostnames as arguments, or one per line on stdin")
    items: list[Query] = []
    bad: list[BadQuery] = []
    as_queries: list[AsQuery] = []
    for got in read_arguments(args, sys.stdin):
        if isinstance(got, BadQuery):
            bad.append(got)
        elif isinstance(got, AsQuery):
            as_queries.append(got)
        else:
            items.append(got)
    if not items and not bad and not as_queries:
        raise UsageError("no addresses, networks or hostnames given")

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
        ) if items else LookupResult()
    result.errors[:0] = [QueryError(b.text, ErrorKind.INVALID_ADDRESS, b.message) for b in bad]
    if as_queries and fmt not in formats("as"):
        raise UsageError(f"an AS answer is written as {', '.join(formats('as'))}, not {fmt}")
    documents = int(bool(items or bad)) + len(as_queries)
    if documents > 1 and fmt in ("json", "jsonl", "ndjson"):
        raise UsageError("an AS number is answered in a document of its own: give it alone for --format json")
    as_answers = [lookup_as(q.number, offline=offline, query=q.text, mmdb=mmdb, use_embedded=not no_embedded,
                            rdap=not no_rdap, rdap_config=config) for q in as_queries]
    for answer in as_answers:
        for message in answer.errors:
            note(message)
    report_problems(result)
    if config.evidence_dir is not None:
        from ipowner.reports.evidence import write_sources_json

        write_sources_json(config.evidence_dir, result.sources, generated=result.generated)
    if result.networks and fmt in ("jsonl", "ndjson", "csv", "tsv"):
        note(f"{len(result.networks)} network summar{'y is' if len(result.networks) == 1 else 'ies are'} not in "
             f"the {fmt} output (one row per address): --format json or the table has them")
    if result.records or result.networks or not as_answers:
        write_output(result, fmt, output, kind="lookup")
    for answer in as_answers:
        write_output(answer, fmt, output, kind="as")  # the AS answers' own document kind
    as_failed = sum(1 for a in as_answers if a.exit_code != ExitCode.OK)
    failed = len(result.errors) + sum(1 for r in result.records if r.errors) + as_failed
    answered = len(result.records) + len(result.networks) + len(as_answers) - as_failed
    return int(combine(answered=answered, failed=failed))


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
