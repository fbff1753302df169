"""The house style of every terminal view: the console, the width, and tables that never lose a value.

Every view is designed for 80 columns and up. A table is shown whole when its natural width fits
(``fits``); otherwise as stacked rows (``stacked``): the short columns that must never wrap
(ranks, addresses, byte counts) on the first line, the long text (holder, AS name, hostnames) folded
into indented detail lines below. Numbers and addresses never wrap, nothing is cropped or dropped.
Output that is not a terminal is laid out the same way at ``COLUMNS`` (160 when unset), so a file
gets every value in full too. Untrusted text reaches rich only as ``Text`` built from
``terminal_safe`` output (``safe``), never as markup.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TextIO

from rich.console import Console, Group, RenderableType
from rich.measure import Measurement
from rich.padding import Padding
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from ipowner.render.escape import terminal_safe

# The narrowest width the views are designed for; a console narrower than this is laid out at it.
MIN_WIDTH = 80
DEFAULT_FILE_WIDTH = 160


def columns() -> int:
    """Width for output that is not a terminal (a file, a pipe): COLUMNS if set, else 160."""
    try:
        return max(MIN_WIDTH, int(os.environ.get("COLUMNS", str(DEFAULT_FILE_WIDTH))))
    except ValueError:
        return DEFAULT_FILE_WIDTH


def is_terminal(stream: TextIO) -> bool:
    try:
        return hasattr(stream, "isatty") and bool(stream.isatty())
    except ValueError:  # a closed stream
        return False


class HouseConsole(Console):
    """A console whose closed pipe (``ipowner report x | head -1``) is a ``BrokenPipeError`` for the
    command line to end quietly on, not rich's own exit with status 1."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass
        raise BrokenPipeError


def plain_console(stream: TextIO, width: int | None = None) -> Console:
    """The console every view prints on: colour only on a terminal; no markup, emoji or highlighting of
    anything printed; the terminal's width, ``width`` when given, else ``columns()``."""
    tty = is_terminal(stream)
    console = HouseConsole(
        file=stream,
        force_terminal=tty,
        no_color=not tty,
        width=width or (None if tty else columns()),
        markup=False,
        emoji=False,
        highlight=False,
        soft_wrap=False,
    )
    if console.width < MIN_WIDTH and not width:
        console.width = MIN_WIDTH
    return console


def emit(stream: TextIO, renderable: RenderableType, width: int | None = None) -> None:
    """Print ``renderable`` on ``stream``: straight to a terminal; to anything else as plain lines without
    the padding rich adds to the right."""
    console = plain_console(stream, width)
    if console.is_terminal:
        console.print(renderable)
        return
    with console.capture() as captured:
        console.print(renderable)
    stream.write("\n".join(line.rstrip() for line in captured.get().split("\n")))


def safe(value: Any, limit: int = 512, style: str = "") -> Text:
    """Untrusted text as rich ``Text``: controls made visible, cut at ``limit``; "-" for nothing."""
    if value is None or value == [] or value == "":
        return Text("-", style="dim")
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    return Text(terminal_safe(value, limit), style=style)


def title(text: str) -> Text:
    return Text(text, style="bold")


def fits(console: Console, renderable: RenderableType, width: int | None = None) -> bool:
    """Whether ``renderable`` shows at its natural width within ``width`` (the console's by default)."""
    width = width or console.width
    # Measured without a limit: a measurement is clamped to the width it is given.
    measured = Measurement.get(console, console.options.update(width=1 << 20, max_width=1 << 20), renderable)
    return measured.maximum <= width


@dataclass(frozen=True, slots=True)
class Col:
    """One column of a stacked table's first line: fixed ones take their widest cell and never wrap; the
    one that ``grows`` takes what is left and wraps at spaces."""

    title: str
    justify: Literal["left", "right"] = "left"
    grows: bool = False


def stacked(cols: Sequence[Col], rows: Sequence[tuple[Sequence[Text], Sequence[Text]]], *,
            indent: int | None = None) -> RenderableType:
    """A table whose rows are a first line of short columns and indented detail lines below it.

    ``rows``: (first-line cells, detail lines). The detail lines start under the second column (or at
    ``indent``) and wrap there, so long text folds instead of squeezing the columns that must not wrap.
    """
    widths = [None if c.grows else max([len(c.title), *(cells[i].cell_len for cells, _ in rows)])
              for i, c in enumerate(cols)]
    gap = 2
    lead = indent if indent is not None else ((widths[0] or 0) + gap if len(cols) > 1 else 0)

    def line(cells: Sequence[Text]) -> Table:
        grid = Table.grid(padding=(0, gap, 0, 0), expand=True)
        for c, w in zip(cols, widths, strict=True):
            if w is None:
                grid.add_column(justify=c.justify, ratio=1, overflow="fold")
            else:
                grid.add_column(justify=c.justify, width=w, no_wrap=True)
        grid.add_row(*cells)
        return grid

    parts: list[RenderableType] = [line([Text(c.title, style="bold") for c in cols]), Rule(style="dim")]
    for cells, details in rows:
        parts.append(line(cells))
        parts += [Padding(d, (0, 0, 0, lead)) for d in details]
    return Group(*parts)


def detail(*parts: tuple[str, Text | str | None]) -> Text:
    """A detail line: "label value; label value", values as given (``Text`` already made safe), the
    labels dim; parts whose value is None are left out."""
    out = Text(overflow="fold")
    for label, value in parts:
        if value is None:
            continue
        if out.plain:
            out.append("; ", style="dim")
        if label:
            out.append(f"{label} ", style="dim")
        out.append(value if isinstance(value, Text) else Text(value))
    return out


def wrapped(text: Text, indent: int) -> RenderableType:
    """A paragraph whose wrapped lines start at ``indent`` (a hanging indent for numbered lines)."""
    return Padding(text, (0, 0, 0, indent))
