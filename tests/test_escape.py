"""Untrusted text made safe for each kind of reader."""

import csv
import io

from ipowner.exitcodes import ExitCode, combine
from ipowner.render.csv import write_csv
from ipowner.render.escape import csv_safe, html_safe, markdown_safe, terminal_safe, truncate


def test_terminal_controls_and_bidi_become_visible():
    hostile = "evil\x1b[31mred\x07\u202egnp.exe\r\n"
    out = terminal_safe(hostile)
    assert "\x1b" not in out and "\u202e" not in out and "\r" not in out and "\n" not in out
    assert "\\x1b[31mred" in out and "\\u202e" in out


def test_c1_controls_are_escaped():
    assert terminal_safe("a\x9bb") == "a\\x9bb"


def test_long_text_is_cut_and_says_how_much():
    out = truncate("x" * 2_000_000)
    assert len(out) < 600 and out.endswith("[+1999488 chars]")


def test_html_escape_quotes_and_tags():
    out = html_safe('<script>alert("x")</script>\u202e')
    assert "<" not in out and '"' not in out and "\\u202e" in out


def test_csv_formula_prefixes_are_neutralised():
    for bad in ("=1+2", "+cmd", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert not csv_safe(bad).startswith(("=", "+", "-", "@", "\t", "\r")), bad
    assert csv_safe("-12") == "-12"
    assert csv_safe("example.com") == "example.com"


def test_csv_cells_round_trip_through_a_reader():
    buf = io.StringIO()
    write_csv(["name", "n"], [['=HYPERLINK("http://x")', 5], ["a,b\nc", None]], buf)
    rows = list(csv.reader(io.StringIO(buf.getvalue())))
    assert rows[1] == ["'=HYPERLINK(\"http://x\")", "5"]
    assert rows[2] == ["a,b\\x0ac", ""]


def test_markdown_cell_cannot_break_the_table():
    out = markdown_safe("a|b\n<img src=x>[link](http://x)")
    assert "|" not in out.replace("\\|", "") and "\n" not in out and "<img" not in out


def test_exit_code_rules():
    assert combine(answered=3, failed=0) is ExitCode.OK
    assert combine(answered=0, failed=2) is ExitCode.FAILURE
    assert combine(answered=1, failed=1) is ExitCode.PARTIAL
    assert combine(answered=1, failed=1, policy_fired=True) is ExitCode.POLICY
