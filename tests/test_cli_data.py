"""`ipowner data` end to end, in a subprocess with its own data folder."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ipowner.model.data import SCHEMA_DATA
from ipowner.providers.delegations import DUE_DAYS
from mmdb_support import BAD, DATA, write_mmdb
from network_guard import cli_code

pytestmark = pytest.mark.slow  # every test starts the CLI in subprocesses


def run(args: list[str], data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    full_env = dict(os.environ)  # tests/conftest.py has already removed the developer's IPOWNER_* settings
    full_env.update(IPOWNER_DATA_DIR=str(data_dir), IPOWNER_CACHE_DIR=str(data_dir / "cache"),
                    IPOWNER_NO_SYSTEM_MMDB="1", COLUMNS="200", **env)
    return subprocess.run(
        [sys.executable, "-c", cli_code("loopback"), *args],
        capture_output=True, text=True, env=full_env, timeout=120, check=False,
    )


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ipowner-data")


def test_json_lists_embedded_and_given(data_dir: Path) -> None:
    city = DATA / "GeoIP2-City-Test.mmdb"
    r = run(["data", "--format", "json", "--mmdb", str(city)], data_dir)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    doc = json.loads(r.stdout)
    assert doc["schema"] == SCHEMA_DATA and doc["problems"] == []
    given, emb = doc["databases"]
    assert (given["path"], given["database_type"], given["vendor"], given["origin"]) == (
        str(city), "GeoIP2-City", "MaxMind", "given")
    assert given["build_date"].startswith("2026-02-04T") and isinstance(given["age_days"], int)
    assert given["licence"] == "MaxMind commercial licence"
    assert emb["origin"] == "embedded" and emb["database_type"] == "ipowner-embedded"
    assert emb["path"].startswith(str(data_dir / "embedded"))
    assert emb["licence"] == "CC BY 4.0" and emb["build_date"].endswith("Z")
    assert {s["id"]: bool(s["date"]) for s in emb["sources"]} == {
        "embedded:asn": True, "embedded:dbip-country": True, "embedded:asn-country": True}
    assert given["due"] is False  # a user's database is never refreshed by ipowner


def _age(iso: str) -> int:
    return (datetime.now(UTC) - datetime.fromisoformat(iso.replace("Z", "+00:00"))).days


def test_json_says_which_sources_are_due(data_dir: Path) -> None:
    doc = json.loads(run(["data", "--format", "json"], data_dir).stdout)
    (emb,) = doc["databases"]
    oldest = max(_age(s["date"]) for s in emb["sources"])
    assert emb["due"] is (oldest > DUE_DAYS)
    cloud = {c["name"]: c for c in doc["cloud_sources"]}
    assert {"AWS ip-ranges.json", "Google Cloud cloud.json", "Google goog.json"} <= cloud.keys()
    aws = cloud["AWS ip-ranges.json"]
    assert aws["publisher"] == "AWS" and aws["url"] == "https://ip-ranges.amazonaws.com/ip-ranges.json"
    assert aws["date"].startswith("2026-08-22T") and aws["age_days"] == _age(aws["date"])
    assert aws["due"] is (aws["age_days"] > DUE_DAYS) and "no licence or terms stated" in aws["terms"]
    assert all(c["path"].endswith("cloud-ranges.json.xz") for c in cloud.values())


def test_table_shows_cloud_inputs_and_due(data_dir: Path) -> None:
    out = run(["data"], data_dir).stdout
    assert "Cloud snapshot inputs" in out and "AWS ip-ranges.json" in out and "Fastly" in out
    assert "due: ipowner data update" in out


def test_table_names_every_database_and_input(data_dir: Path) -> None:
    r = run(["data", "--mmdb", str(DATA / "GeoLite2-ASN-Test.mmdb")], data_dir)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for text in ("GeoLite2-ASN", "MaxMind", "ipowner-embedded", "DB-IP", "CC BY 4.0", "2026-02-04",
                 "IP Geolocation by DB-IP", "NRO", "RouteViews"):
        assert text in out, text


def test_problems_one_line_each_and_exit_4(data_dir: Path, tmp_path: Path) -> None:
    missing = tmp_path / "missing.mmdb"
    broken = BAD / "maxminddb-golang_unexpected-bytes.mmdb"
    r = run(["data", "--format", "json", "--mmdb", str(missing), "--mmdb", str(broken)], data_dir)
    assert r.returncode == 4
    assert r.stderr.splitlines() == [
        f"ipowner: {missing}: no such file",
        f"ipowner: {broken}: not a valid MaxMind DB file",
    ]
    doc = json.loads(r.stdout)
    assert [d["origin"] for d in doc["databases"]] == ["embedded"]
    assert len(doc["problems"]) == 2


def test_discovered_from_env_and_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    (data_dir / "mmdb").mkdir(parents=True)
    (data_dir / "mmdb" / "GeoIP2-Domain-Test.mmdb").write_bytes((DATA / "GeoIP2-Domain-Test.mmdb").read_bytes())
    r = run(["data", "--format", "json"], data_dir, IPOWNER_MMDB_PATH=str(DATA / "GeoIP2-ISP-Test.mmdb"))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [(d["database_type"], d["origin"]) for d in doc["databases"]] == [
        ("GeoIP2-ISP", "discovered"), ("GeoIP2-Domain", "discovered"), ("ipowner-embedded", "embedded")]


def test_untrusted_metadata_is_escaped(data_dir: Path, tmp_path: Path) -> None:
    evil = write_mmdb(tmp_path / "evil.mmdb", {"1.0.0.0/8": {"country": {"iso_code": "FR"}}},
                      "Evil\x1b[2J\u202e[bold]type")
    r = run(["data", "--mmdb", str(evil)], data_dir)
    assert r.returncode == 0, r.stderr
    assert "\x1b" not in r.stdout and "\u202e" not in r.stdout
    assert "Evil\\x1b[2J\\u202e[bold]type" in r.stdout  # shown, made visible, markup not interpreted
    j = run(["data", "--format", "json", "--mmdb", str(evil)], data_dir)
    assert json.loads(j.stdout)["databases"][0]["database_type"] == "Evil\x1b[2J\u202e[bold]type"
    assert "\x1b" not in j.stdout


def test_usage_error_exit_2(data_dir: Path) -> None:
    r = run(["data", "--format", "xml"], data_dir)
    assert r.returncode == 2 and "xml" in r.stderr
