"""``ipowner lookup``: what is known about addresses and hostnames, with sources."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click

from ipowner.cli._common import error_line, stdout
from ipowner.errors import UsageError
from ipowner.lookups.resolve import DEFAULT_TIMEOUT
from ipowner.render import formats, render


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
    default="table",
    show_default=True,
    help="table: for people; json: one ipowner.lookup/1 document; jsonl: one record per line; csv: flat columns.",
)
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
@click.option("--no-rdap", is_flag=True, help="Ask no registry: holder and chain come from the RDAP cache only.")
@click.option(
    "--rdap-bootstrap",
    metavar="PATH_OR_URL",
    help="RDAP bootstrap: a folder or base URL holding ipv4.json, ipv6.json, asn.json (env IPOWNER_RDAP_BOOTSTRAP).",
)
@click.option("--refresh", is_flag=True, help="Ignore cached RDAP answers (and refresh the bootstrap).")
@click.option("--chain", is_flag=True, help="Walk up parent networks with extra RDAP queries (bounded) for the full chain.")
@click.option(
    "--evidence",
    "evidence",
    type=click.Path(file_okay=False, writable=True),
    metavar="DIR",
    help="Keep every raw RDAP response (URL, time, SHA-256) and an index from each claim to its response.",
)
@click.option(
    "--deadline",
    type=click.FloatRange(min=1, max=86400),
    default=120.0,
    show_default=True,
    metavar="SECONDS",
    help="Give up on RDAP queries still unanswered after this long (the whole run).",
)
def lookup_cmd(
    queries: tuple[str, ...],
    fmt: str,
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

    Give addresses or hostnames as arguments, or one per line on stdin (with "-" or no arguments).
    A hostname gives one row per A/AAAA answer. Every fact names its source and that source's date.
    Holder and registry chain come from the registries over RDAP (one query per network, cached for a
    week); with --offline or --no-rdap only cached answers are used.
    """
    from pathlib import Path

    from ipowner.lookups.lookup import lookup  # imported here: other commands start faster
    from ipowner.providers.rdap import RdapConfig

    if evidence:
        try:
            Path(evidence).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"{evidence}: cannot write evidence here ({exc.strerror})") from None
    rdap_config = RdapConfig.from_env(
        bootstrap=rdap_bootstrap,
        refresh=refresh,
        chain=chain,
        evidence_dir=Path(evidence) if evidence else None,
        deadline=deadline,
    )
    items = list(queries)
    if not items or items == ["-"]:
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("give addresses or hostnames as arguments, or one per line on stdin")
        items = _read_stdin()
    elif "-" in items:
        items = [q for q in items if q != "-"] + _read_stdin()
    if not items:
        raise UsageError("no addresses or hostnames given")

    with _ProgressBar() as progress:
        result = lookup(
            items,
            offline=offline,
            mmdb=mmdb,
            use_embedded=not no_embedded,
            discover=not no_system_mmdb,
            resolve_timeout=resolve_timeout,
            rdap=not no_rdap,
            rdap_config=rdap_config,
            progress=progress,
        )
    for message in result.problems:
        error_line(message)
    summary = rdap_summary(result.rdap.to_dict() if result.rdap else None)
    if summary:
        error_line(summary)

    out = stdout()
    render(result, fmt, out)
    out.flush()
    return int(result.exit_code)


# Below this many addresses a run is short enough that a progress bar would only flicker.
PROGRESS_MIN = 20


class _ProgressBar:
    """A progress bar on stderr for long RDAP runs, only when stderr is a terminal."""

    def __init__(self) -> None:
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> Callable[[int, int], None] | None:
        if not sys.stderr.isatty():
            return None
        return self._update

    def _update(self, done: int, total: int) -> None:
        if total < PROGRESS_MIN:
            return
        if self._progress is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("RDAP"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                console=Console(stderr=True), transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task("rdap", total=total)
        self._progress.update(self._task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()


def rdap_summary(stats: dict[str, Any] | None) -> str | None:
    """One stderr line on what RDAP did: requests by kind, cache use, failures; None when it did nothing."""
    if not stats or not stats.get("addresses"):
        return None
    req = stats.get("requests") or {}
    total = stats.get("requests_total", 0)
    if stats.get("offline"):
        notes = stats.get("notes") or []  # cache faults: said even when nothing could be answered
        if not stats.get("from_cache"):
            return "; ".join(["RDAP (offline, cache only)", *notes]) if notes else None
        return "; ".join([f"RDAP (offline, cache only): {stats['from_cache']} of {stats['addresses']} addresses "
                          f"answered from cache, {stats.get('not_cached', 0)} not cached; no request made", *notes])
    n = stats["addresses"]
    parts = [f"RDAP: {n} address{'es' if n != 1 else ''}, {total} request{'s' if total != 1 else ''}"]
    if total:
        parts[0] += " (" + ", ".join(f"{n} {kind}" for kind, n in req.items() if n) + ")"
    parts.append(f"{stats.get('from_cache', 0)} from cache, {stats.get('deduplicated', 0)} shared a network")
    if stats.get("retries"):
        parts.append(f"{stats['retries']} retries, {stats.get('rate_limited', 0)} rate-limited")
    if stats.get("failed"):
        parts.append(f"{stats['failed']} failed")
    parts += stats.get("notes") or []
    return "; ".join(parts)
