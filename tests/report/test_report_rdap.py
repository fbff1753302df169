"""The report over RDAP served on 127.0.0.1 from recorded responses (and a hostile recorded-style one)."""

from __future__ import annotations

import copy
import io
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hostile import HOSTILE, RAW_UNSAFE, check_csv, check_markdown, check_terminal
from report_support import T0, dest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the RDAP test server lives in tests/
import ipowner  # noqa: E402
from ipowner.model import InputInfo, TrafficResult  # noqa: E402
from ipowner.render import render  # noqa: E402
from rdap_support import RecordedRdap, _range, load  # noqa: E402

NOW = datetime(2026, 11, 29, tzinfo=UTC)


@pytest.fixture(scope="module")
def server():
    srv = RecordedRdap()
    yield srv
    srv.close()


@pytest.fixture
def rdap_env(server, tmp_path, monkeypatch):
    server.reset()

    def setup(world: str = "main") -> None:
        boot = server.write_bootstrap(tmp_path / f"bootstrap-{world}", world)
        monkeypatch.setenv("IPOWNER_CACHE_DIR", str(tmp_path / "cache"))  # the data folder: tests/conftest.py
        monkeypatch.setenv("IPOWNER_RDAP_BOOTSTRAP", str(boot))
        monkeypatch.setenv("IPOWNER_RDAP_REWRITE", server.rewrite_env(world))

    setup()
    return setup


def traffic(*dests) -> TrafficResult:
    return TrafficResult(inputs=[InputInfo(name="hand-made", sha256=None, format="test", first_seen=T0,
                                           last_seen=T0 + 60)], destinations=list(dests))


def test_nir_space_holder_and_registry_kept_apart(rdap_env, server):
    tr = traffic(dest("2001:240:10c:1::ca20:9d1d", 9000, 100, ["www.iij.example"]), dest("74.125.225.229", 500, 5000),
                 dest("210.107.73.73", 100, 100))
    rep = ipowner.report(tr, now=NOW, discover=False, fail_on=["holder:JPNIC", "holder:KRNIC", "location:KR"])
    by = {d.address: d.jurisdiction for d in rep.destinations}
    jp = by["2001:240:10c:1::ca20:9d1d"]
    assert jp.nir == "JPNIC" and jp.registry == "APNIC"
    assert jp.holder is None or "JPNIC" not in jp.holder.upper()  # the NIR is never the holder
    assert "JPNIC (JP, a national registry under APNIC) registered the space" in jp.verdict
    goog = by["74.125.225.229"]
    assert goog.holder_handle == "GOGL" or "Google" in (goog.holder or "")
    assert goog.registry == "ARIN" and goog.registry_basis == "registry data" and goog.cloud.key == "google"
    kr = by["210.107.73.73"]
    assert kr.nir == "KRNIC" and kr.holder_inferred and kr.verdict.startswith("probably held by")
    # A registry is never the holder, so a gate on the NIR's name does not fire; the location one does.
    assert {(o["address"], o["rule"]) for o in rep.policy.offending} == {("210.107.73.73", "location:KR")}
    assert any(n.source.kind == "rdap" for n in rep.provenance.data_sources)


def _hostile_network(value: str) -> bytes:
    """A recorded ARIN network answer with every text field replaced by ``value``."""
    doc = copy.deepcopy(load("ipwhois/ip_74.125.225.229.rdap.json"))
    doc["name"] = value
    doc["handle"] = value[:200]
    doc["remarks"] = [{"title": value, "description": [value]}]
    for ent in doc.get("entities", []):
        ent["handle"] = value[:200]  # entity handles also end up in request URLs
        ent["vcardArray"] = ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", value],
                                       ["kind", {}, "text", "org"], ["adr", {"label": value}, "text", [""] * 7]]]
    return json.dumps(doc).encode()


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_registry_text_in_every_format(rdap_env, server, kind):
    body = _hostile_network(HOSTILE[kind])
    v, lo, hi = _range(json.loads(body))
    server.worlds["hostile"] = {"arin": [(v, lo, hi, body)]}
    rdap_env("hostile")
    tr = traffic(dest("74.125.225.229", 500, 5000, ["www.google.com"]))
    rep = ipowner.report(tr, now=NOW, discover=False)
    j = rep.destinations[0].jurisdiction
    assert j.holder is not None or rep.destinations[0].record.network is not None  # the hostile answer got in
    outs = {}
    for fmt in ("table", "json", "jsonl", "csv", "markdown", "html"):
        buf = io.StringIO()
        render(rep, fmt, buf)
        outs[fmt] = buf.getvalue()
    check_terminal(outs["table"])
    check_csv(outs["csv"])
    check_markdown(outs["markdown"])
    assert outs["json"].isascii() and outs["jsonl"].isascii()
    assert not RAW_UNSAFE.search(outs["html"].replace("\n", ""))
    assert outs["html"].count("<script") == 1 and "<img" not in outs["html"]
