"""``ipowner diff`` output in every report format: table, json, jsonl, csv, markdown, html.

All formats come from one flat list of change rows; untrusted text is escaped per format.
"""

from __future__ import annotations

from typing import Any, TextIO

from ipowner.model.report import SCHEMA_DIFF
from ipowner.render.csv import write_csv
from ipowner.render.escape import html_safe, markdown_safe, terminal_safe
from ipowner.render.json import write_json, write_jsonl

COLUMNS = ["section", "change", "key", "label", "detail", "bytes_sent_before", "bytes_sent_after",
           "bytes_sent_change", "bytes_received_before", "bytes_received_after", "bytes_received_change"]


def rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(section: str, change: str, key: Any, label: Any = None, detail: Any = None, **nums: Any) -> None:
        out.append({"section": section, "change": change, "key": key, "label": label, "detail": detail,
                    **{c: nums.get(c) for c in COLUMNS[5:]}})

    for change in ("added", "removed"):
        for d in doc["destinations"][change]:
            side = "after" if change == "added" else "before"
            add("destination", change, d["address"], ", ".join(d["hostnames"]), d.get("verdict"),
                **{f"bytes_sent_{side}": d["bytes_sent"], f"bytes_received_{side}": d["bytes_received"]})
    for c in doc["changed_answers"]:
        detail = "; ".join(f"{f}: {b} -> {a}" for f, (b, a) in c["fields"].items())
        add("destination", "answer changed", c["address"], None, detail)
    for section in ("hostnames", "domains"):
        for change in ("added", "removed"):
            for name in doc[section][change]:
                add(section.rstrip("s"), change, name)
    for group, ch in doc["jurisdictions"].items():
        for change in ("added", "removed"):
            for k in ch[change]:
                add(group, change, k)
    for group, items in doc["bytes"].items():
        for r in items:
            if r["bytes_sent_change"] or r["bytes_received_change"]:
                add(f"bytes by {group}", "bytes", r["key"], r["label"], None,
                    **{c: r[c] for c in COLUMNS[5:]})
    return out


def _summary(doc: dict[str, Any]) -> str:
    d = doc["destinations"]
    return (f"{len(d['added'])} destinations added, {len(d['removed'])} removed, "
            f"{len(doc['changed_answers'])} with changed answers; {len(doc['hostnames']['added'])} hostnames added, "
            f"{len(doc['hostnames']['removed'])} removed")


def _sides(doc: dict[str, Any]) -> list[str]:
    out = []
    for name in ("before", "after"):
        s = doc[name]
        ins = ", ".join(f"{i['name']} (sha256 {i['sha256']})" for i in s["inputs"])
        out.append(f"{name}: {ins} [{s['kind']}; capture {s['capture_start']} to {s['capture_end']}; "
                   f"report generated {s['generated']}]")
    return out


def write_diff(doc: dict[str, Any], fmt: str, stream: TextIO) -> None:
    rs = rows(doc)
    if fmt == "json":
        write_json(doc, stream)
    elif fmt == "jsonl":
        write_jsonl(({"kind": "side", "side": n, **doc[n]} for n in ("before", "after")), SCHEMA_DIFF, stream)
        write_jsonl(({"kind": "change", **r} for r in rs), SCHEMA_DIFF, stream)
    elif fmt == "csv":
        write_csv(COLUMNS, ([r[c] for c in COLUMNS] for r in rs), stream)
    elif fmt == "markdown":
        lines = ["# ipowner diff", "", markdown_safe(_summary(doc)) + ".", ""]
        lines += [f"- {markdown_safe(s, 4000)}" for s in _sides(doc)]
        lines += ["", "| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
        for r in rs:
            lines.append("| " + " | ".join("" if r[c] is None else markdown_safe(r[c]) for c in COLUMNS) + " |")
        stream.write("\n".join(lines) + "\n")
    elif fmt == "html":
        from ipowner.render.html import _CSS

        body = [f"<h1>ipowner diff</h1><p>{html_safe(_summary(doc))}.</p><ul>"]
        body += [f"<li>{html_safe(s, 4000)}</li>" for s in _sides(doc)]
        body.append('</ul><table id="diff-table"><thead><tr>' + "".join(f"<th>{c}</th>" for c in COLUMNS)
                    + "</tr></thead><tbody>")
        for r in rs:
            body.append("<tr>" + "".join(f"<td>{'' if r[c] is None else html_safe(r[c])}</td>" for c in COLUMNS) + "</tr>")
        body.append("</tbody></table>")
        stream.write(
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            f'<link rel="icon" href="data:,"><title>ipowner diff</title><style>{_CSS}</style></head><body><main>'
            + "".join(body) + "</main></body></html>\n"
        )
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
        con.print(Text(_summary(doc), style="bold"))
        for s in _sides(doc):
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
