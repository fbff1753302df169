"""Lookup renderers: untrusted text is made harmless, every fact shows its source, credits are present."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from rich.console import Console

import ipowner
from _lookup_fakes import SYNTHETIC_SOURCE
from ipowner.model import AddressRecord, AsnInfo
from ipowner.render.lookup_csv import COLUMNS, write_lookup_csv
from ipowner.render.terminal.lookup import LookupView

HOSTILE = "=HYPERLINK(\"http://x\")\x1b[2J\u202eevil[bold]markup[/bold]"


class HostileProvider:
    """Synthetic: an AS name and city full of terminal, bidi, markup and formula tricks."""

    problems: list[str] = []

    def sources(self):
        return [SYNTHETIC_SOURCE]

    def enrich(self, records: list[AddressRecord]) -> None:
        for rec in records:
            if rec.needs_lookup:
                rec.asn = AsnInfo(number=64500, name=HOSTILE, network="198.51.100.0/24")
                rec.note("asn.number", SYNTHETIC_SOURCE)
                rec.note("asn.name", SYNTHETIC_SOURCE)
                rec.location.city = HOSTILE
                rec.note("location.city", SYNTHETIC_SOURCE)


def _table(result, verbose: bool = False) -> str:
    buf = io.StringIO()
    Console(file=buf, width=200, highlight=False, force_terminal=False).print(LookupView(result, verbose))
    return buf.getvalue()


def test_terminal_view_escapes_untrusted_text():
    out = _table(ipowner.lookup(["8.8.8.8"], providers=[HostileProvider()]))
    assert "\x1b" not in out and "\u202e" not in out
    assert "\\x1b[2J" in out and "\\u202e" in out
    assert "[bold]markup[/bold]" in out  # shown literally, not interpreted as markup
    assert "AS64500" in out


def test_several_addresses_are_one_row_each_and_escaped():
    out = _table(ipowner.lookup(["8.8.8.8", "10.0.0.1"], providers=[HostileProvider()]))
    assert out.startswith("Addresses (2)") and "╭" not in out  # a table, not cards
    assert "\x1b" not in out and "\u202e" not in out and "\\x1b[2J" in out
    row = next(line for line in out.splitlines() if line.startswith("8.8.8.8"))
    assert "AS64500" in row
    assert "10.0.0.1" in out and "Private-Use" in out
    assert "Synthetic test data" in out and "Sources" in out


def test_terminal_view_shows_source_date_and_credit():
    out = _table(ipowner.lookup(["8.8.8.8", "10.0.0.1"], providers=[HostileProvider()]), verbose=True)
    assert "synthetic · 2026-01-02" in out
    assert "iana-special · " in out
    assert "Synthetic test data" in out and "Special-purpose ranges: IANA" in out
    assert "Credits" in out and "Sources" in out


def test_csv_neutralises_formulas_and_has_the_documented_columns():
    result = ipowner.lookup(["8.8.8.8", "64:ff9b::a00:1"], providers=[HostileProvider()])
    buf = io.StringIO()
    write_lookup_csv(result, buf)
    rows = list(csv.reader(io.StringIO(buf.getvalue())))
    assert rows[0] == COLUMNS
    row = dict(zip(COLUMNS, rows[1], strict=True))
    assert row["as_name"].startswith("'=") and "\x1b" not in row["as_name"]
    assert row["sources"] == "synthetic@2026-01-02T00:00:00Z"
    assert row["credits"] == "Synthetic test data"
    nat64 = dict(zip(COLUMNS, rows[2], strict=True))
    assert (nat64["special"], nat64["looked_through"], nat64["looked_through_special"]) == ("nat64", "10.0.0.1", "private")
    assert nat64["asn"] == ""  # the embedded IPv4 is private: not looked up


def test_age_is_reported_against_the_run_time():
    from ipowner.render.terminal.lookup import _age

    now = datetime(2026, 11, 29, tzinfo=UTC)
    assert _age(datetime(2026, 11, 29, 0, 0, 1, tzinfo=UTC), now) == "today"
    assert _age(datetime(2026, 11, 19, tzinfo=UTC), now) == "10 days old"
    assert _age(datetime(2024, 11, 29, tzinfo=UTC), now) == "2.0 years old"
    assert _age(None, now) == "age unknown"
