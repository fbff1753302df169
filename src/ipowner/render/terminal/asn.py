"""``AsView``: an AS answer for the terminal: one panel of facts, each with its source and date.

The counts of the ranges are shown, the ranges themselves only with ``-v`` (the JSON always lists them).
Every untrusted string (AS names, holder names, handles) goes through ``terminal_safe``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TextIO

from rich import box
from rich.console import Console, ConsoleOptions, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ipowner.model.asn import AsLookup
from ipowner.render.escape import terminal_safe
from ipowner.render.terminal._console import emit
from ipowner.render.terminal.lookup import sources_footer

SHOWN_PREFIXES = 40  # ranges listed with -v before "... and N more"


def _src(answer: AsLookup, sid: str | None) -> Text:
    s = next((x for x in answer.sources if x.id == sid), None) if sid else None
    if s is None:
        return Text("")
    day = s.date.date().isoformat() if s.date else "undated"
    return Text(f"{terminal_safe(s.id, 60)} · {day}", style="dim")


def _panel(a: AsLookup, verbose: bool) -> Panel:
    rows = Table(box=None, show_header=False, padding=(0, 1), expand=False)
    rows.add_column("field", style="bold", no_wrap=True)
    rows.add_column("value", overflow="fold")
    rows.add_column("source", no_wrap=True)

    def add(label: str, value: str | Text | None, sid: str | None = None) -> None:
        if value is None or value == "":
            return
        rows.add_row(label, value if isinstance(value, Text) else Text(terminal_safe(value)), _src(a, sid))

    add("AS number", f"AS{a.number}")
    if a.special:
        add("special", Text(f"IANA special-purpose AS number: {a.special}", style="yellow"))
    add("name", a.name or Text("unknown", style="dim"), a.name_source)
    if a.registry is not None:
        add("registry", f"{a.registry.name or a.registry.rdap_service} ({a.registry.basis})", a.registry.source)
    if a.registration_countries:
        parts = [f"{c.country} ({c.ranges})" for c in a.registration_countries[:8]]
        more = len(a.registration_countries) - 8
        add("registered", ", ".join(parts) + (f" and {more} more" if more > 0 else "")
            + " — registration countries of its ranges (ranges each)", a.registration_source)
    p = a.prefixes
    if p.ipv4_ranges or p.ipv6_ranges:
        add("announces", f"{p.ipv4_ranges} IPv4 ranges ({p.ipv4_addresses:,} addresses), {p.ipv6_ranges} IPv6 "
            f"ranges ({p.ipv6_slash48s:,} /48s) in the embedded data; {len(p.prefixes)} CIDR blocks"
            + (" (list cut short)" if p.truncated else ""), p.source)
        if verbose:
            shown = p.prefixes[:SHOWN_PREFIXES]
            rest = len(p.prefixes) - len(shown)
            text = ", ".join(shown) + (f" ... and {rest} more (--format json lists all)" if rest > 0 else "")
            add("  blocks", Text(terminal_safe(text, 4000)))
    elif a.special is None:
        add("announces", Text("no ranges in the embedded data", style="dim"))
    if a.cloud is not None:
        c = a.cloud
        add("cloud", f"{c.name} ({c.company}, {c.country or 'country unknown'}): one of its AS numbers", c.source)
    r = a.registration
    if r is not None:
        h = r.holder
        if h is not None and (h.name or h.handle):
            who = h.name or h.handle or ""
            add("holder", f"{who} ({h.country or 'country unknown'})" + (", inferred" if h.inferred else ""), r.source)
        span = f"AS{r.first}-AS{r.last}" if r.first is not None and r.last is not None and r.first != r.last else None
        add("record", " ".join(x for x in (r.handle, r.name, span) if x), r.source)
        if r.registry_chain:
            add("chain", " > ".join(link.name or link.handle or "?" for link in r.registry_chain), r.source)
    elif a.registration_note:
        add("holder", Text(f"not looked up: {a.registration_note}", style="dim"))
    for e in a.errors:
        rows.add_row(Text("error", style="bold red"), Text(terminal_safe(e), style="red"), Text(""))
    return Panel(rows, title=Text(terminal_safe(a.query, 60), style="bold"), title_align="left",
                 box=box.ROUNDED, expand=True)


class AsView:
    """The AS panel, then the sources used and the credits their data requires."""

    def __init__(self, answer: AsLookup, verbose: bool = False) -> None:
        self.answer = answer
        self.verbose = verbose

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[RenderableType]:
        yield _panel(self.answer, self.verbose)
        if self.answer.sources:
            yield sources_footer(self.answer.sources, self.answer.generated)


def write_terminal_as(answer: AsLookup, stream: TextIO, *, width: int | None = None, verbose: bool = False) -> None:
    emit(stream, AsView(answer, verbose), width)
