"""The HTML report in headless Chromium: no console error, no request, the map and the destinations."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from chromium import AVAILABLE, console_errors, start, stop
from hostile import HOSTILE
from report_support import make_sample
from test_report_escaping import hostile_report

from ipowner.render.html import render_html
from ipowner.reports.report import build_report

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not AVAILABLE, reason="chromium and chromedriver are not installed")]

NOW = datetime(2026, 11, 29, tzinfo=UTC)


@pytest.fixture(scope="module")
def browser():
    d = start()
    yield d
    stop(d)


def open_html(browser, tmp_path, html: str, name: str = "r.html"):
    p = tmp_path / name
    p.write_text(html, encoding="utf-8")
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(p.as_uri())
    return p


def test_report_loads_clean_and_shows_map_and_destinations(browser, tmp_path):
    tr, records = make_sample()
    rep = build_report(tr, records, now=NOW)
    open_html(browser, tmp_path, render_html(rep))
    assert console_errors(browser) == []
    js = browser.execute_script
    assert js("return performance.getEntriesByType('resource').length") == 0
    lit = js("return Array.from(document.querySelectorAll('#worldmap .has-traffic')).map(e => e.dataset.cc).sort()")
    assert lit == ["CN", "SG"]
    assert js("return document.querySelectorAll('#worldmap path').length") > 150
    assert js("return document.querySelectorAll('#worldmap circle[data-cc=SG]').length") == 1  # too small to see
    addrs = js("return Array.from(document.querySelectorAll('#dest-table tbody tr')).map(r => r.dataset.address)")
    assert addrs == ["42.62.48.7", "52.74.1.10", "1.1.1.1", "203.0.113.9", "10.0.0.1"]
    bars = js("return Array.from(document.querySelectorAll('.bars[data-group=location] [data-key]')).map(e => e.dataset.key)")
    assert bars == ["CN", "SG", "anycast", ""]
    assert js("return document.querySelectorAll('#timeline rect').length") == 4
    assert "Natural Earth" in js("return document.getElementById('sources').textContent")
    # Sorting: click "received" twice (descending, then ascending).
    th = browser.find_elements("css selector", "#dest-table th")[10]
    th.click()
    first = js("return document.querySelector('#dest-table tbody tr').dataset.address")
    assert first == "10.0.0.1"
    th.click()
    assert js("return document.querySelector('#dest-table tbody tr').dataset.address") == "203.0.113.9"
    assert console_errors(browser) == []


@pytest.mark.parametrize("kind", ["html", "terminal", "bidi", "markdown", "long"])
def test_hostile_text_stays_text_in_the_dom(browser, tmp_path, kind):
    value = HOSTILE[kind]
    open_html(browser, tmp_path, render_html(hostile_report(value, now=NOW)), f"{kind}.html")
    js = browser.execute_script
    assert console_errors(browser) == []  # an injected inline script or handler would be a CSP violation
    assert js("return document.scripts.length") == 1
    assert js("return document.querySelectorAll('img, iframe, object, embed, svg[onload]').length") == 0
    assert js("return document.querySelectorAll('svg').length") == 2  # the map and the timeline
    holder = js("return document.querySelector('#dest-table tbody tr').cells[4].textContent")
    assert len(holder) <= 600
    assert not any(ch in holder for ch in "\x1b\x07\u202e\u2066\u200f\n")
    if kind == "html":
        assert holder == value  # shown as text, exactly
    if kind == "terminal":
        assert holder.startswith("evil\\x1b]8;;http://attacker.example/\\x07click")
    if kind == "bidi":
        assert holder == "moc.elgoog\\u202e\\u2066gnp.exe\\u200f"


def test_wechat_capture_report_in_chromium(browser, tmp_path, monkeypatch):
    """Done-when: the report of a real capture opens clean and maps its countries."""
    from pathlib import Path

    import ipowner

    monkeypatch.setenv("IPOWNER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IPOWNER_CACHE_DIR", str(tmp_path / "cache"))
    wechat = Path(__file__).resolve().parents[1] / "data" / "traffic" / "ndpi--wechat.pcap"
    rep = ipowner.report([wechat], offline=True, discover=False, now=NOW)
    open_html(browser, tmp_path, render_html(rep), "wechat.html")
    js = browser.execute_script
    assert console_errors(browser) == []
    assert js("return performance.getEntriesByType('resource').length") == 0
    lit = set(js("return Array.from(document.querySelectorAll('#worldmap [data-cc].has-traffic, #worldmap circle'))"
                 ".map(e => e.dataset.cc)"))
    assert lit == {d.jurisdiction.location_country for d in rep.internet if d.jurisdiction.location_country}
    assert {"CN", "SG", "US"} <= lit
    rows = js("return Array.from(document.querySelectorAll('#dest-table tbody tr')).map(r => r.dataset.address)")
    assert rows == [d.address for d in rep.destinations]
    assert rows[0] == "203.205.151.162"
