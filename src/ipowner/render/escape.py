"""Make untrusted text safe where a reader meets it.

Registry data, hostnames, SNI and log fields are attacker-controlled. Each output format has its
own hazards: terminal control sequences and bidi overrides, HTML and script, spreadsheet formulas,
Markdown table breakers, and megabyte-long strings.
"""

from __future__ import annotations

import html
import re

# Longest untrusted string shown in full; longer ones are cut with a marker saying how much.
MAX_FIELD = 512

# C0 and C1 controls, DEL, and the Unicode bidi/formatting characters that can reorder or hide text.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]"
)


def _visible(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def truncate(text: str, limit: int = MAX_FIELD) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]}…[+{len(text) - limit} chars]"


def terminal_safe(text: object, limit: int = MAX_FIELD) -> str:
    """Text with every control and bidi character shown as a visible escape, cut to ``limit``."""
    s = truncate(str(text), limit)
    return _UNSAFE.sub(lambda m: _visible(m.group(0)), s)


def html_safe(text: object, limit: int = MAX_FIELD) -> str:
    """HTML-escaped text (quotes included) with controls and bidi characters made visible."""
    return html.escape(terminal_safe(text, limit), quote=True)


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")


def csv_safe(text: object, limit: int = MAX_FIELD) -> str:
    """A cell value a spreadsheet will not evaluate: formula prefixes are neutralised with a quote."""
    if text is None:
        return ""
    s = terminal_safe(text, limit)
    # A bare negative number is data, not a formula.
    if s.startswith(_FORMULA_START) and not re.fullmatch(r"-?\d+(\.\d+)?", s):
        return "'" + s
    return s


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def markdown_safe(text: object, limit: int = MAX_FIELD) -> str:
    """Text for a Markdown table cell: no pipe, newline, HTML or link syntax survives."""
    s = terminal_safe(text, limit)
    s = html.escape(s, quote=False)
    return _MD_SPECIAL.sub(r"\\\1", s)
