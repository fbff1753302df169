"""``ipowner diff`` output in every report format: table, json, jsonl, csv, markdown, html.

All formats but HTML come from one flat list of change rows; untrusted text is escaped per format.
The HTML page is ``diff_html``'s (the report's house style).
"""

from __future__ import annotations

from typing import Any, TextIO

from ipowner.model.diff import COLUMNS, Diff, DiffRow
from ipowner.model.serialize import to_plain
from ipowner.render.csv import write_csv
from ipowner.render.escape import markdown_safe, terminal_safe
from ipowner.render.json import write_json, write_lines

__all__ = ["COLUMNS", "rows", "write_diff"]


def rows(diff: Diff) -> list[dict[str, Any]]:
    """The change rows as plain dicts, keyed by ``COLUMNS``."""
    return [_cells(r) for r in diff.rows()]


def _cells(row: DiffRow) -> dict[str, Any]:
    return to_plain(row)


def _summary(diff: Diff) -> str:
    d = diff.destinations
    return (f"{len(d.added)} destinations added, {len(d.removed)} removed, "
            f"{len(diff.changed_answers)} with changed answers; {len(diff.hostnames.added)} hostnames added, "
            f"{len(diff.hostnames.removed)} removed")


def _sides(diff: Diff) -> list[str]:
    out = []
    for name, s in (("before", diff.before), ("after", diff.after)):
        side = to_plain(s)
        ins = ", ".join(f"{i.name} (sha256 {i.sha256})" for i in s.inputs)
        known = {k: side[k] or "unknown" for k in ("origin", "capture_start", "capture_end", "generated")}
        out.append(f"{name}: {ins or 'no inputs'} [{known['origin']}; capture {known['capture_start']} to "
                   f"{known['capture_end']}; report generated {known['generated']}]")
    return out


def write_diff(diff: Diff, fmt: str, stream: TextIO) -> None:
    """``diff`` in one of the report formats: table (the default), json, jsonl, csv, markdown, html."""
    rs = rows(diff)
    if fmt == "json":
        write_json(diff.to_dict(), stream)
    elif fmt == "jsonl":
        write_lines(diff.lines(), stream)
    elif fmt == "csv":
        write_csv(COLUMNS, ([r[c] for c in COLUMNS] for r in rs), stream)
    elif fmt == "markdown":
        lines = ["# ipowner diff", "", markdown_safe(_summary(diff)) + ".", ""]
        lines += [f"- {markdown_safe(s, 4000)}" for s in _sides(diff)]
        lines += ["", "| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
        for r in rs:
            lines.append("| " + " | ".join("" if r[c] is None else markdown_safe(r[c]) for c in COLUMNS) + " |")
        stream.write("\n".join(lines) + "\n")
    elif fmt == "html":
        from ipowner.render.diff_html import write_diff_html

        write_diff_html(diff, stream)
    else:
        from rich import box
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        from ipowner.render.report_rows import human_bytes
        from ipowner.render.terminal._console import columns as _columns

        tty = hasattr(stream, "isatty") and stream.isatty()
        con = Console(file=stream, force_terminal=tty, no_color=not tty, width=None if tty else _columns(),
                      markup=False, highlight=False, emoji=False)
        con.print(Text(_summary(diff), style="bold"))
        for s in _sides(diff):
            con.print(Text(terminal_safe(s, 4000)))
        t = Table(box=box.SIMPLE_HEAD)
        for c in ("section", "change", "key", "label", "detail", "sent before", "sent after", "received before",
                  "received after"):
            t.add_column(c, overflow="fold", max_width=48, no_wrap=c == "key",
                         justify="right" if c.startswith(("sent", "rec")) else "left")
        for r in rs:
            nums = [r["bytes_sent_before"], r["bytes_sent_after"], r["bytes_received_before"], r["bytes_received_after"]]
            vals = [r["section"], r["change"], r["key"], r["label"], r["detail"]]
            t.add_row(*[Text("" if v is None else terminal_safe(v, 200)) for v in vals],
                      *[Text("" if v is None else human_bytes(v)) for v in nums])
        con.print(t)
