"""`ipowner report` and `ipowner diff` end to end on a real capture (nDPI's wechat.pcap), offline."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import dpkt
import pytest

WECHAT = Path(__file__).resolve().parents[1] / "data" / "traffic" / "ndpi--wechat.pcap"  # nDPI's WeChat capture
IPOWNER = str(Path(sys.executable).parent / "ipowner")
CN = {"203.205.151.162", "203.205.158.34", "203.205.151.211"}  # geolocated in China by the embedded data

pytestmark = pytest.mark.slow  # every test starts the CLI in subprocesses


@pytest.fixture
def env(tmp_path):
    import os

    e = dict(os.environ)
    e["IPOWNER_DATA_DIR"] = str(tmp_path / "data")
    e["IPOWNER_CACHE_DIR"] = str(tmp_path / "cache")
    return e


def run(env, *args, timeout=120):
    return subprocess.run([IPOWNER, *map(str, args)], capture_output=True, text=True, env=env, timeout=timeout)


def test_every_format_from_a_real_capture(env, tmp_path):
    outs = {}
    for fmt in ("table", "json", "jsonl", "csv", "markdown", "html"):
        target = tmp_path / f"wechat.{fmt}"
        r = run(env, "report", WECHAT, "--offline", "--format", fmt, "-o", target)
        assert r.returncode == 0, r.stderr
        assert "Traceback" not in r.stderr
        outs[fmt] = target.read_text(encoding="utf-8")
    doc = json.loads(outs["json"])
    assert doc["schema"] == "ipowner.report/3"
    top = doc["destinations"][0]
    assert top["address"] == "203.205.151.162" and top["jurisdiction"]["location_country"] == "CN"
    assert {h["name"] for h in top["hostnames"]} >= {"web.wechat.com"}
    assert "wechat.com" in top["domains"]
    p = doc["provenance"]
    assert p["inputs"][0]["sha256"] == __import__("hashlib").sha256(WECHAT.read_bytes()).hexdigest()
    assert p["capture_start"].startswith("2017-04-14") and p["offline"] is True
    assert p["command_line"][:3] == ["ipowner", "report", str(WECHAT)]
    assert any(s["id"] == "embedded:dbip-country" and s["warning"] for s in p["data_sources"])  # 2017 vs 2026
    loc = {r["key"]: r for r in doc["rollups"]["location"]}
    assert loc["CN"]["destinations"] == 3 and loc["CN"]["bytes_sent"] == sum(
        d["bytes_sent"] for d in doc["destinations"] if d["address"] in CN)
    # Same facts in the other formats.
    lines = [json.loads(x) for x in outs["jsonl"].splitlines()]
    assert lines[0]["kind"] == "provenance" and all(x["schema"] == "ipowner.report/3" for x in lines)
    assert [x["address"] for x in lines if x["kind"] == "destination"] == [d["address"] for d in doc["destinations"]]
    # CSV is one row per internet destination; the provenance is in its own table beside it (issue 14).
    dest_rows = list(csv.DictReader(io.StringIO(outs["csv"])))
    assert len(dest_rows) == doc["totals"]["destinations"]
    assert dest_rows[0]["address"] == "203.205.151.162" and dest_rows[0]["location_country"] == "CN"
    sources = list(csv.DictReader(io.StringIO((tmp_path / "wechat.sources.csv").read_text(encoding="utf-8"))))
    assert any(r["group"] == "input" for r in sources)
    assert "203.205.151.162" in outs["markdown"] and "## Provenance" in outs["markdown"]
    assert "203.205.151.162" in outs["table"] and "web.wechat.com" in outs["table"]
    assert 'data-cc="CN"' in outs["html"]
    # Deterministic: a second run gives the same document but for the generation time.
    r2 = run(env, "report", WECHAT, "--offline", "--format", "json")
    doc2 = json.loads(r2.stdout)
    for d in (doc, doc2):
        d["provenance"]["generated"] = d["provenance"]["command_line"] = None
    assert doc == doc2


def test_fail_on_exits_3_with_the_right_destinations(env):
    r = run(env, "report", WECHAT, "--offline", "--format", "json", "--fail-on", "location:CN,RU")
    assert r.returncode == 3, r.stderr
    doc = json.loads(r.stdout)
    assert {o["address"] for o in doc["policy"]["offending"]} == CN
    assert "policy gate fired: 3 destinations" in r.stderr
    for a in CN:
        assert a in r.stderr
    assert run(env, "report", WECHAT, "--offline", "--format", "json", "--fail-on", "location:RU").returncode == 0
    # Offline, no registry names a holder: unknown:holder fires on every internet destination but the 8
    # in Google's own published ranges, whose holder that file names.
    r = run(env, "report", WECHAT, "--offline", "--format", "json", "--fail-on", "unknown:holder")
    doc = json.loads(r.stdout)
    unknown = {d["address"] for d in doc["destinations"] if d["scope"] == "internet" and d["jurisdiction"]["holder"] is None}
    google = {d["address"] for d in doc["destinations"] if d["jurisdiction"] and d["jurisdiction"]["holder_rule"] == "range-file"}
    assert r.returncode == 3 and {o["address"] for o in doc["policy"]["offending"]} == unknown
    assert (len(unknown), len(google)) == (8, 8) and not unknown & google
    r = run(env, "report", WECHAT, "--offline", "--fail-on", "continent:EU")
    assert r.returncode == 2 and "--fail-on" in r.stderr and "Traceback" not in r.stderr


def test_policy_wins_over_partial_and_bad_input_is_one_line(env, tmp_path):
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(WECHAT.read_bytes()[:300_000])  # a truncated last record
    r = run(env, "report", cut, "--offline", "--format", "json")
    assert r.returncode == 4, r.stderr
    r = run(env, "report", cut, "--offline", "--format", "json", "--fail-on", "location:CN")
    assert r.returncode == 3
    r = run(env, "report", tmp_path / "missing.pcap", "--offline")
    assert r.returncode == 1 and "missing.pcap" in r.stderr and "Traceback" not in r.stderr
    bad = tmp_path / "ranges.json"
    bad.write_text("[]")
    r = run(env, "report", WECHAT, "--offline", "--cloud-ranges", bad)
    assert r.returncode != 0 and "ranges.json" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def _without(src: Path, dst: Path, drop: set[str]) -> None:
    """A copy of a capture without the packets to or from ``drop`` (an 'after the update' capture)."""
    import socket

    with src.open("rb") as fi, dst.open("wb") as fo:
        rd = dpkt.pcap.Reader(fi)
        w = dpkt.pcap.Writer(fo, snaplen=rd.snaplen, linktype=rd.datalink())
        for ts, buf in rd:
            eth = dpkt.ethernet.Ethernet(buf)
            ip = eth.data
            if isinstance(ip, dpkt.ip.IP) and {socket.inet_ntoa(ip.src), socket.inet_ntoa(ip.dst)} & drop:
                continue
            w.writepkt(buf, ts=ts)


def test_diff_of_two_captures(env, tmp_path):
    after = tmp_path / "after.pcap"
    _without(WECHAT, after, {"203.205.151.162"})
    r = run(env, "diff", WECHAT, after, "--offline", "--format", "json")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [d["address"] for d in doc["destinations"]["removed"]] == ["203.205.151.162"]
    assert doc["destinations"]["added"] == []
    cn = next(x for x in doc["bytes"]["location"] if x["key"] == "CN")
    assert cn["bytes_sent_change"] < -200_000 and cn["destinations_after"] == 2
    assert doc["before"]["origin"] == doc["after"]["origin"] == "looked up now" and doc["schema"] == "ipowner.diff/2"
    # A saved report on one side keeps its own answers.
    saved = tmp_path / "before.json"
    saved.write_text(run(env, "report", WECHAT, "--offline", "--format", "json").stdout)
    r = run(env, "diff", saved, after, "--offline")
    assert r.returncode == 0 and "203.205.151.162" in r.stdout and "saved report" in r.stdout


def test_device_option(env):
    base = json.loads(run(env, "report", WECHAT, "--offline", "--format", "json").stdout)
    r = run(env, "report", WECHAT, "--offline", "--format", "json", "--device", "192.168.1.103")
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["destinations"][0]["address"] == base["destinations"][0]["address"]
    assert "192.168.1.103" in doc["rollups"]["device"][0]["key"]
    assert doc["provenance"]["command_line"][-2:] == ["--device", "192.168.1.103"]
    r = run(env, "report", WECHAT, "--offline", "--device", "not-an-address")
    assert r.returncode == 2 and "not-an-address" in r.stderr and "Traceback" not in r.stderr


def test_cloud_ranges_option_names_the_region(env):
    ranges = Path(__file__).resolve().parents[1] / "data" / "cloud" / "google-cloud-synthetic.json"
    r = run(env, "report", WECHAT, "--offline", "--format", "json", "--cloud-ranges", ranges)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    cloud = {d["address"]: d["jurisdiction"]["cloud"] for d in doc["destinations"]}
    assert cloud["172.217.23.67"]["region"] == "synthetic-region-1"
    assert cloud["172.217.23.67"]["basis"] == "ranges:google"
    # Outside the user's cloud.json: the shipped snapshot's goog.json minus cloud.json, Google's own space.
    assert cloud["216.58.198.46"]["region"] is None and cloud["216.58.198.46"]["basis"] == "ranges:google-own"
    assert cloud["216.58.198.46"]["name"] == "Google" and cloud["216.58.198.46"]["file_date"].startswith("2026-08-22")
    assert any(s["id"] == "ranges:google" for s in doc["provenance"]["data_sources"])
