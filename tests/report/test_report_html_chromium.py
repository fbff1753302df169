"""The HTML report in headless Chromium, looked at as a person would.

Hand-built reports check the map, the tables and sorting; the hostile ones that untrusted text stays
text. Reports of real captures (nDPI's 1kxun, WeChat and sites, offline on the embedded data) and of an
address list are opened at desktop (1280 px) and phone (420 px) widths and printed to US Letter: the
top country stands out by its value and the legend gives numbers, no table cell is narrower than its
longest word, headings sort from the keyboard, nothing spills out of the page at phone width, and
the 1kxun report prints on at most five pages. One browser session serves the whole module.
"""

from __future__ import annotations

import io
import ipaddress
from datetime import UTC, datetime
from pathlib import Path

import pytest
from chromium import (
    AVAILABLE,
    LETTER_CONTENT_PX,
    NARROW_CELLS_JS,
    OUTSIDE_VIEWPORT_JS,
    console_errors,
    print_pdf,
    start,
    stop,
    viewport,
)
from hostile import HOSTILE
from report_support import make_sample
from test_report_escaping import hostile_report

import ipowner
from ipowner.render import render
from ipowner.render.html import render_html
from ipowner.render.report_rows import human_bytes
from ipowner.reports.report import build_report

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not AVAILABLE, reason="chromium and chromedriver are not installed")]

NOW = datetime(2026, 11, 29, tzinfo=UTC)
TRAFFIC = Path(__file__).resolve().parents[1] / "data" / "traffic"
CAPTURES = {"1kxun": "ndpi--1kxun.pcap", "wechat": "ndpi--wechat.pcap", "sites": "ndpi--sites.pcapng"}
# An address list: public servers of the captures above (IPv4 and IPv6) and one LAN address.
ADDRESSES = """\
203.205.151.162 161.117.13.29 52.29.177.177 14.136.136.108 106.187.35.246
172.217.22.14 2a03:2880:f208:c4:face:b00c:0:43fe 2600:9000:25ea:1200:1:12d8:5a00:93a1 192.168.1.1
"""


@pytest.fixture(scope="module")
def browser():
    d = start()
    yield d
    stop(d)


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """The reports of the real inputs, made once for the module (offline, on the embedded data)."""
    mp = pytest.MonkeyPatch()
    base = tmp_path_factory.mktemp("ipowner")
    mp.setenv("IPOWNER_DATA_DIR", str(base / "data"))
    mp.setenv("IPOWNER_CACHE_DIR", str(base / "cache"))
    listing = base / "addresses.txt"
    listing.write_text(ADDRESSES, encoding="utf-8")
    inputs = {name: TRAFFIC / f for name, f in CAPTURES.items()} | {"list": listing}
    out = {name: ipowner.report([p], offline=True, discover=False, now=NOW) for name, p in inputs.items()}
    yield out
    mp.undo()


def open_html(browser, tmp_path, html: str, name: str = "r.html", width: int = 1280):
    p = tmp_path / name
    p.write_text(html, encoding="utf-8")
    viewport(browser, width)
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(p.as_uri())
    return p


def _top(rep, attr: str) -> str:
    rows = [r for r in rep.rollups["location"] if len(r.key) == 2]
    return max(rows, key=lambda r: (getattr(r, attr), r.key)).key


def _rows(js, table: str) -> list[str]:
    return js(f"return Array.from(document.querySelectorAll('#{table} tr[data-address]')).map(r => r.dataset.address)")


# ---------------------------------------------------------------- hand-built reports


def test_report_loads_clean_and_shows_map_and_destinations(browser, tmp_path):
    from selenium.webdriver.common.keys import Keys

    tr, records = make_sample()
    rep = build_report(tr, records, now=NOW)
    open_html(browser, tmp_path, render_html(rep))
    assert console_errors(browser) == []
    js = browser.execute_script
    assert js("return performance.getEntriesByType('resource').length") == 0
    lit = js("return Array.from(document.querySelectorAll('#worldmap .has-traffic')).map(e => e.dataset.cc).sort()")
    assert lit == ["CN", "SG"]
    assert js("return document.querySelectorAll('#worldmap path').length") > 150
    assert js("return document.querySelectorAll('#worldmap g.m-sent circle[data-cc=SG]').length") == 1  # too small to see
    addrs = js("return Array.from(document.querySelectorAll('tr[data-address]')).map(r => r.dataset.address)")
    assert addrs == ["42.62.48.7", "52.74.1.10", "1.1.1.1", "203.0.113.9", "10.0.0.1"]
    assert _rows(js, "dest-table") == addrs[:4] and _rows(js, "local-table") == ["10.0.0.1"]  # the LAN peer apart
    bars = js("return Array.from(document.querySelectorAll('table[data-group=location] [data-key]')).map(e => e.dataset.key)")
    assert bars == ["CN", "SG", "anycast", ""]
    assert js("return document.querySelectorAll('#timeline rect').length") == 4
    assert "Natural Earth" in js("return document.getElementById('sources').textContent")
    # Sorting: "received" from the keyboard, twice (descending, then ascending).
    button = browser.find_element("css selector", "#dest-table th.c-received button")
    button.send_keys(Keys.ENTER)
    assert js("return document.querySelector('#dest-table th.c-received').getAttribute('aria-sort')") == "descending"
    assert _rows(js, "dest-table")[0] == "52.74.1.10"
    button.send_keys(Keys.SPACE)
    assert js("return document.querySelector('#dest-table th.c-received').getAttribute('aria-sort')") == "ascending"
    assert _rows(js, "dest-table")[0] == "203.0.113.9"
    assert js("return document.querySelectorAll('#dest-table th[aria-sort]').length") == 1
    # A detail row opens under its destination, with the verdict.
    more = browser.find_element("css selector", "#dest-table tr[data-address='42.62.48.7'] button.more")
    assert more.get_attribute("aria-expanded") == "false"
    more.click()
    assert more.get_attribute("aria-expanded") == "true"
    detail = browser.find_element("css selector", "#" + more.get_attribute("aria-controls"))
    assert detail.is_displayed() and "CNNIC" in detail.text
    assert console_errors(browser) == []


@pytest.mark.parametrize("kind", ["html", "terminal", "bidi", "markdown", "long"])
def test_hostile_text_stays_text_in_the_dom(browser, tmp_path, kind):
    value = HOSTILE[kind]
    open_html(browser, tmp_path, render_html(hostile_report(value, now=NOW)), f"{kind}.html")
    js = browser.execute_script
    assert console_errors(browser) == []  # an injected inline script, handler or style would be a CSP violation
    assert js("return document.scripts.length") == 1
    assert js("return document.querySelectorAll('img, iframe, object, embed, svg[onload]').length") == 0
    assert js("return document.querySelectorAll('svg').length") == 2  # the map and the timeline
    assert js("return document.querySelectorAll('[style]').length") == 0
    holder = js("return document.querySelector('#dest-table tr[data-address] td.c-holder').textContent")
    assert len(holder) <= 600
    assert not any(ch in holder for ch in "\x1b\x07\u202e\u2066\u200f\n")
    if kind == "html":
        assert holder == value  # shown as text, exactly
    if kind == "terminal":
        assert holder.startswith("evil\\x1b]8;;http://attacker.example/\\x07click")
    if kind == "bidi":
        assert holder == "moc.elgoog\\u202e\\u2066gnp.exe\\u200f"


# ---------------------------------------------------------------- real captures and an address list


@pytest.mark.parametrize("name", ["1kxun", "wechat", "sites", "list"])
def test_real_report_at_desktop_width(browser, tmp_path, reports, name):
    """The map shows the top country by its value with numbers in the legend; cells hold their words;
    headings are buttons that sort from the keyboard; only the input's file name is shown."""
    from selenium.webdriver.common.keys import Keys

    rep = reports[name]
    html = render_html(rep)
    open_html(browser, tmp_path, html, f"{name}.html")
    js = browser.execute_script
    assert console_errors(browser) == []
    assert js("return performance.getEntriesByType('resource').length") == 0
    csp = js("return document.querySelector('meta[http-equiv=Content-Security-Policy]').content")
    assert "default-src 'none'" in csp and "unsafe-inline" not in csp

    # The map: the default measure is bytes sent, or destinations for an address list.
    has_bytes = name != "list"
    measure, attr = ("s", "bytes_sent") if has_bytes else ("d", "destinations")
    group = {"s": "m-sent", "d": "m-dest"}[measure]
    top = _top(rep, attr)
    assert f"k{measure}5" in js(f"return document.querySelector('#worldmap path[data-cc={top}]').getAttribute('class')")
    legend = js("return Array.from(document.querySelectorAll('ul.legend')).filter(u => getComputedStyle(u).display !== 'none')"
                ".map(u => Array.from(u.querySelectorAll('li.lk')).map(li => [li.dataset.k, li.textContent]))")
    assert len(legend) == 1 and legend[0][-1][0] == "5"  # one legend shown, the top class last
    assert all(any(c.isdigit() for c in text) for _, text in legend[0])  # every class says its values
    top_row = next(r for r in rep.rollups["location"] if r.key == top)
    top_value = getattr(top_row, attr)
    assert (human_bytes(top_value) if has_bytes else str(top_value)) in legend[0][-1][1]
    circles = js(f"return Array.from(document.querySelectorAll('#worldmap g.{group} circle[data-cc]'))"
                 ".map(c => [c.dataset.cc, +c.dataset.v, +c.getAttribute('r'), c.getBoundingClientRect().width])")
    sizes = {cc: (v, r, w) for cc, v, r, w in circles}
    v_top, r_top, w_top = sizes[top]
    assert r_top == max(r for _, r, _ in sizes.values()) and w_top >= 40  # the largest symbol, and big
    assert all(r < r_top for v, r, _ in sizes.values() if v < v_top)
    assert min(w for _, _, w in sizes.values()) >= 4  # the smallest still shows
    # Focus on a symbol names the country, its values and its share.
    js(f"document.querySelector('#worldmap g.{group} circle[data-cc={top}]').focus()")
    info = js("return document.getElementById('map-info').textContent")
    assert "%" in info and info.startswith(js(f"return document.querySelector('#worldmap path[data-cc={top}] title').textContent.split(':')[0]"))
    if has_bytes:  # the switch: bytes received
        browser.find_element("css selector", "#m-recv").click()
        top_r = _top(rep, "bytes_received")
        assert "kr5" in js(f"return document.querySelector('#worldmap path[data-cc={top_r}]').getAttribute('class')")
        recv = js("return Array.from(document.querySelectorAll('#worldmap g.m-recv circle[data-cc]'))"
                  ".map(c => [c.dataset.cc, c.getBoundingClientRect().width])")
        assert max(recv, key=lambda x: x[1])[0] == top_r
        assert js("return getComputedStyle(document.querySelector('#worldmap g.m-sent')).display") == "none"
        browser.find_element("css selector", "#m-sent").click()
    else:
        assert not js("return document.querySelector('fieldset.measure').checkVisibility()")

    # No cell narrower than its longest word, in every table the page shows.
    assert js(NARROW_CELLS_JS) == []
    # Tables: a caption each, column headings scoped, sortable ones as focusable buttons.
    assert js("return Array.from(document.querySelectorAll('table')).filter(t => !t.caption).length") == 0
    assert js("return document.querySelectorAll('thead th:not([scope=col])').length") == 0
    buttons = js("return Array.from(document.querySelectorAll('table.sortable thead th'))"
                 ".filter(th => th.checkVisibility()).map(th => "
                 "{ var b = th.querySelector('button'); if (!b) return 'none'; b.focus(); "
                 "return document.activeElement === b ? 'focus' : 'no focus'; })")
    assert buttons and set(buttons) == {"focus"}
    # Internet destinations only in the main table; local, multicast and broadcast collapsed apart.
    internet = [d.address for d in rep.internet]
    assert _rows(js, "dest-table") == internet
    local = [d.address for d in rep.destinations if d.scope != "internet"]
    assert _rows(js, "local-table") == local
    if local:
        assert js("return document.querySelector('details.local').open") is False
    # Sort by address from the keyboard: numeric, IPv4 before IPv6; by sent: by value.
    browser.find_element("css selector", "#dest-table th.c-address button").send_keys(Keys.ENTER)
    by_address = sorted(internet, key=lambda a: (ipaddress.ip_address(a).version, int(ipaddress.ip_address(a))))
    assert _rows(js, "dest-table") == by_address
    if has_bytes:
        sent = browser.find_element("css selector", "#dest-table th.c-sent button")
        sent.send_keys(Keys.SPACE)  # not the sorted column: a number sorts largest first
        by_sent = sorted(rep.internet, key=lambda d: -d.bytes_sent)
        assert [d.bytes_sent for d in by_sent] == [next(x for x in rep.internet if x.address == a).bytes_sent
                                                   for a in _rows(js, "dest-table")]
        assert js("return document.querySelector('#dest-table th.c-sent').getAttribute('aria-sort')") == "descending"
    # Sizes in human units, the exact count on hover.
    if has_bytes:
        cell = js("return [document.querySelector('#dest-table td.c-sent').textContent, "
                  "document.querySelector('#dest-table td.c-sent').title]")
        assert cell[0].endswith("B") and cell[1].endswith(" bytes") and cell[1][0].isdigit()
    # Only the input's file name: no folder of the analyst's machine.
    text = js("return document.documentElement.outerHTML")
    assert str(TRAFFIC) not in text and str(TRAFFIC.parent) not in text and "/tmp/" not in text
    assert rep.provenance.inputs[0].sha256 not in text
    assert Path(rep.provenance.inputs[0].name).name in js("return document.querySelector('h1').textContent")
    assert console_errors(browser) == []


@pytest.mark.parametrize("name", ["1kxun", "wechat", "sites", "list"])
def test_real_report_at_phone_width(browser, tmp_path, reports, name):
    """At 420 px nothing reaches past the screen outside a scroll container; bars and tables stay."""
    open_html(browser, tmp_path, render_html(reports[name]), f"{name}-phone.html", width=420)
    js = browser.execute_script
    assert js("return window.innerWidth") == 420
    assert js("return document.documentElement.scrollWidth") <= 420
    assert js(OUTSIDE_VIEWPORT_JS) == []
    assert js("return Array.from(document.querySelectorAll('table')).filter(t => !t.closest('.scroll')).length") == 0
    bars = js("return Array.from(document.querySelectorAll('#jurisdictions .bar')).map(b => b.getBoundingClientRect().width)")
    assert bars and max(bars) > 10  # the bars are still drawn
    assert js("return document.getElementById('worldmap').getBoundingClientRect().width") <= 420
    assert js(NARROW_CELLS_JS) == []


def test_1kxun_prints_on_at_most_five_letter_pages(browser, tmp_path, reports):
    """Printed to US Letter: at most five pages, the summary and the map on the first, nothing wider than
    the page (Chrome would shrink it all to fit), no interactive hint."""
    from pypdf import PdfReader

    open_html(browser, tmp_path, render_html(reports["1kxun"]), "1kxun-print.html")
    pdf = PdfReader(io.BytesIO(print_pdf(browser)))
    assert 1 <= len(pdf.pages) <= 5
    first = pdf.pages[0].extract_text()
    assert "Summary" in first and "Where the servers are" in first and "Bytes sent per country" in first
    assert all("Sort by a column" not in p.extract_text() for p in pdf.pages)
    # The destinations run over a page break: the next page starts with their headings again.
    assert any(p.extract_text().startswith("# address hostnames") for p in pdf.pages[1:])
    # Laid out as print media at the page's width: nothing overflows, the hints and switches are gone.
    viewport(browser, LETTER_CONTENT_PX, media="print")
    js = browser.execute_script
    assert js("return document.documentElement.scrollWidth") <= LETTER_CONTENT_PX
    assert js("return document.getElementById('dest-table').getBoundingClientRect().right") <= LETTER_CONTENT_PX
    hidden = js("return ['.hint', 'fieldset.measure', 'button.more', '#map-info'].map(s => "
                "Array.from(document.querySelectorAll(s)).every(e => getComputedStyle(e).display === 'none'))")
    assert all(hidden)
    assert js("return getComputedStyle(document.querySelector('#dest-table thead')).display") == "table-header-group"
    assert js(NARROW_CELLS_JS) == []


@pytest.mark.parametrize("name", ["wechat", "list"])
def test_other_reports_print_without_overflow(browser, tmp_path, reports, name):
    open_html(browser, tmp_path, render_html(reports[name]), f"{name}-print.html")
    viewport(browser, LETTER_CONTENT_PX, media="print")
    assert browser.execute_script("return document.documentElement.scrollWidth") <= LETTER_CONTENT_PX


def test_1kxun_timeline_shows_two_periods_with_axes(browser, tmp_path, reports):
    """nDPI's 1kxun was recorded in 2016 and 2022: two panels with a break, time ticks and value ticks."""
    open_html(browser, tmp_path, render_html(reports["1kxun"]), "1kxun-timeline.html")
    js = browser.execute_script
    labels = js("return Array.from(document.querySelectorAll('#timeline text.seg')).map(t => t.textContent)")
    assert any(x.startswith("2016-08-02") for x in labels) and any(x.startswith("2022-06-04") for x in labels)
    assert js("return document.querySelectorAll('#timeline path.brk').length") >= 1
    ticks = js("return Array.from(document.querySelectorAll('#timeline text:not(.seg)')).map(t => t.textContent)")
    assert sum(1 for t in ticks if t.count(":") >= 1) >= 4  # times of day
    assert any(t.endswith("kB") for t in ticks) and any(t.endswith("MB") for t in ticks)  # sent and received scales
    desc = js("return document.getElementById('timeline-desc').textContent")
    assert "per minute" in desc and "sent above" in desc and "2 periods of traffic" in desc
    # Hovering a bucket names the jurisdictions in it.
    tips = js("return Array.from(document.querySelectorAll('#timeline g.b title')).map(t => t.textContent)")
    assert len(tips) == len(reports["1kxun"].timeline) and any("Singapore" in t for t in tips)


def test_diff_of_two_captures_in_the_house_style(browser, tmp_path, reports):
    """The diff of two captures: whole addresses, human units with exact counts, columns only where used."""
    diff = ipowner.diff_reports(reports["1kxun"], reports["wechat"])
    buf = io.StringIO()
    render(diff, "html", buf)
    open_html(browser, tmp_path, buf.getvalue(), "diff.html")
    js = browser.execute_script
    assert console_errors(browser) == []
    assert js("return performance.getEntriesByType('resource').length") == 0
    assert "unsafe-inline" not in js("return document.querySelector('meta[http-equiv=Content-Security-Policy]').content")
    addrs = js("return Array.from(document.querySelectorAll('#diff-table .addr')).map(e => [e.textContent, "
               "Array.from(e.getClientRects()).length])")
    expected = {d.address for d in diff.destinations.added} | {d.address for d in diff.destinations.removed}
    assert {a for a, _ in addrs} == expected
    assert all(n == 1 for _, n in addrs)  # each on one line, whole
    assert js(NARROW_CELLS_JS) == []
    heads = js("return Array.from(document.querySelectorAll('#diff-table thead th')).map(th => th.textContent)")
    assert heads == ["change", "what", "details", "sent", "received"]
    assert not any("_" in x for x in heads)
    sent = js("return Array.from(document.querySelectorAll('#diff-table td.c-sent span[title]:not(.delta)')).map(s => [s.textContent, s.title])")
    assert sent and all(t.endswith("B") and title.endswith("bytes") for t, title in sent)
    assert "\u2192" in js("return document.querySelector('#diff-table tr[data-change=bytes] td.c-sent').textContent")
    text = js("return document.documentElement.outerHTML")
    assert str(TRAFFIC) not in text and reports["1kxun"].provenance.inputs[0].sha256 not in text
    viewport(browser, 420)
    assert js("return document.documentElement.scrollWidth") <= 420


def test_wechat_capture_report_in_chromium(browser, tmp_path, reports):
    """Done-when: the report of a real capture opens clean and maps its countries."""
    rep = reports["wechat"]
    open_html(browser, tmp_path, render_html(rep), "wechat.html")
    js = browser.execute_script
    assert console_errors(browser) == []
    assert js("return performance.getEntriesByType('resource').length") == 0
    lit = set(js("return Array.from(document.querySelectorAll('#worldmap [data-cc].has-traffic, #worldmap circle[data-cc]'))"
                 ".map(e => e.dataset.cc)"))
    assert lit == {d.jurisdiction.location_country for d in rep.internet if d.jurisdiction.location_country}
    assert {"CN", "SG", "US"} <= lit
    rows = js("return Array.from(document.querySelectorAll('tr[data-address]')).map(r => r.dataset.address)")
    assert rows == [d.address for d in rep.internet] + [d.address for d in rep.destinations if d.scope != "internet"]
    assert set(rows) == {d.address for d in rep.destinations}
    assert rows[0] == "203.205.151.162"
