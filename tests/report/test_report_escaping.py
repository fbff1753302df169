"""Hostile text in every field of every report format, checked where a reader meets it.

Registry-derived fields (holder name and handle, AS name, the unknown-holder reason) and capture
fields (hostnames, input name, app names) are filled with each hostile class through hand-built
records; the crafted-capture variant lives in test_report_capture_escaping.py.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from hostile import HOSTILE, RAW_UNSAFE, check_csv, check_markdown, check_terminal
from report_support import T0, dest, rec

import ipowner.render
from ipowner.model import Hostname, InputInfo, TrafficResult
from ipowner.reports.report import build_report


def hostile_report(value: str, now=datetime(2026, 11, 29, tzinfo=UTC)):
    d1 = dest("52.74.1.10", 5000, 900, [value, "ok.example.com"], apps=[value], devices=["10.0.0.2"])
    d1.hostnames.append(Hostname(value, "dns", concealment=None))
    d2 = dest("42.62.48.7", 4000, 100, [value])
    tr = TrafficResult(inputs=[InputInfo(name=value, sha256="00" * 32, format="pcap", first_seen=T0, last_seen=T0 + 9)],
                       destinations=[d1, d2], timeline={"52.74.1.10": [(T0, 5000, 900)]})
    records = {
        "52.74.1.10": rec("52.74.1.10", country="SG", asn=16509, as_name=value, holder=value, holder_country="US",
                          handle=value, chain=[("rir", value)]),
        "42.62.48.7": rec("42.62.48.7", country="CN", reason=value),
    }
    return build_report(tr, records, now=now, fail_on=["location:SG", f"holder:{value[:20] or 'x'}"],
                        command_line=["ipowner", "report", value])


def render(rep, fmt: str) -> str:
    buf = io.StringIO()
    ipowner.render.render(rep, fmt, buf)
    return buf.getvalue()


def render_verbose(rep) -> str:
    buf = io.StringIO()
    ipowner.render.render(rep, "table", buf, verbose=True, width=80)
    return buf.getvalue()


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += attrs

    def handle_data(self, data):
        self.text.append(data)


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_every_format_escapes(kind):
    value = HOSTILE[kind]
    rep = hostile_report(value)
    assert rep.destinations[0].jurisdiction.holder == value  # the value really is in the report

    check_terminal(render(rep, "table"))
    check_terminal(render_verbose(rep))
    # CSV is one kind of row per table (issue 14): destinations, then the rollups and sources beside them.
    rows = check_csv(render(rep, "csv"))
    assert rows[0][:2] == ["rank", "address"] and len(rows) == 1 + len(rep.destinations)
    for name, writer in ipowner.render.companions("report", "csv").items():
        buf = io.StringIO()
        writer(rep, buf)
        table = check_csv(buf.getvalue())
        assert table[0][0] == ("rank" if name == "peers" else "group") and (len(table) > 1 or name == "peers"), name
    tsv = render(rep, "tsv")
    assert not RAW_UNSAFE.search(tsv.replace("\n", "").replace("\t", ""))
    assert all(line.count("\t") == tsv.splitlines()[0].count("\t") for line in tsv.splitlines())
    check_markdown(render(rep, "markdown"))

    for fmt in ("json", "jsonl"):
        text = render(rep, fmt)
        assert text.isascii()  # controls and bidi stay \u escapes
        assert not RAW_UNSAFE.search(text)
        docs = [json.loads(line) for line in text.splitlines()] if fmt == "jsonl" else [json.loads(text)]
        assert docs  # JSON keeps the value exactly: it is data for programs, not text for a terminal
    doc = json.loads(render(rep, "json"))
    assert doc["destinations"][0]["jurisdiction"]["holder"] == value

    html = render(rep, "html")
    assert not RAW_UNSAFE.search(html.replace("\n", ""))
    p = _Collect()
    p.feed(html)
    assert p.tags.count("script") == 1 and "img" not in p.tags
    assert not [a for a, _ in p.attrs if a.startswith("on")]
    assert len(html) < 600_000


def test_visible_escapes_keep_the_evidence():
    """The hostile text is shown, made visible, not silently dropped."""
    rep = hostile_report(HOSTILE["html"])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in render(rep, "html")
    rep = hostile_report(HOSTILE["bidi"])
    assert "\\u202e" in render(rep, "table")
    rows = check_csv(render(hostile_report(HOSTILE["formula_eq"]), "csv"))
    assert any(c.startswith("'=HYPERLINK") for r in rows for c in r)
    assert "…\\[\\+" in render(hostile_report(HOSTILE["long"]), "markdown")


@pytest.mark.parametrize("kind", sorted(HOSTILE))
@pytest.mark.parametrize("width", [80, 200])
def test_every_terminal_view_escapes_at_every_width(kind, width):
    from ipowner.model.lookup import LookupResult
    from ipowner.reports.diff import diff_reports

    value = HOSTILE[kind]
    rep = hostile_report(value)
    empty = build_report(TrafficResult(), {}, now=datetime(2026, 11, 29, tzinfo=UTC))
    tr = TrafficResult(inputs=rep.provenance.inputs, destinations=[d.destination for d in rep.destinations],
                       devices=[value])
    docs = [rep, diff_reports(empty, rep), diff_reports(rep, empty), tr,
            LookupResult(records=[d.record for d in rep.destinations if d.record is not None])]
    for doc in docs:
        for verbose in (False, True):
            buf = io.StringIO()
            ipowner.render.render(doc, "table", buf, width=width, verbose=verbose)
            text = buf.getvalue()
            check_terminal(text)
            assert max(len(line) for line in text.splitlines()) <= width, type(doc).__name__
