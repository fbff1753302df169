"""``ReportView``: a report for the terminal (rich): destinations with verdicts, rollups, sources.

Laid out for 80 columns and up (``_console``): the destination table is shown whole when it fits,
else each destination is a first line (rank, address, bytes, location) with its holder, registry, AS,
cloud and hostnames folded into detail lines. Provenance is one line per data source and per input;
``verbose`` adds the full provenance table, every hostname and the inputs' SHA-256.

Untrusted text reaches rich only as ``Text`` built from ``terminal_safe`` output, so neither
control sequences nor rich markup in registry data or hostnames can act on the terminal.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TextIO

from rich import box
from rich.console import Console, ConsoleOptions, RenderableType
from rich.table import Table
from rich.text import Text

from ipowner.model.report import Report
from ipowner.model.serialize import epoch_iso, iso
from ipowner.render.escape import terminal_safe
from ipowner.render.report_rows import (
    ROLLUP_TITLES,
    byte_kind_text,
    destination_rows,
    human_bytes,
    provenance_items,
)
from ipowner.render.terminal._console import (
    Col,
    detail,
    emit,
    fits,
    safe,
    stacked,
    title,
    wrapped,
)
from ipowner.reports.freshness import age_note

FOLD = 32  # the wide table folds its holder and AS columns at this width
ROWS = 100  # destinations shown unless verbose (the rest are counted); every other format lists them all
ROLLUP_ROWS = 25
NAMES = 3  # hostnames shown per destination (the strongest evidence first); verbose shows all


def holder_text(r: dict[str, Any]) -> str:
    """ "Google LLC (US)", "X (?) inferred", "unknown" (internet), "-" (peers, which have no holder to find)."""
    if r["holder"]:
        return f"{r['holder']} ({r['holder_country'] or '?'})" + (" inferred" if r["holder_inferred"] else "")
    return "unknown" if r["scope"] == "internet" else "-"


REGISTRY_FOLD = 11  # the registry column's width: "2014-06-30," is its longest word


def registry_text(r: dict[str, Any]) -> str | None:
    """The registry (RIR > NIR), with its basis and date when no registry answered."""
    names = " > ".join(x for x in (r["registry"], r["nir"]) if x)
    if r.get("registry_uncertain"):
        return f"{names} (uncertain)"
    if not r["nir"] and r.get("registry_basis"):
        return r["registry_basis"]
    return names or None


def as_text(r: dict[str, Any]) -> str | None:
    return f"AS{r['asn']} {r['as_name'] or ''}".strip() if r["asn"] is not None else None


def cloud_text(r: dict[str, Any]) -> str | None:
    return " ".join(x for x in (r["cloud"], r["cloud_region"]) if x) or None


def shown_names(r: dict[str, Any], verbose: bool) -> tuple[list[str], str | None]:
    """The names shown (with their sources) and what the rest are ("+12 more, all from the certificate")."""
    names: list[str] = r["hostname_sources"]
    if verbose or len(names) <= NAMES:
        return names, None
    rest = len(names) - NAMES
    cert_only = r["certificate_only"]
    kind = "all from the certificate" if cert_only >= rest else (f"{cert_only} of them from the certificate" if cert_only else "")
    return names[:NAMES], f"+{rest} more" + (f", {kind}" if kind else "")


class ReportView:
    """The whole report as one renderable."""

    def __init__(self, report: Report, *, verbose: bool = False, rows: int | None = ROWS) -> None:
        self.report = report
        self.verbose = verbose
        self.rows = rows

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[RenderableType]:
        report = self.report
        t = report.totals()
        yield title(
            f"ipowner report: {t['destinations']} internet destinations, {human_bytes(t['bytes_sent'])} sent, "
            f"{human_bytes(t['bytes_received'])} received, {t['flows']} flows"
        )
        if report.partial:
            yield Text("partial: some inputs or addresses could not be read or answered", style="yellow")

        all_rows = destination_rows(report)
        rows = all_rows[: self.rows] if self.rows is not None and not self.verbose else all_rows
        more = len(all_rows) - len(rows)
        yield title("Destinations, ranked by bytes sent")
        wide = self._wide(rows)
        yield wide if fits(console, wide, options.max_width) else self._stacked(rows)
        if more:
            yield Text(f"... and {more} more destinations (-v, or -o with .csv, .json or .html, lists them all)",
                       style="dim")

        yield title("Verdicts")
        yield self._verdicts(rows)
        yield from self._rollups()
        yield from self._policy()
        yield from self._sources()

    # -- destinations ----------------------------------------------------------------------------
    def _names_cell(self, r: dict[str, Any]) -> Text:
        names, rest = shown_names(r, self.verbose)
        if not names:
            return Text("-", style="dim")
        text = Text("\n".join(terminal_safe(n) for n in names))
        if rest:
            text.append(f"\n{rest}", style="dim")
        return text

    def _wide(self, rows: list[dict[str, Any]]) -> Table:
        """Every column side by side, used when it fits: holder and AS fold at spaces within their column,
        nothing else wraps."""
        tab = Table(box=box.SIMPLE_HEAD, show_lines=False, pad_edge=False)
        folds = {"max_width": FOLD, "overflow": "fold"}
        for col, kw in (
            ("#", {"justify": "right", "no_wrap": True}),
            ("address", {"no_wrap": True}),
            ("hostnames (source)", {"no_wrap": True}),
            ("location", {"no_wrap": True}),
            ("holder (country)", folds),
            ("registry", {"max_width": REGISTRY_FOLD, "overflow": "fold"}),  # its basis and date fold under it
            ("AS", folds),
            ("cloud", {"no_wrap": True}),
            ("sent", {"justify": "right", "no_wrap": True}),
            ("received", {"justify": "right", "no_wrap": True}),
        ):
            tab.add_column(col, **kw)
        for r in rows:
            tab.add_row(
                Text(str(r["rank"])),
                safe(r["address"]),
                self._names_cell(r),
                safe(r["location"]),
                safe(holder_text(r), style="yellow" if r["scope"] == "internet" and not r["holder"] else ""),
                safe(registry_text(r)),
                safe(as_text(r)),
                safe(cloud_text(r)),
                Text(human_bytes(r["bytes_sent"])),
                Text(human_bytes(r["bytes_received"])),
            )
        return tab

    def _stacked(self, rows: list[dict[str, Any]]) -> RenderableType:
        """Rank, address, bytes and location on the first line; the rest folded into detail lines."""
        cols = [Col("#", "right"), Col("address"), Col("sent", "right"), Col("received", "right"), Col("location", grows=True)]
        out = []
        for r in rows:
            first = [Text(str(r["rank"])), safe(r["address"]), Text(human_bytes(r["bytes_sent"])),
                     Text(human_bytes(r["bytes_received"])), safe(r["location"])]
            lines = [detail(
                ("holder", safe(holder_text(r), style="yellow" if r["scope"] == "internet" and not r["holder"] else "")),
                ("registry", safe(registry_text(r)) if registry_text(r) else None),
                ("", safe(as_text(r)) if as_text(r) else None),
                ("cloud", safe(cloud_text(r)) if cloud_text(r) else None),
            )] if r["scope"] == "internet" else []
            names, rest = shown_names(r, self.verbose)
            if names:
                text = Text(", ".join(terminal_safe(n) for n in names))
                if rest:
                    text.append(f", {rest}", style="dim")
                lines.append(detail(("names", text)))
            out.append((first, lines))
        return stacked(cols, out)

    def _verdicts(self, rows: list[dict[str, Any]]) -> RenderableType:
        grid = Table.grid(padding=(0, 1, 0, 0), expand=True)
        grid.add_column(justify="right", no_wrap=True)
        grid.add_column(ratio=1, overflow="fold")
        for r in rows:
            line = Text(terminal_safe(r["address"]))
            line.append(": ")
            line.append(terminal_safe(r["verdict"], 2000))
            if r["flags"]:
                line.append(f"  [{', '.join(r['flags'])}]", style="yellow")
            grid.add_row(Text(f"{r['rank']}."), line)
        return grid

    # -- rollups, policy -------------------------------------------------------------------------
    def _rollups(self) -> Iterator[RenderableType]:
        for group, items in self.report.rollups.items():
            if not items:
                continue
            rt = Table(title=ROLLUP_TITLES.get(group, group), box=box.SIMPLE_HEAD, title_justify="left",
                       title_style="bold", pad_edge=False)
            rt.add_column("name", overflow="fold", ratio=1)
            for col in ("sent", "received", "flows", "destinations"):
                rt.add_column(col, justify="right", no_wrap=True)
            shown = items if self.verbose else items[:ROLLUP_ROWS]
            for row in shown:
                rt.add_row(safe(row.label), Text(human_bytes(row.bytes_sent)), Text(human_bytes(row.bytes_received)),
                           Text(str(row.flows)), Text(str(row.destinations)))
            yield rt
            if len(items) > len(shown):
                yield Text(f"... and {len(items) - len(shown)} more (-v lists them all)", style="dim")

    def _policy(self) -> Iterator[RenderableType]:
        policy = self.report.policy
        if policy is None or not policy.fired:
            return
        yield Text(f"Policy gate fired ({terminal_safe(', '.join(policy.rules), 200)}):", style="bold red")
        for o in policy.offending:
            names = ", ".join(o["hostnames"][:3])
            line = Text(f"{terminal_safe(o['address'])} ")
            if names:
                line.append(f"{terminal_safe(names)} ")
            line.append(f"{terminal_safe(o['rule'])} ({terminal_safe(o['value'])})")
            yield wrapped(line, 2)

    # -- where the report came from ---------------------------------------------------------------
    def _sources(self) -> Iterator[RenderableType]:
        report, p = self.report, self.report.provenance
        if self.verbose:
            yield title("Provenance")
            pt = Table.grid(padding=(0, 2, 0, 0), expand=True)
            pt.add_column(no_wrap=True, style="dim")
            pt.add_column(ratio=1, overflow="fold")
            for group, key, value, extra in provenance_items(report):
                line = Text(f"{terminal_safe(key, 200)}: " if key else "")
                line.append(terminal_safe(value, 2000), style="yellow" if group == "warning" else "")
                if extra:
                    line.append(f" ({terminal_safe(extra, 200)})", style="dim")
                pt.add_row(Text(group), line)
            yield pt
            return
        yield title("Sources")
        grid = Table.grid(padding=(0, 2, 0, 0), expand=True)
        grid.add_column(no_wrap=True)
        grid.add_column(ratio=1, overflow="fold")
        for n in p.data_sources:
            s = n.source
            line = Text(terminal_safe(s.name, 200))
            line.append(f"; {(iso(s.date) or '')[:10] or 'date unknown'}", style="dim")
            if n.age_days is not None:
                line.append(f", {age_note(n.age_days)} the capture", style="yellow" if n.warning else "dim")
            grid.add_row(safe(s.id, 60), line)
        for i in p.inputs:
            line = Text(f"{terminal_safe(i.format)}, {i.records} records" + (", partial" if i.partial else ""))
            grid.add_row(Text("input", style="dim"), Text(terminal_safe(i.name, 200)).append(f"  ({line.plain})", style="dim"))
        yield grid
        span = " to ".join(x for x in (epoch_iso(p.capture_start), epoch_iso(p.capture_end)) if x)
        made = f"generated {iso(p.generated) or 'at an unknown time'} by {p.tool} {p.tool_version}"
        made += " (offline)" if p.offline else ""
        yield wrapped(Text("; ".join(x for x in (f"capture {span}" if span else "", byte_kind_text(p.byte_kind), made) if x),
                           style="dim"), 0)
        credits = list(dict.fromkeys(part.strip() for c in p.credits for part in c.split("; ") if part.strip()))
        if credits:
            yield title("Credits")
            for c in credits:
                yield wrapped(Text(terminal_safe(c)), 2)
        for w in report.warnings:
            yield wrapped(Text(f"warning: {terminal_safe(w, 2000)}", style="yellow"), 0)
        yield Text("-v shows the full provenance (command line, SHA-256 of each input); --format json keeps everything",
                   style="dim")


def write_terminal_report(report: Report, stream: TextIO, *, width: int | None = None, verbose: bool = False) -> None:
    """The report on ``stream``: coloured on a terminal, plain and ``COLUMNS`` wide otherwise; the first
    ``ROWS`` destinations (all with ``verbose``)."""
    emit(stream, ReportView(report, verbose=verbose), width)
