"""The HTML pages' parts without a browser: map classes, ticks, periods of traffic, sort keys, the shell."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
from html.parser import HTMLParser

from report_support import T0, make_sample

from ipowner.model.report import Report
from ipowner.render._page import address_key, cell_text, file_name, page, script, stylesheet
from ipowner.render._scale import PALETTE, classes, duration, period, share, ticks, time_ticks
from ipowner.render._timeline import periods
from ipowner.render.html import render_html
from ipowner.reports.report import build_report


def test_classes_put_the_largest_value_alone_in_the_darkest_class():
    # 1kxun's bytes sent per country: one class per cluster, the top class the darkest.
    sent = [625, 4329, 7680, 13559, 14043, 17579, 31631, 33993]
    c = classes(sent)
    assert c is not None and c.kind == "log" and len(c.spans) == PALETTE
    assert c.shade(33993) == PALETTE and c.shade(625) == 1
    assert c.spans[0][0] == 625 and c.spans[-1][1] == 33993  # the legend's bounds are real values
    recv = [734, 13605, 21674, 31241, 262102, 347951, 605583, 1044148]
    assert classes(recv).shade(1044148) == PALETTE  # type: ignore[union-attr]
    assert classes(recv).shade(31241) < PALETTE  # type: ignore[union-attr]


def test_classes_keep_ties_together_and_never_exceed_the_distinct_values():
    c = classes([1, 1, 1, 1, 1, 1, 3])
    assert c is not None and c.spans == ((1, 1), (3, 3)) and c.palette == (1, PALETTE)
    assert classes([5, 5, 5]).spans == ((5, 5),)  # type: ignore[union-attr]
    assert classes([0, 0]) is None
    c = classes([2, 3, 3, 4, 9])
    assert c is not None and c.kind == "linear"
    assert all(c.index(3) == c.index(v) for v in (3,)) and c.shade(9) == PALETTE


def test_ticks_and_units():
    assert ticks(48888, most=2) == [0.0, 50000.0]
    assert ticks(1482036, most=2) == [0.0, 1e6, 2e6]
    step, tt = time_ticks(T0, T0 + 180, 4)
    assert step == 60 and all(t % 60 == 0 for t in tt)
    assert duration(5.8 * 365.25 * 86400) == "5.8 years" and duration(54 * 60) == "54 min"
    assert period(1470104340, 1470104460) == "2016-08-02 02:19\u201302:21 UTC"
    assert share(1, 3) == "33.3%" and share(1, 100000) == "<0.1%" and share(5, 5) == "100%"


def test_periods_break_at_long_gaps_only():
    rep = Report(timeline_bucket=60.0)
    rep.timeline = [(T0, 1, 1), (T0 + 60, 1, 1), (T0 + 300, 1, 1)]  # a 3-minute pause: one period
    assert periods(rep) == [(T0, T0 + 360)]
    six_years = 6 * 365 * 86400
    rep.timeline += [(T0 + six_years, 1, 1), (T0 + six_years + 60, 1, 1)]
    assert periods(rep) == [(T0, T0 + 360), (T0 + six_years, T0 + six_years + 120)]


def test_address_key_sorts_numerically_ipv4_first():
    addrs = ["2001:db8::1", "104.16.1.1", "14.136.0.1", "103.29.71.30", "::ffff:1.2.3.4", "8.8.8.8"]
    by_key = sorted(addrs, key=address_key)
    assert by_key == sorted(addrs, key=lambda a: (ipaddress.ip_address(a).version, int(ipaddress.ip_address(a))))
    assert by_key[:4] == ["8.8.8.8", "14.136.0.1", "103.29.71.30", "104.16.1.1"]


def test_file_name_and_whole_words():
    assert file_name("/home/analyst/cases/phone.pcap") == "phone.pcap"
    assert file_name("C:\\Users\\a\\phone.pcap") == "phone.pcap" and file_name("-") == "-"
    html = cell_text("AS6878 T-Systems International GmbH")
    assert '<span class="nw">T-Systems</span>' in html
    assert re.sub(r"<[^>]+>", "", html) == "AS6878 T-Systems International GmbH"  # the text is unchanged
    assert cell_text("<b>x-y</b>") == '<span class="nw">&lt;b&gt;x-y&lt;/b&gt;</span>'


class _Doc(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.csp = ""
        self.style = self.js = ""
        self._in = ""
        self.styled: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "meta" and a.get("http-equiv") == "Content-Security-Policy":
            self.csp = a["content"] or ""
        if "style" in a:
            self.styled.append(tag)
        self._in = tag

    def handle_data(self, data):
        if self._in == "style":
            self.style += data
        elif self._in == "script":
            self.js += data

    def handle_endtag(self, tag):
        self._in = ""


def _digest(text: str) -> str:
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def test_the_page_allows_its_own_style_and_script_by_hash_and_nothing_else():
    tr, records = make_sample()
    d = _Doc()
    d.feed(render_html(build_report(tr, records)))
    assert d.style == stylesheet() and d.js == script()
    assert f"style-src 'sha256-{_digest(d.style)}'" in d.csp and f"script-src 'sha256-{_digest(d.js)}'" in d.csp
    assert "unsafe" not in d.csp and "default-src 'none'" in d.csp
    assert d.styled == []  # no style attribute: the CSP would refuse it
    assert "script-src 'none'" in page("t", "<p>x</p>", with_script=False)


def test_only_file_names_reach_the_page():
    tr, records = make_sample()
    tr.inputs[0].name = "/home/analyst/cases/2026-11/phone.pcap"
    rep = build_report(tr, records, command_line=["ipowner", "report", "/home/analyst/cases/2026-11/phone.pcap",
                                                  "--fail-on", "location:CN"])
    html = render_html(rep)
    assert "/home/analyst" not in html and "phone.pcap" in html and "location:CN" in html
    assert "ab" * 32 not in html  # the digest stays in the JSON provenance
