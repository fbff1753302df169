"""``DiffView``: what changed between two reports, for the terminal (rich).

A plain summary line, the two sides, then one section per kind of change: destinations added and
removed (each with its bytes, names and verdict folded below it), answers that changed for the same
address, names and jurisdictions that appeared or went, and bytes per location and holder country.
Laid out for 80 columns and up like every view (``_console``): nothing wraps inside a number or an
address, nothing is cropped; a fact nobody knew is written "unknown", never "None".
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TextIO

from rich import box
from rich.console import Console, ConsoleOptions, RenderableType
from rich.table import Table
from rich.text import Text

from ipowner.model.diff import ByteChange, DestinationSummary, Diff, DiffSide, SetChange
from ipowner.model.serialize import epoch_iso, iso
from ipowner.reference.countries import country_name
from ipowner.render.escape import terminal_safe
from ipowner.render.report_rows import human_bytes
from ipowner.render.terminal._console import Col, detail, emit, fits, safe, stacked, title, wrapped

NAMES = 30  # names listed per section unless verbose


def summary(diff: Diff) -> str:
    """The plain one-line summary every diff view starts with."""
    d, j = diff.destinations, diff.jurisdictions
    parts = [f"{len(d.added)} destinations added, {len(d.removed)} removed, {len(diff.changed_answers)} with changed answers",
             f"{len(diff.hostnames.added)} hostnames added, {len(diff.hostnames.removed)} removed"]
    new_countries = sorted(set(j.location.added) | set(j.holder_country.added))
    if new_countries:
        parts.append("new countries: " + ", ".join(new_countries))
    if not diff.has_changes:
        parts = ["no change in destinations, answers, hostnames or jurisdictions", *parts[1:2]]
    return "; ".join(parts)


def fact(value: Any) -> str:
    """A value as a reader sees it: "unknown" for a fact nobody knew."""
    return "unknown" if value is None or value == "" else str(value)


def side_line(name: str, side: DiffSide) -> Text:
    inputs = ", ".join(terminal_safe(i.name or "unnamed input") for i in side.inputs) or "no inputs"
    span = " to ".join(x for x in (epoch_iso(side.capture_start), epoch_iso(side.capture_end)) if x)
    bits = [str(side.origin) or "origin not stated", f"capture {span}" if span else "capture time unknown"]
    if side.generated is not None:
        bits.append(f"report generated {iso(side.generated)}")
    line = Text(f"{name}: ", style="bold")
    line.append(inputs)
    line.append(f" ({'; '.join(bits)})", style="dim")
    return line


def _country(code: str) -> str:
    return f"{code} ({country_name(code)})" if code and country_name(code) != code else (code or "unknown")


class DiffView:
    """The summary, the sides, and every change, section by section."""

    def __init__(self, doc: Diff, *, verbose: bool = False) -> None:
        self.doc = doc
        self.verbose = verbose

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[RenderableType]:
        doc = self.doc
        yield wrapped(title(f"ipowner diff: {summary(doc)}"), 0)
        for name, side in (("before", doc.before), ("after", doc.after)):
            yield wrapped(side_line(name, side), 2)
            if self.verbose:
                for i in side.inputs:
                    yield wrapped(Text(f"{terminal_safe(i.name or '')}: sha256 {i.sha256 or 'unknown'}", style="dim"), 4)
        yield from self._destinations("Destinations added", "+", doc.destinations.added)
        yield from self._destinations("Destinations removed", "-", doc.destinations.removed)
        if doc.changed_answers:
            yield title(f"Answers changed for the same address ({len(doc.changed_answers)})")
            for c in doc.changed_answers:
                line = Text(f"~ {terminal_safe(c.address)}  ")
                line.append("; ".join(f"{terminal_safe(f)}: {terminal_safe(fact(b))} -> {terminal_safe(fact(a))}"
                                      for f, (b, a) in c.fields.items()))
                yield wrapped(line, 2)
        yield from self._names("Hostnames", doc.hostnames)
        yield from self._names("Registered domains", doc.domains)
        for label, change, show in (("Location countries", doc.jurisdictions.location, _country),
                                    ("Holder countries", doc.jurisdictions.holder_country, _country),
                                    ("Holders", doc.jurisdictions.holder, str),
                                    ("Origin ASes", doc.jurisdictions.asn, str)):
            yield from self._names(label, change, show)
        yield from self._bytes("Bytes by location", doc.bytes.location, console, options)
        yield from self._bytes("Bytes by holder country", doc.bytes.holder_country, console, options)

    def _destinations(self, heading: str, sign: str, items: Sequence[DestinationSummary]) -> Iterator[RenderableType]:
        if not items:
            return
        yield title(f"{heading} ({len(items)})")
        cols = [Col(""), Col("address"), Col("sent", "right"), Col("received", "right"), Col("location", grows=True)]
        rows = []
        for d in items:
            first = [Text(sign), safe(d.address), Text(human_bytes(d.bytes_sent)), Text(human_bytes(d.bytes_received)),
                     safe(d.location or fact(d.location_country))]
            lines = []
            names = d.hostnames if self.verbose else d.hostnames[:4]
            if names:
                more = f", +{len(d.hostnames) - len(names)} more" if len(d.hostnames) > len(names) else ""
                lines.append(detail(("names", ", ".join(terminal_safe(n) for n in names) + more)))
            if d.verdict:
                lines.append(detail(("", safe(d.verdict, 2000))))
            rows.append((first, lines))
        yield stacked(cols, rows)

    def _names(self, heading: str, change: SetChange, show: Any = str) -> Iterator[RenderableType]:
        for verb, keys in (("added", change.added), ("removed", change.removed)):
            if not keys:
                continue
            shown = keys if self.verbose else keys[:NAMES]
            text = Text(f"{heading} {verb} ({len(keys)}): ", style="bold")
            text.append(", ".join(terminal_safe(show(k)) for k in shown))
            if len(keys) > len(shown):
                text.append(f", +{len(keys) - len(shown)} more (-v lists them all)", style="dim")
            yield wrapped(text, 0)

    def _bytes(self, heading: str, moves: Sequence[ByteChange], console: Console,
               options: ConsoleOptions) -> Iterator[RenderableType]:
        moves = [m for m in moves if m.bytes_sent_change or m.bytes_received_change]
        if not moves:
            return
        yield title(heading)
        wide = Table(box=box.SIMPLE_HEAD, pad_edge=False)
        wide.add_column("key", no_wrap=True)
        wide.add_column("name", no_wrap=True)
        for col in ("sent before", "sent after", "change", "received before", "received after", "change"):
            wide.add_column(col, justify="right", no_wrap=True)
        for m in moves:
            wide.add_row(safe(m.key or "unknown"), safe(m.label), *(Text(x) for x in _byte_cells(m)))
        if fits(console, wide, options.max_width):
            yield wide
            return
        rows = []
        for m in moves:
            sb, sa, sc, rb, ra, rc = _byte_cells(m)
            rows.append(([safe(m.key or "unknown"), Text(sc), Text(rc), safe(m.label)],
                         [detail(("sent", f"{sb} -> {sa}"), ("received", f"{rb} -> {ra}"))]))
        yield stacked([Col("key"), Col("sent", "right"), Col("received", "right"), Col("name", grows=True)], rows)


def _signed(n: int) -> str:
    return ("+" if n > 0 else "-" if n < 0 else "") + human_bytes(abs(n))


def _byte_cells(m: ByteChange) -> tuple[str, str, str, str, str, str]:
    return (human_bytes(m.bytes_sent_before), human_bytes(m.bytes_sent_after), _signed(m.bytes_sent_change),
            human_bytes(m.bytes_received_before), human_bytes(m.bytes_received_after), _signed(m.bytes_received_change))


def write_terminal_diff(doc: Diff, stream: TextIO, *, width: int | None = None, verbose: bool = False) -> None:
    """The diff on ``stream``: coloured on a terminal, plain and ``COLUMNS`` wide otherwise."""
    emit(stream, DiffView(doc, verbose=verbose), width)
