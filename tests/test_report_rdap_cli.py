"""`ipowner report` and `ipowner diff` with lookup's RDAP options (issue 14, item 3), in a subprocess
against the loopback RDAP server: evidence beside the report, negative answers cached for a day, and
one summary line of RDAP outcomes instead of a line per address."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from ipowner.providers.rdap import RdapCache, RdapConfig
from ipowner.providers.rdap._config import NEGATIVE_TTL
from test_rdap_cli import cli, server  # noqa: F401  (the loopback server and the subprocess runner)

# 62.239.237.1 (RIPE, BT) and 74.125.225.229 (ARIN, Google) are recorded; 8.8.8.8 is not: a 404.
ADDRESSES = ["62.239.237.1", "74.125.225.229", "8.8.8.8"]


@pytest.fixture
def addresses(tmp_path: Path) -> Path:
    path = tmp_path / "seen.txt"
    path.write_text("".join(f"connection to {a} port 443\n" for a in ADDRESSES))
    return path


def _ip_queries(server, address: str) -> int:  # noqa: F811
    return sum(1 for p in server.log if p.endswith(f"/ip/{address}"))


def test_report_keeps_its_evidence(cli, server, addresses, tmp_path):  # noqa: F811
    ev = tmp_path / "evidence"
    p = cli("report", str(addresses), "--no-embedded", "--evidence", str(ev), "--format", "json")
    assert p.returncode == 4, p.stderr  # 8.8.8.8 has no registry object: partial
    doc = json.loads(p.stdout)
    by = {d["address"]: d for d in doc["destinations"]}
    assert by["62.239.237.1"]["jurisdiction"]["holder"] == "BT-CORPORATE"
    responses = [json.loads(x) for x in (ev / "responses.jsonl").read_text().splitlines()]
    assert {r["status"] for r in responses} >= {200, 404}
    assert all((ev / r["file"]).is_file() and r["time"].endswith("Z") for r in responses)
    assert any(r["url"].endswith("/ripe/ip/62.239.237.1") for r in responses)
    claims = json.loads((ev / "claims.json").read_text())
    assert claims["62.239.237.1"]["holder"]["value"]["name"] == "BT-CORPORATE"
    assert (ev / claims["62.239.237.1"]["holder"]["file"]).is_file()
    sources = json.loads((ev / "sources.json").read_text())
    ids = {s["id"] for s in sources["sources"]}
    assert any(i.startswith("rdap:ripe:") for i in ids) and "iana-special" in ids
    assert all("date" in s and "age_days" in s for s in sources["sources"])
    assert {s["id"] for s in doc["provenance"]["data_sources"]} == ids


def test_one_summary_line_and_negative_answers_cached(cli, server, addresses):  # noqa: F811
    p = cli("report", str(addresses), "--no-embedded", "--format", "json")
    assert p.returncode == 4
    rdap_lines = [line for line in p.stderr.splitlines() if "RDAP" in line]
    assert len(rdap_lines) == 1, p.stderr
    assert "1 not answered: 1 no registry object (404)" in rdap_lines[0]
    assert "8.8.8.8" not in p.stderr  # no line per address ...
    doc = json.loads(p.stdout)
    errors = {d["address"]: d["lookup"]["errors"] for d in doc["destinations"]}
    assert "registry error 404" in errors["8.8.8.8"][0]  # ... the reason is in its record
    assert _ip_queries(server, "8.8.8.8") == 1

    # A second run does not ask again: the 404 is remembered (for a day) and said so.
    again = cli("report", str(addresses), "--no-embedded", "--format", "json")
    assert _ip_queries(server, "8.8.8.8") == 1 and again.returncode == 4
    assert "1 no registry object (404), 1 of them remembered from an earlier run" in again.stderr
    # The same line is the report's warning, so a saved report says it too.
    stderr_line = next(x for x in again.stderr.splitlines() if "RDAP" in x).removeprefix("ipowner: ")
    assert [w for w in json.loads(again.stdout)["warnings"] if w.startswith("RDAP")] == [stderr_line]
    # -v shows the address's own line; --refresh asks again.
    verbose = cli("report", str(addresses), "--no-embedded", "--format", "json", "-v", "--refresh")
    assert _ip_queries(server, "8.8.8.8") == 2
    assert any(line.startswith("ipowner: 8.8.8.8: RDAP ") for line in verbose.stderr.splitlines())


def test_report_and_diff_take_the_rdap_options(cli, server, addresses, tmp_path):  # noqa: F811
    p = cli("report", str(addresses), "--no-embedded", "--format", "json", "--chain", "--deadline", "30",
            "-q", "--rdap-bootstrap", str(tmp_path / "bootstrap"))
    assert p.returncode == 4 and p.stderr == ""
    assert any(path == "/main/ripe/ip/62.239.236.0/23" for path in server.log)  # --chain walked up
    line = json.loads(p.stdout)["provenance"]["command_line"]
    assert line[line.index("--deadline") + 1] == "30.0" and "--chain" in line and "--rdap-bootstrap" in line
    saved = tmp_path / "before.json"
    saved.write_text(p.stdout)
    ev = tmp_path / "diff-evidence"
    d = cli("diff", str(saved), str(addresses), "--no-embedded", "--evidence", str(ev), "--refresh",
            "--fail-on", "new-destination", "--format", "json")
    assert d.returncode == 4, d.stderr  # the gate passes (the same destinations); 8.8.8.8 is still partial
    assert "diff gate passed" in d.stderr
    assert (ev / "after" / "responses.jsonl").is_file() and (ev / "after" / "sources.json").is_file()
    assert not (ev / "before").exists()  # a saved report is not looked up again


def test_negative_answers_expire_sooner(tmp_path):
    cache = RdapCache(tmp_path, ttl=7 * 86400)
    now = time.time()
    cache.put_object("https://r.example/ip/192.0.2.1", "ip network", now - 3600, 404, "registry error 404")
    cache.put_object("https://r.example/ip/192.0.2.2", "ip network", now - 2 * 86400, 404, "registry error 404")
    cache.put_object("https://r.example/entity/X", "entity", now - 2 * 86400, 200, "{}")
    assert cache.get_object("https://r.example/ip/192.0.2.1") is not None
    assert cache.get_object("https://r.example/ip/192.0.2.2") is None  # older than a day
    assert cache.get_object("https://r.example/entity/X") is not None  # answers keep the week
    assert cache.clear(expired_only=True) == 1
    assert RdapConfig().negative_ttl == NEGATIVE_TTL == 86400
    cache.close()
