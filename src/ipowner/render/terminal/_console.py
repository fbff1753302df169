"""The console the report and diff views are printed on, and the width used when output is not a terminal."""

from __future__ import annotations

import os
from typing import TextIO

from rich.console import Console


def columns() -> int:
    """Width for output that is not a terminal (a file, a pipe): COLUMNS if set, else wide enough that
    tables rarely wrap."""
    try:
        return max(60, int(os.environ.get("COLUMNS", "160")))
    except ValueError:
        return 160


def is_terminal(stream: TextIO) -> bool:
    return hasattr(stream, "isatty") and stream.isatty()


def plain_console(stream: TextIO, width: int | None = None) -> Console:
    """Colour only on a terminal; no markup, emoji or highlighting of anything printed."""
    tty = is_terminal(stream)
    return Console(
        file=stream,
        force_terminal=tty,
        no_color=not tty,
        width=width or (None if tty else columns()),
        markup=False,
        emoji=False,
        highlight=False,
        soft_wrap=False,
    )
