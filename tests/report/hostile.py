"""Hostile text, one value per class, and the checks a reader of each format needs.

Synthetic values written for the tests: what registry data, hostnames, SNI and log fields may carry.
"""

from __future__ import annotations

import csv
import io
import re

LONG = "A" * 1_000_000

HOSTILE = {
    "terminal": "evil\x1b]8;;http://attacker.example/\x07click\x1b]8;;\x07\x1b[2J\x9b31m\x07end",
    "bidi": "moc.elgoog\u202e\u2066gnp.exe\u200f",
    "html": '<script>alert(1)</script><img src=x onerror=alert(2)>"><svg onload=alert(3)>',
    "formula_eq": '=HYPERLINK("http://attacker.example","x")',
    "formula_plus": "+1+cmd|' /C calc'!A0",
    "formula_minus": "-2+3+cmd|' /C calc'!A0",
    "formula_at": "@SUM(1+1)*cmd|' /C calc'!A0",
    "formula_tab": "\t=1+1",
    "formula_cr": "\r=1+1",
    "markdown": "a|b\n| c | d |\n[link](http://attacker.example) `code` **bold** <b>x</b>",
    "long": LONG,
}

# C0/C1 controls and the bidi/invisible formatting characters a reader must never receive raw.
RAW_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def check_csv(text: str) -> list[list[str]]:
    """Every cell a CSV reader yields is inert: no formula prefix, no control or bidi character, not huge."""
    rows = list(csv.reader(io.StringIO(text)))
    for row in rows:
        for cell in row:
            assert not RAW_UNSAFE.search(cell), cell[:80]
            assert "\n" not in cell and "\r" not in cell, cell[:80]
            if cell.startswith(FORMULA_START):
                assert re.fullmatch(r"-?\d+(\.\d+)?", cell), cell[:80]
            assert len(cell) < 4000, len(cell)
    return rows


def check_terminal(text: str) -> None:
    assert "\x1b" not in text and "\x07" not in text
    assert not RAW_UNSAFE.search(text.replace("\n", "").replace("\t", ""))
    assert "A" * 2000 not in text


def check_markdown(text: str, columns_by_header: bool = True) -> None:
    assert not RAW_UNSAFE.search(text.replace("\n", ""))
    assert "<script" not in text and "<img" not in text and "<b>" not in text
    assert "](http" not in text
    assert "A" * 2000 not in text
    # Every table row has as many unescaped pipes as its header.
    lines = text.split("\n")
    pipes = None
    for line in lines:
        if line.startswith("|"):
            n = len(re.findall(r"(?<!\\)\|", line))
            if line.startswith("|---") or pipes is None:
                pipes = n
            assert n == pipes, line[:200]
        else:
            pipes = None
