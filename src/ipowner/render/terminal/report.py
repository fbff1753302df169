"""``ReportView``: a report for the terminal (rich): destinations with verdicts, rollups, provenance.

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
from ipowner.render.escape import terminal_safe
from ipowner.render.report_rows import ROLLUP_TITLES, destination_rows, human_bytes, provenance_items
from ipowner.render.terminal._console import plain_console

CELL = 60  # longest untrusted text shown in a table cell
ROWS = 100  # destinations shown on a terminal; every other format lists them all
ROLLUP_ROWS = 25


def _t(value: Any, limit: int = CELL, style: str = "") -> Text:
    if value is None or value == [] or value == "":
        return Text("-", style="dim")
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    return Text(terminal_safe(value, limit), style=style)


def _names(names: list[str], shown: int = 3) -> Text:
    if not names:
        return Text("-", style="dim")
    text = "\n".join(terminal_safe(n, 40) for n in names[:shown])
    if len(names) > shown:
        text += f"\n+{len(names) - shown} more"
    return Text(text)


class ReportView:
    """The whole report as one renderable."""

    def __init__(self, report: Report) -> None:
        self.report = report

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[RenderableType]:
        report = self.report
        t = report.totals()
        p = report.provenance
        yield Text(
            f"ipowner report: {t['destinations']} internet destinations, {human_bytes(t['bytes_sent'])} sent, "
            f"{human_bytes(t['bytes_received'])} received, {t['flows']} flows",
            style="bold",
        )
        if report.partial:
            yield Text("partial: some inputs or addresses could not be read or answered", style="yellow")

        all_rows = destination_rows(report)
        rows = all_rows[:ROWS]
        more = len(all_rows) - len(rows)
        tab = Table(title="Destinations, ranked by bytes sent", box=box.SIMPLE_HEAD, show_lines=False)
        for col, kw in (
            ("#", {"justify": "right"}),
            ("address", {"no_wrap": True}),
            ("hostnames", {"max_width": 40, "min_width": 18}),
            ("location", {"min_width": 9}),
            ("holder (country)", {"max_width": 34, "min_width": 10}),
            ("registry", {}),
            ("AS", {"max_width": 28}),
            ("cloud", {}),
            ("sent", {"justify": "right"}),
            ("received", {"justify": "right"}),
        ):
            tab.add_column(col, overflow="fold", **kw)
        for r in rows:
            holder = r["holder"]
            if holder:
                holder_txt = f"{holder} ({r['holder_country'] or '?'})" + (" inferred" if r["holder_inferred"] else "")
            else:
                # LAN, multicast and broadcast peers have no holder to find: say nothing rather than "unknown".
                holder_txt = "unknown" if r["scope"] == "internet" else "-"
            reg = " > ".join(x for x in (r["registry"], r["nir"]) if x)
            asn = f"AS{r['asn']} {r['as_name'] or ''}".strip() if r["asn"] is not None else None
            cloud = " ".join(x for x in (r["cloud"], r["cloud_region"]) if x)
            tab.add_row(
                Text(str(r["rank"])),
                _t(r["address"]),
                _names(r["hostnames"]),
                _t(r["location"]),
                _t(holder_txt, style="yellow" if r["scope"] == "internet" and not holder else ""),
                _t(reg),
                _t(asn),
                _t(cloud),
                Text(human_bytes(r["bytes_sent"])),
                Text(human_bytes(r["bytes_received"])),
            )
        yield tab
        if more:
            yield Text(f"... and {more} more destinations (--format csv, json or html lists them all)", style="dim")

        yield Text("Verdicts", style="bold")
        for r in rows:
            line = Text(f"{r['rank']:>3}. ")
            line.append(terminal_safe(r["address"], CELL))
            line.append(": ")
            line.append(terminal_safe(r["verdict"], 400))
            if r["flags"]:
                line.append(f"  [{', '.join(r['flags'])}]", style="yellow")
            yield line

        for group, items in report.rollups.items():
            if not items:
                continue
            rt = Table(title=ROLLUP_TITLES.get(group, group), box=box.SIMPLE_HEAD, title_justify="left")
            for col in ("name", "sent", "received", "flows", "destinations"):
                rt.add_column(col, justify="left" if col == "name" else "right", overflow="fold")
            for row in items[:ROLLUP_ROWS]:
                rt.add_row(
                    _t(row.label),
                    Text(human_bytes(row.bytes_sent)),
                    Text(human_bytes(row.bytes_received)),
                    Text(str(row.flows)),
                    Text(str(row.destinations)),
                )
            yield rt
            if len(items) > ROLLUP_ROWS:
                yield Text(f"... and {len(items) - ROLLUP_ROWS} more", style="dim")

        if report.policy is not None and report.policy.fired:
            yield Text(f"Policy gate fired ({terminal_safe(', '.join(report.policy.rules), 200)}):", style="bold red")
            for o in report.policy.offending:
                names = ", ".join(o["hostnames"][:3])
                yield Text(f"  {terminal_safe(o['address'])} {terminal_safe(names, CELL)}: {terminal_safe(o['rule'])} "
                           f"({terminal_safe(o['value'], CELL)})")

        pt = Table(title="Provenance", box=box.SIMPLE_HEAD, title_justify="left")
        for col in ("what", "key", "value", "detail"):
            pt.add_column(col, overflow="fold")
        for group, key, value, detail in provenance_items(report):
            pt.add_row(Text(group), _t(key, 80), _t(value, 200, style="yellow" if group == "warning" else ""), _t(detail, 80))
        yield pt
        if p.byte_kind:
            yield Text(f"bytes are {p.byte_kind}-level counts", style="dim")


def write_terminal_report(report: Report, stream: TextIO, *, width: int | None = None) -> None:
    """The report on ``stream``: coloured on a terminal, plain and ``COLUMNS`` wide otherwise."""
    plain_console(stream, width).print(ReportView(report))
