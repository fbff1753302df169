"""Hostile DNS names, TLS SNI and HTTP Host in a crafted capture, through the readers into every format."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from crafted_pcap import HTTP_SERVER, TLS_SERVER, write_crafted
from hostile import HOSTILE, RAW_UNSAFE, check_csv, check_markdown, check_terminal

import ipowner
from ipowner.render import render

NOW = datetime(2026, 11, 29, tzinfo=UTC)
# The Host header ends at CR/LF, so those two cannot be carried by it; DNS labels are cut to 63 bytes.
KINDS = sorted(HOSTILE)


@pytest.fixture(scope="module")
def data_env(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    base = tmp_path_factory.mktemp("ipowner")
    mp.setenv("IPOWNER_DATA_DIR", str(base / "data"))
    mp.setenv("IPOWNER_CACHE_DIR", str(base / "cache"))
    yield
    mp.undo()


def crafted_report(tmp_path, value: str):
    raw = value.encode("utf-8")
    raw = raw[:60_000]  # an IPv4 packet (and the SNI length field) stops at 64 KiB
    pcap = tmp_path / "crafted-synthetic.pcap"
    write_crafted(pcap, raw, raw, raw.replace(b"\r", b"").replace(b"\n", b""))
    return ipowner.report([pcap], offline=True, discover=False, now=NOW, fail_on=["location:SG"])


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [a for a, _ in attrs]


@pytest.mark.parametrize("kind", KINDS)
def test_crafted_capture_every_format(tmp_path, data_env, kind):
    rep = crafted_report(tmp_path, HOSTILE[kind])
    by = {d.address: d for d in rep.destinations}
    assert {h.source for h in by[TLS_SERVER].hostnames} >= {"sni"}  # the hostile value really got in
    assert by[HTTP_SERVER].hostnames
    outs = {}
    for fmt in ("table", "json", "jsonl", "csv", "markdown", "html"):
        buf = io.StringIO()
        render(rep, fmt, buf)
        outs[fmt] = buf.getvalue()
    check_terminal(outs["table"])
    check_csv(outs["csv"])
    check_markdown(outs["markdown"])
    for fmt in ("json", "jsonl"):
        assert outs[fmt].isascii() and not RAW_UNSAFE.search(outs[fmt])
    json.loads(outs["json"])
    t = _Tags()
    t.feed(outs["html"])
    assert t.tags.count("script") == 1 and "img" not in t.tags
    assert not [a for a in t.attrs if a.startswith("on")]
    assert not RAW_UNSAFE.search(outs["html"].replace("\n", ""))


@pytest.mark.slow  # Chromium
def test_crafted_capture_in_chromium(tmp_path, data_env):
    from chromium import AVAILABLE, console_errors, start, stop

    if not AVAILABLE:
        pytest.skip("chromium and chromedriver are not installed")
    from ipowner.render.html import render_html

    rep = crafted_report(tmp_path, HOSTILE["html"])
    page = tmp_path / "crafted.html"
    page.write_text(render_html(rep), encoding="utf-8")
    d = start()
    try:
        d.get(page.as_uri())
        assert console_errors(d) == []
        assert d.execute_script("return document.scripts.length") == 1
        cells = d.execute_script(
            "return Array.from(document.querySelectorAll('#dest-table tr[data-address]')).map(r => "
            "[r.dataset.address, r.querySelector('.c-hostnames').textContent])")
        names = dict(cells)[TLS_SERVER]
        assert "<script>alert(1)</script>" in names  # shown as text
        assert d.execute_script("return document.querySelectorAll('#worldmap .has-traffic').length") >= 1
    finally:
        stop(d)
