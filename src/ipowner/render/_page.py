"""The house style of ipowner's HTML pages (report and diff): one shell, one stylesheet, one script.

A page is one self-contained file that makes no request of any kind: its Content-Security-Policy
forbids every fetch and allows exactly the page's one ``<style>`` and one ``<script>`` element, by
their SHA-256 hashes (no inline ``style=""`` attribute, no handler attribute, nothing injected runs or
styles anything). Bar widths therefore come from classes (``w0`` .. ``w100``), not from attributes.
Every untrusted value is written through ``h`` (``escape.html_safe``); attributes are always
double-quoted.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ipowner.render.escape import html_safe
from ipowner.render.report_rows import human_bytes

# The map's measures: (id, what a reader calls it); the CSS switches the map between them.
MEASURES = (("sent", "bytes sent"), ("recv", "bytes received"), ("dest", "destinations"))


def h(value: Any, limit: int = 512) -> str:
    """Escaped text for an element's content or a double-quoted attribute; lists are joined by commas."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    return html_safe(value, limit)


# A character after which a browser may wrap inside a word ("T-Systems", "a/b"): such words are kept whole.
_INNER_BREAK = re.compile(r"[-/\u2010-\u2014?!}\])]")


def cell_text(value: Any, limit: int = 512) -> str:
    """Escaped text that wraps only at spaces: a word a browser could split (at a hyphen, a slash) is
    written in a no-wrap span."""
    escaped = h(value, limit)
    if not _INNER_BREAK.search(escaped):
        return escaped
    return " ".join(f'<span class="nw">{w}</span>' if _INNER_BREAK.search(w[:-1]) else w
                    for w in escaped.split(" "))


def file_name(name: str | None) -> str:
    """The last part of a path (either separator): a shared page must not show the analyst's folders."""
    if not name:
        return ""
    return re.split(r"[/\\]", name.rstrip("/\\"))[-1] or name


def address_key(address: str) -> str:
    """A sort key that orders addresses numerically, every IPv4 before every IPv6."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return "9:" + address.lower()
    return f"{ip.version}:{int(ip):032x}"


def exact_bytes(n: int) -> str:
    return f"{n:,} bytes"


def bytes_td(n: int, extra: str = "", key: str = "") -> str:
    """A byte count in human units, the exact count on hover, sorted by value (``key``: the column's class)."""
    cls = f"n c-{key}" if key else "n"
    return f'<td class="{cls}" data-v="{n}" title="{exact_bytes(n)}">{human_bytes(n)}{extra}</td>'


def num_td(n: int | float, text: str | None = None, key: str = "") -> str:
    cls = f"n c-{key}" if key else "n"
    return f'<td class="{cls}" data-v="{n}">{text if text is not None else n}</td>'


def bar(fraction: float, kind: str = "sent") -> str:
    """A bar in a fixed track, as wide as ``fraction`` of it (a class per whole percent)."""
    pct = max(0, min(100, round(100 * fraction)))
    if fraction > 0 and pct == 0:
        pct = 1  # a share too small to round up still shows
    return f'<span class="track" aria-hidden="true"><span class="bar {kind} w{pct}"></span></span>'


@dataclass(frozen=True, slots=True)
class Col:
    """A column of a table: its class (``c-<key>``), heading, sort type and whether it can be sorted."""

    key: str
    label: str
    type: str = "text"  # "num" sorts by data-v as a number, "text" by data-v or the cell's text
    sortable: bool = True
    numeric: bool = False  # right-aligned

    def th(self, sort: str | None = None) -> str:
        cls = f"c-{self.key}" + (" n" if self.numeric else "")
        aria = f' aria-sort="{sort}"' if sort else ""
        if not self.sortable:
            return f'<th scope="col" class="{cls}">{self.label}</th>'
        # Print shows the label as text: Chrome leaves buttons out of the heading it repeats on each page.
        return (f'<th scope="col" class="{cls}" data-type="{self.type}"{aria}>'
                f'<button type="button">{self.label}</button><span class="print-label" aria-hidden="true">'
                f"{self.label}</span></th>")


def thead(cols: Sequence[Col], sorted_by: str | None = None, direction: str = "descending") -> str:
    """The heading row; ``sorted_by`` names the column the rows come sorted by (its ``aria-sort``)."""
    cells = "".join(c.th(direction if c.key == sorted_by else None) for c in cols)
    return f"<thead><tr>{cells}</tr></thead>"


def scroll(inner: str, label: str) -> str:
    """A horizontally scrolling box for a table, focusable so a keyboard can scroll it."""
    return f'<div class="scroll" role="region" aria-label="{h(label)}" tabindex="0">{inner}</div>'


def words(items: Iterable[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    xs = [x for x in items if x]
    if len(xs) <= 1:
        return "".join(xs)
    return ", ".join(xs[:-1]) + " and " + xs[-1]


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else (many or one + 's')}"


@cache
def _asset(name: str) -> str:
    return (resources.files("ipowner.render") / "assets" / name).read_text(encoding="utf-8")


@cache
def stylesheet() -> str:
    """The page CSS: the asset, the bar widths, and the map's measure switch (radio + ``:has``)."""
    out = [_asset("page.css")]
    out.append("".join(f".w{i}{{width:{i}%}}" for i in range(101)))
    for m, _ in MEASURES:
        on = f"#map:has(#m-{m}:checked)"
        out.append(f"{on} g.m-{m}{{display:inline}}{on} ul.m-{m}{{display:flex}}")
        out.append("".join(f"{on} path.k{m[0]}{k}{{fill:var(--k{k})}}" for k in range(1, 6)))
    return "\n".join(out)


@cache
def script() -> str:
    return _asset("page.js")


def _sha256(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


def csp(style: str, js: str | None) -> str:
    """No fetch of any kind; the one style and the one script element allowed by hash."""
    script_src = f"'sha256-{_sha256(js)}'" if js is not None else "'none'"
    return (
        f"default-src 'none'; style-src 'sha256-{_sha256(style)}'; img-src data:; script-src {script_src}; "
        "base-uri 'none'; form-action 'none'"
    )


def page(title: str, body: str, *, with_script: bool = True) -> str:
    """A whole HTML document: ``title`` is escaped here, ``body`` must already be safe HTML."""
    style = stylesheet()
    js = script() if with_script else None
    tail = f"<script>{js}</script>" if js is not None else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{csp(style, js)}">'
        '<meta name="referrer" content="no-referrer"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" href="data:,"><title>{h(title, 300)}</title>'
        f"<style>{style}</style></head><body>{body}{tail}</body></html>\n"
    )
