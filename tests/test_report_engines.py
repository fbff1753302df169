"""`ipowner report --engine duckdb` writes the same documents as the Python engine (issue 16, item 3).

Differential: the same input through ``report()`` and through ``engines.report_duck.spool_report`` (in small
batches, so that batching is exercised), both written as JSON and as JSON Lines, compared as text: captures
of tests/data offline, a synthetic capture big enough for the laid-out JSON form (past 1 MiB) with ties in
bytes, and destinations answered by the loopback RDAP server (online, then from the RDAP cache offline).
"""

from __future__ import annotations

import importlib.util
import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ipowner.model import Destination, Hostname, InputInfo, TrafficResult
from ipowner.render.report_json import write_report_json, write_report_jsonl
from ipowner.reports.report import read_traffic, report

pytest.importorskip("duckdb")
pytest.importorskip("pyarrow")

from ipowner.engines.report_duck import spool_report  # noqa: E402
from ipowner.render.report_stream import encoder, write_spooled  # noqa: E402

HERE = Path(__file__).resolve().parent
TRAFFIC = HERE / "data" / "traffic"
NOW = datetime(2026, 11, 29, tzinfo=UTC)
RULES = ["location:US,CN", "unknown:holder", "holder:google"]
T0 = 1_700_000_000.0


def _python(tr: TrafficResult, fmt: str, **kw) -> str:
    rep = report(tr, now=NOW, command_line=["ipowner", "report"], **kw)
    out = io.StringIO()
    (write_report_json if fmt == "json" else write_report_jsonl)(rep, out)
    return out.getvalue()


def _duck(tr: TrafficResult, fmt: str, batch: int, **kw) -> str:
    out = io.StringIO()
    with spool_report(tr, encode=encoder(fmt), now=NOW, command_line=["ipowner", "report"], batch=batch,
                      memory_limit="64MB", **kw) as spooled:
        write_spooled(spooled, fmt, out)
    return out.getvalue()


def _same(read, fmt: str, batch: int, **kw) -> str:
    a = _python(read(), fmt, **kw)
    b = _duck(read(), fmt, batch, **kw)
    assert a == b
    return a


CAPTURES = ["ndpi--wechat.pcap", "ndpi--instagram.pcap", "ndpi--http_ipv6.pcap", "ndpi--sites.pcapng",
            "logs/wikipedia.pcap.conn.log"]


@pytest.mark.parametrize("name", CAPTURES)
@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_captures_offline_same_documents(name: str, fmt: str) -> None:
    text = _same(lambda: read_traffic([TRAFFIC / name], None), fmt, 3, offline=True, fail_on=RULES)
    if fmt == "json":
        doc = json.loads(text)
        assert doc["destinations"] and doc["rollups"]["location"]  # something to compare
        # ranks: bytes sent down; rollups: bytes sent down
        sent = [d["bytes_sent"] for d in doc["destinations"] if d["scope"] == "internet"]
        assert sent == sorted(sent, reverse=True)


def test_captures_in_one_report_and_the_device_option() -> None:
    paths = [TRAFFIC / "ndpi--wechat.pcap", TRAFFIC / "ndpi--weibo.pcap"]
    _same(lambda: read_traffic(paths, None), "json", 5, offline=True)
    dev = read_traffic([TRAFFIC / "ndpi--iphone.pcap"], None).destinations[0].address
    _same(lambda: read_traffic([TRAFFIC / "ndpi--iphone.pcap"], [dev]), "jsonl", 4, offline=True)


@pytest.fixture(scope="module")
def big_capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "synthetic-destinations.pcap"
    subprocess.run([sys.executable, str(HERE.parent / "bench" / "gen_destinations.py"), str(out),
                    "--destinations", "2500", "--names", "1", "--dns-only", "50"], check=True, capture_output=True)
    return out


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_big_document_laid_out_and_ties_broken_alike(big_capture: Path, fmt: str) -> None:
    text = _same(lambda: read_traffic([big_capture], None), fmt, 300, offline=True, fail_on=["location:US"])
    if fmt == "json":
        assert len(text) > 1 << 20 and '\n    {"address"' in text  # laid out: one destination a line
        doc = json.loads(text)
        assert doc["totals"]["destinations"] == 2500
        sent = {d["bytes_sent"] for d in doc["destinations"]}
        assert len(sent) < 10  # mostly ties: the address decides the order
        assert len(doc["rollups"]["domain"]) >= 2500


def _dest(address: str, sent: int, recv: int, names=(), scope="internet", devices=("10.0.0.2",)) -> Destination:
    return Destination(address=address, scope=scope, flows=1, packets_sent=sent // 100 + 1,
                       packets_received=recv // 100 + 1, bytes_sent=sent, bytes_received=recv, first_seen=T0,
                       last_seen=T0 + 50, hostnames=[Hostname(n, "sni") for n in names], ports=["tcp/443"],
                       devices=list(devices))


def _hand_made() -> TrafficResult:
    # Ties in bytes (the address breaks them), IPv6, a LAN peer, special-purpose space, two holders of one
    # registry; the device list gives the device rollup more than one key.
    dests = [
        _dest("2001:240:10c:1::ca20:9d1d", 9000, 100, ["www.iij.example"]),
        _dest("74.125.225.229", 500, 5000, ["www.google.example"], devices=("10.0.0.2", "10.0.0.3")),
        _dest("210.107.73.73", 100, 100),
        _dest("62.239.237.1", 100, 100, ["bt.example"]),
        _dest("8.8.8.8", 100, 100),
        _dest("192.0.2.7", 100, 100),
        _dest("10.0.0.1", 999999, 1, scope="lan"),
    ]
    return TrafficResult(inputs=[InputInfo(name="hand-made", sha256=None, format="test", first_seen=T0,
                                           last_seen=T0 + 60)], destinations=dests)


@pytest.fixture(scope="module")
def server():
    from rdap_support import RecordedRdap

    srv = RecordedRdap()
    yield srv
    srv.close()


def _rdap_world(server, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server.reset()
    boot = server.write_bootstrap(folder / "bootstrap", "main")
    monkeypatch.setenv("IPOWNER_CACHE_DIR", str(folder / "cache"))
    monkeypatch.setenv("IPOWNER_RDAP_BOOTSTRAP", str(boot))
    monkeypatch.setenv("IPOWNER_RDAP_REWRITE", server.rewrite_env("main"))


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_rdap_from_the_cache_same_documents(server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            fmt: str) -> None:
    _rdap_world(server, tmp_path, monkeypatch)
    report(_hand_made(), now=NOW, discover=False)  # fills the RDAP cache from the loopback server
    text = _same(_hand_made, fmt, 2, offline=True, discover=False, fail_on=RULES)
    if fmt == "json":
        doc = json.loads(text)
        by = {d["address"]: d["jurisdiction"] for d in doc["destinations"]}
        assert by["62.239.237.1"]["holder"] == "BT-CORPORATE"
        assert [r["key"] for r in doc["rollups"]["registry"]][:1] == ["APNIC > JPNIC"]


def test_rdap_online_asked_once_same_documents(server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Each engine against a fresh cache, so that both ask the registries; the documents must not differ but
    # by the time each answer was retrieved.
    docs = []
    for i, run in enumerate((lambda: _python(_hand_made(), "json", discover=False, fail_on=RULES),
                             lambda: _duck(_hand_made(), "json", 2, discover=False, fail_on=RULES))):
        _rdap_world(server, tmp_path / str(i), monkeypatch)
        docs.append(json.loads(run()))
        asked = sorted(p for p in server.log if "/ip/" in p)
        assert len(asked) == len(set(asked))  # every address asked once, never again from a later batch
    a, b = (json.dumps(d, sort_keys=True) for d in docs)
    retrieved = {x for doc in docs for x in _times(doc)}
    for t in retrieved:
        a, b = a.replace(t, "T"), b.replace(t, "T")
    assert a == b
    assert any("RDAP" in w for w in docs[1]["warnings"]) == any("RDAP" in w for w in docs[0]["warnings"])


def _times(doc: object) -> list[str]:
    """The retrieval times RDAP answers carry (ISO text of this run's clock)."""
    out = []
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    text = json.dumps(doc)
    for part in text.split('"'):
        if part.startswith(today) and len(part) <= 40:
            out.append(part)
    return out


def test_cli_engines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ipowner.cli import main
    from ipowner.engines import extra, report_duck

    cap = str(TRAFFIC / "ndpi--instagram.pcap")
    outs = {}
    for engine in ("python", "duckdb"):
        outs[engine] = tmp_path / f"{engine}.json"
        with pytest.raises(SystemExit) as exc:
            main(["report", cap, "--offline", "--engine", engine, "-o", str(outs[engine]), "--fail-on", "location:US"])
        assert exc.value.code == 3
    docs = [json.loads(p.read_text()) for p in outs.values()]
    for d in docs:
        d["provenance"].pop("generated")
        d["provenance"].pop("command_line")
    assert docs[0] == docs[1]

    # auto past the size: DuckDB, the same document as --engine python
    monkeypatch.setattr(report_duck, "AUTO_FROM", 1)
    auto = tmp_path / "auto.jsonl"
    with pytest.raises(SystemExit) as exc:
        main(["report", cap, "--offline", "-o", str(auto), "-v"])
    with pytest.raises(SystemExit) as exc:
        main(["report", cap, "--offline", "--engine", "python", "-o", str(tmp_path / "py.jsonl")])
    a, b = ([line for line in p.read_text().splitlines() if '"kind":"provenance"' not in line]
            for p in (auto, tmp_path / "py.jsonl"))
    assert a == b and len(a) > 10

    # a format the engine does not write: exit 2 naming those it writes; auto: the Python engine
    with pytest.raises(SystemExit) as exc:
        main(["report", cap, "--offline", "--engine", "duckdb", "--format", "csv"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["report", cap, "--offline", "-o", str(tmp_path / "auto.csv")])
    assert exc.value.code == 0 and (tmp_path / "auto.csv").read_text().startswith("rank,")

    # without the extra: an explicit --engine duckdb exits 2, auto falls back
    real = importlib.util.find_spec
    monkeypatch.setattr(extra.importlib.util, "find_spec",
                        lambda name, *a: None if name == "duckdb" else real(name, *a))
    with pytest.raises(SystemExit) as exc:
        main(["report", cap, "--offline", "--engine", "duckdb", "--format", "json"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["report", cap, "--offline", "-o", str(tmp_path / "fallback.json")])
    assert exc.value.code == 0
    doc = json.loads((tmp_path / "fallback.json").read_text())
    doc["provenance"].pop("generated")
    doc["provenance"].pop("command_line")
    assert doc["destinations"] == docs[0]["destinations"]


def test_cli_messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from ipowner.cli import main
    from ipowner.engines import extra, report_duck
    from ipowner.engines.extra import INSTALL

    cap = str(TRAFFIC / "ndpi--instagram.pcap")
    with pytest.raises(SystemExit):
        main(["report", cap, "--offline", "--engine", "duckdb"])
    assert "--engine duckdb writes json and jsonl" in capsys.readouterr().err
    monkeypatch.setattr(report_duck, "AUTO_FROM", 1)
    with pytest.raises(SystemExit):
        main(["report", cap, "--offline", "--format", "markdown", "-o", str(tmp_path / "r.md")])
    err = capsys.readouterr().err
    assert "the Python engine (the DuckDB engine writes json and jsonl, not markdown)" in err
    monkeypatch.setattr(extra.importlib.util, "find_spec", lambda name, *a: None)
    with pytest.raises(SystemExit):
        main(["report", cap, "--offline", "--engine", "duckdb", "--format", "json"])
    assert INSTALL in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["report", cap, "--offline", "--format", "json", "-o", str(tmp_path / "r.json")])
    notes = [line for line in capsys.readouterr().err.splitlines() if "Python engine" in line]
    assert len(notes) == 1 and INSTALL in notes[0]


def test_spool_is_removed_and_memory_limit_applies(tmp_path: Path) -> None:
    tr = read_traffic([TRAFFIC / "ndpi--wechat.pcap"], None)
    with spool_report(tr, encode=encoder("json"), offline=True, temp_dir=tmp_path, memory_limit="32MB") as sp:
        folders = list(tmp_path.iterdir())
        assert len(folders) == 1 and (folders[0] / "spool.duckdb").is_file()
        limit = sp._con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
        assert limit.replace(" ", "").upper().startswith(("30", "32"))
    assert not list(tmp_path.iterdir())
    assert tr.destinations == []  # consumed


SYNTHETIC = {
    # address: (country, AS number, AS name): one AS under two names (the label of the first in rank order is
    # the rollup's), names outside ASCII (synthetic facts about addresses chosen at random) and a lone surrogate (key order by code point), ties in bytes.
    "11.0.0.1": ("DE", 64500, "SYNTHETIC-A"),
    "11.0.0.2": ("DE", 64500, "SYNTHETIC-B"),
    "11.0.0.3": ("FR", 64501, "Réseau \u202eévil"),
    "11.0.0.4": ("JP", 6450, "\ud800lone"),
    "11.0.0.5": ("JP", 64510, "ＷＩＤＥ"),
    "2400:cb00::1": ("SE", 64499, "v6-net"),
}


def _synthetic_provider():
    from _lookup_fakes import SYNTHETIC_SOURCE
    from ipowner.model import RangeFact
    from ipowner.providers import AddressFacts, Provider

    class Synthetic(Provider):
        def sources(self):
            return [SYNTHETIC_SOURCE]

        def facts(self, address):
            text, version, value = address
            if text == "11.0.0.9":
                return AddressFacts(errors=("synthetic database: corrupt record",))
            got = SYNTHETIC.get(text)
            if got is None:
                return AddressFacts()
            c, asn, name = got
            sid = SYNTHETIC_SOURCE.id
            return AddressFacts((RangeFact(start=value, end=value, version=version, source=sid, asn=asn,
                                           as_name=name, country=c,
                                           fields=(("location.country", c, sid), ("asn.number", asn, sid),
                                                   ("asn.name", name, sid))),))

    return Synthetic()


def _synthetic_traffic() -> TrafficResult:
    dests = [_dest(a, 300 if i % 2 else 700, 10 * i, [f"h{i}.{'é' if i % 3 else 'z'}.example"])
             for i, a in enumerate([*SYNTHETIC, "11.0.0.9", "11.0.0.10"])]
    dests.append(_dest("11.0.0.2", 700, 0, scope="lan"))
    return TrafficResult(inputs=[InputInfo(name="synthetic", sha256=None, format="test", first_seen=T0,
                                           last_seen=T0 + 60)], destinations=dests)


@pytest.mark.parametrize("batch", [1, 3, 100])
@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_synthetic_labels_hostile_names_and_errors(fmt: str, batch: int) -> None:
    text = _same(_synthetic_traffic, fmt, batch, offline=True, providers=[_synthetic_provider()],
                 fail_on=["location:JP", "unknown:holder"])
    if fmt == "json":
        doc = json.loads(text)
        asn = {r["key"]: r for r in doc["rollups"]["asn"]}
        assert asn["AS64500"]["label"] == "AS64500 SYNTHETIC-A" and asn["AS64500"]["destinations"] == 2
        assert doc["partial"] and any("corrupt record" in w for w in doc["warnings"])
        assert doc["policy"]["fired"]


def test_memory_limit_errors(capsys: pytest.CaptureFixture[str]) -> None:
    from ipowner.cli import main

    cap = str(TRAFFIC / "ndpi--instagram.pcap")
    with pytest.raises(SystemExit) as exc:
        main(["report", cap, "--offline", "--engine", "duckdb", "--format", "json", "--memory-limit", "lots"])
    assert exc.value.code == 2 and "--memory-limit 'lots'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        main(["report", cap, "--offline", "--engine", "duckdb", "--format", "json", "--memory-limit", "1KB"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 1 and len(err) == 1 and "needs more than --memory-limit 1KB" in err[0]
