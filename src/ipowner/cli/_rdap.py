"""The RDAP options every command that looks addresses up takes (``lookup``, ``report``, ``diff``), the
settings made from them, the progress bar, and the one stderr line on what RDAP did."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ipowner.errors import UsageError

if TYPE_CHECKING:
    from ipowner.providers.rdap import RdapConfig

F = TypeVar("F", bound=Callable[..., Any])


def rdap_options(f: F) -> F:
    """``--no-rdap``, ``--rdap-bootstrap``, ``--refresh``, ``--chain``, ``--evidence``, ``--deadline``."""
    for option in reversed((
        click.option("--no-rdap", is_flag=True,
                     help="Ask no registry: holder and registry chain come from the RDAP cache only."),
        click.option("--rdap-bootstrap", metavar="PATH_OR_URL",
                     help="RDAP bootstrap: a folder or base URL holding ipv4.json, ipv6.json, asn.json "
                          "(env IPOWNER_RDAP_BOOTSTRAP)."),
        click.option("--refresh", is_flag=True, help="Ignore cached RDAP answers (and refresh the bootstrap)."),
        click.option("--chain", is_flag=True,
                     help="Walk up parent networks with extra RDAP queries (bounded) for the full chain."),
        click.option("--evidence", "evidence", type=click.Path(file_okay=False, writable=True), metavar="DIR",
                     help="Keep every raw RDAP response (URL, time, SHA-256), an index from each claim to its "
                          "response, and the data sources with their dates (sources.json) in DIR."),
        click.option("--deadline", type=click.FloatRange(min=1, max=86400), default=120.0, show_default=True,
                     metavar="SECONDS", help="Give up on RDAP queries still unanswered after this long (the whole run)."),
    )):
        f = option(f)
    return f


def evidence_dir(path: str | None) -> Path | None:
    """The ``--evidence`` folder, created; a usage error when it cannot be."""
    if not path:
        return None
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write evidence here ({exc.strerror})") from None
    return Path(path)


def rdap_config(*, rdap_bootstrap: str | None, refresh: bool, chain: bool, evidence: str | Path | None,
                deadline: float) -> RdapConfig:
    """The RDAP settings from the environment and the options."""
    from ipowner.providers.rdap import RdapConfig

    folder = evidence_dir(str(evidence)) if evidence else None
    return RdapConfig.from_env(bootstrap=rdap_bootstrap, refresh=refresh, chain=chain, evidence_dir=folder,
                               deadline=deadline)


# Below this many addresses a run is short enough that a progress bar would only flicker.
PROGRESS_MIN = 20


class ProgressBar:
    """A progress bar on stderr for long RDAP runs, only when stderr is a terminal and not ``-q``."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> Callable[[int, int], None] | None:
        if not self.enabled or sys.stderr is None or not sys.stderr.isatty():
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


def rdap_summary(stats: Any) -> str | None:
    """One stderr line on what RDAP did: requests by kind, cache use, failures by kind; None when it did nothing."""
    from ipowner.providers.rdap import run_summary

    return run_summary(stats)
