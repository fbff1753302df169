"""``DiffView``: what changed between two reports, for the terminal (rich): a summary, the two sides, the changes.

Built from the same change rows as every other diff format (``render.diff``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, TextIO

from rich import box
from rich.console import Console, ConsoleOptions, RenderableType
from rich.table import Table
from rich.text import Text

from ipowner.render.diff import _sides, _summary, rows
from ipowner.render.escape import terminal_safe
from ipowner.render.report_rows import human_bytes
from ipowner.render.terminal._console import plain_console


class DiffView:
    """The summary line, one line per side, and one table row per change."""

    def __init__(self, doc: Any) -> None:
        self.doc = doc

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[RenderableType]:
        doc = self.doc
        yield Text(_summary(doc), style="bold")
        for s in _sides(doc):
            yield Text(terminal_safe(s, 4000))
        t = Table(box=box.SIMPLE_HEAD)
        for c in ("section", "change", "key", "label", "detail", "sent before", "sent after", "received before",
                  "received after"):
            t.add_column(c, overflow="fold", max_width=48, no_wrap=c == "key",
                         justify="right" if c.startswith(("sent", "rec")) else "left")
        for r in rows(doc):
            nums = [r["bytes_sent_before"], r["bytes_sent_after"], r["bytes_received_before"], r["bytes_received_after"]]
            vals = [r["section"], r["change"], r["key"], r["label"], r["detail"]]
            t.add_row(*[Text("" if v is None else terminal_safe(v, 200)) for v in vals],
                      *[Text("" if v is None else human_bytes(v)) for v in nums])
        yield t


def write_terminal_diff(doc: Any, stream: TextIO, *, width: int | None = None) -> None:
    """The diff on ``stream``: coloured on a terminal, plain and ``COLUMNS`` wide otherwise."""
    plain_console(stream, width).print(DiffView(doc))
