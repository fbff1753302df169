"""`ipowner lookup` end to end, in a subprocess, with private data and cache dirs."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ipowner.model import SCHEMA_LOOKUP
from network_guard import cli_code

pytestmark = pytest.mark.slow  # every test starts the CLI in subprocesses

MMDB = Path(__file__).parent / "data" / "mmdb"
CITY_TEST = MMDB / "GeoIP2-City-Test.mmdb"
BAD = MMDB / "bad"
FAILS_ON_OPEN = [
    BAD / "libmaxminddb_libmaxminddb-metadata-marker-only.mmdb",
    BAD / "maxminddb-golang_invalid-data-record-offset.mmdb",
    MMDB / "GeoIP2-City-Test-Invalid-Node-Count.mmdb",
]
FAILS_ON_LOOKUP = [
    BAD / "libmaxminddb_libmaxminddb-deep-nesting.mmdb",
    BAD / "libmaxminddb_libmaxminddb-oversized-map.mmdb",
]

DONE_WHEN = ["8.8.8.8", "1.1.1.1", "1.2.4.8", "2001:4860:4860::8888", "10.0.0.1", "64:ff9b::808:808"]

# Runs the CLI with every way of opening a socket or resolving a name made to fail loudly.
NO_SOCKET = cli_code("none")

# getaddrinfo that never answers: the resolver must give up at its deadline and the process exit.
HANGING_RESOLVER = cli_code(setup="""
import socket, time
def _hang(*a, **k):
    time.sleep(600)
socket.getaddrinfo = _hang
""")

# A synthetic getaddrinfo: dual.example has one A and one AAAA answer (each listed twice, as getaddrinfo
# does for several socket types); any other name does not exist.
FAKE_GETADDRINFO = cli_code(setup="""
import socket
def _fake(host, port, family=0, type=0, proto=0, flags=0):
    if host != "dual.example":
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    a = (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("8.8.8.8", 0))
    b = (socket.AF_INET6, socket.SOCK_STREAM, 6, "", ("64:ff9b::808:808", 0, 0, 0))
    return [a, b, a, b]
socket.getaddrinfo = _fake
""")


@pytest.fixture(scope="session")
def dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    # One data dir for the session: the embedded database is unpacked into it once.
    root = tmp_path_factory.mktemp("ipowner-cli")
    return {"IPOWNER_DATA_DIR": str(root / "data"), "IPOWNER_CACHE_DIR": str(root / "cache")}


def run(dirs: dict[str, str], *args: str, stdin: str | None = None, code: str | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)  # tests/conftest.py has already removed the developer's IPOWNER_* settings
    env.update(dirs)
    env["IPOWNER_NO_SYSTEM_MMDB"] = "1"  # answers must not depend on the machine's GeoIP folders
    env["COLUMNS"] = "120"
    cmd = [sys.executable, "-c", code or cli_code("loopback"), *args]
    return subprocess.run(cmd, input=stdin if stdin is not None else "", capture_output=True, text=True,
                          env=env, timeout=timeout)


def by_query(doc: dict) -> dict[str, dict]:
    return {r["query"]: r for r in doc["records"]}


def assert_one_line_errors(stderr: str) -> None:
    assert "Traceback" not in stderr
    for line in stderr.splitlines():
        assert line.startswith("ipowner: "), line


def test_done_when_command(dirs):
    p = run(dirs, "lookup", *DONE_WHEN, "--offline", "--format", "json")
    assert p.returncode == 0, p.stderr
    assert p.stderr == ""
    doc = json.loads(p.stdout)
    assert doc["schema"] == SCHEMA_LOOKUP and doc["errors"] == []
    recs = by_query(doc)
    assert [r["query"] for r in doc["records"]] == DONE_WHEN
    google = recs["8.8.8.8"]
    assert google["location"]["country"] == "US" and google["asn"]["number"] == 15169
    assert google["registered_country"] == "US"
    assert google["special"] is None and google["looked_through"] is None
    assert recs["1.1.1.1"]["asn"]["number"] == 13335
    assert recs["1.2.4.8"]["registered_country"] == "CN"
    assert recs["2001:4860:4860::8888"]["asn"]["number"] == 15169
    private = recs["10.0.0.1"]
    assert private["special"]["label"] == "private" and private["asn"] is None
    assert private["location"]["country"] is None
    nat64 = recs["64:ff9b::808:808"]
    assert nat64["looked_through"]["ipv4"] == "8.8.8.8" and nat64["looked_through"]["mechanism"] == "nat64"
    assert nat64["asn"]["number"] == 15169 and nat64["location"]["country"] == "US"
    # Every fact names a source, and the sources carry dates and credits.
    ids = {s["id"] for s in doc["sources"]}
    assert "iana-special" in ids and any(i.startswith("embedded") for i in ids)
    for path, sid in google["provenance"].items():
        assert sid in {s["id"] for s in google["sources"]}, path
    credits = " ".join(s["credit"] or "" for s in doc["sources"])
    assert "DB-IP" in credits and "RouteViews" in credits
    assert all(s["date"] for s in doc["sources"] if s["id"].startswith("embedded"))


def test_offline_opens_no_socket(dirs):
    p = run(dirs, "lookup", "8.8.8.8", "10.0.0.1", "64:ff9b::808:808", "--offline", "--format", "json", code=NO_SOCKET)
    assert p.returncode == 0, p.stderr
    recs = by_query(json.loads(p.stdout))
    assert recs["8.8.8.8"]["asn"]["number"] == 15169
    assert recs["64:ff9b::808:808"]["asn"]["number"] == 15169


def test_offline_hostname_is_one_line_error_and_the_rest_answered(dirs):
    p = run(dirs, "lookup", "dns.google", "8.8.8.8", "--offline", "--format", "json", code=NO_SOCKET)
    assert p.returncode == 4
    assert p.stderr.strip() == "ipowner: dns.google: cannot resolve offline"
    doc = json.loads(p.stdout)
    assert [r["query"] for r in doc["records"]] == ["8.8.8.8"]
    assert doc["errors"][0]["kind"] == "offline"


def test_no_network_fails_over_to_offline_answers(dirs):
    # Without --offline, with every socket refused: the hostname fails in one line, the address is answered.
    p = run(dirs, "lookup", "dns.google", "8.8.8.8", "--format", "json", code=NO_SOCKET)
    assert p.returncode == 4, p.stderr
    assert_one_line_errors(p.stderr)
    assert "dns.google" in p.stderr
    assert by_query(json.loads(p.stdout))["8.8.8.8"]["asn"]["number"] == 15169


def test_hanging_resolver_is_abandoned_at_the_deadline(dirs):
    # The fake getaddrinfo sleeps 600 s; the subprocess timeout (60 s) fails the test if we wait for it.
    p = run(dirs, "lookup", "slow.example", "8.8.8.8", "--resolve-timeout", "1", "--format", "jsonl", "--no-rdap",
            code=HANGING_RESOLVER, timeout=60)
    assert p.returncode == 4, p.stderr
    assert "slow.example: no answer from the system resolver within 1 s" in p.stderr
    lines = [json.loads(line) for line in p.stdout.splitlines()]
    assert [(r["schema"], r["address"]) for r in lines] == [(SCHEMA_LOOKUP, "8.8.8.8")]


def test_hostname_gives_one_row_per_answer(dirs):
    p = run(dirs, "lookup", "dual.example", "nxdomain.example", "--format", "json", "--no-rdap", code=FAKE_GETADDRINFO)
    assert p.returncode == 4, p.stderr
    assert p.stderr.strip() == "ipowner: nxdomain.example: does not resolve (Name or service not known)"
    doc = json.loads(p.stdout)
    assert [(r["query"], r["address"]) for r in doc["records"]] == [
        ("dual.example", "8.8.8.8"),
        ("dual.example", "64:ff9b::808:808"),
    ]
    for r in doc["records"]:
        assert r["resolution"]["hostname"] == "dual.example"
        assert r["resolution"]["answers"] == ["8.8.8.8", "64:ff9b::808:808"]
        assert r["resolution"]["resolver"] == "system resolver" and r["resolution"]["time"].endswith("Z")
        assert r["asn"]["number"] == 15169
    assert "resolver" in {s["id"] for s in doc["sources"]}


def test_table_shows_facts_sources_and_credits(dirs):
    p = run(dirs, "lookup", "8.8.8.8", "10.0.0.1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "--offline")
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "AS15169" in out and "US" in out
    assert "private" in out and "Private-Use" in out
    assert "teredo" in out and "65.54.227.120" in out and "192.0.2.45" in out and "documentation" in out
    assert "iana-special" in out and "DB-IP" in out and "RouteViews" in out
    assert "\x1b" not in out  # not a terminal: no colour codes


def test_jsonl_every_line_has_schema_and_sources(dirs):
    p = run(dirs, "lookup", "-", "--offline", "--format", "jsonl", stdin="8.8.8.8\n\n# comment\n1.1.1.1\n")
    assert p.returncode == 0, p.stderr
    lines = [json.loads(line) for line in p.stdout.splitlines()]
    assert [r["address"] for r in lines] == ["8.8.8.8", "1.1.1.1"]
    for r in lines:
        assert r["schema"] == SCHEMA_LOOKUP
        assert any("DB-IP" in (s["credit"] or "") for s in r["sources"])


def test_stdin_without_arguments(dirs):
    p = run(dirs, "lookup", "--offline", "--format", "json", stdin="10.0.0.1\n192.168.1.1\n")
    assert p.returncode == 0, p.stderr
    assert [r["special"]["label"] for r in json.loads(p.stdout)["records"]] == ["private", "private"]


def test_csv_columns(dirs):
    p = run(dirs, "lookup", "8.8.8.8", "64:ff9b::808:808", "10.0.0.1", "--offline", "--format", "csv")
    assert p.returncode == 0, p.stderr
    rows = list(csv.DictReader(io.StringIO(p.stdout)))
    google, nat64, private = rows
    assert (google["location_country"], google["asn"], google["special"]) == ("US", "15169", "")
    assert (nat64["looked_through"], nat64["looked_through_mechanism"], nat64["asn"]) == ("8.8.8.8", "nat64", "15169")
    assert private["special"] == "private" and private["asn"] == ""
    assert "DB-IP" in google["credits"] and "iana-special@" in nat64["sources"]


def test_user_database_wins_for_its_fields(dirs):
    p = run(dirs, "lookup", "81.2.69.160", "--offline", "--format", "json", "--mmdb", str(CITY_TEST))
    assert p.returncode == 0, p.stderr
    rec = json.loads(p.stdout)["records"][0]
    assert rec["location"]["country"] == "GB" and rec["location"]["city"] == "London"
    assert rec["registered_country"] == "US"
    assert rec["provenance"]["location.city"].startswith("mmdb:GeoIP2-City")


def test_invalid_inputs_are_one_line_errors_and_the_rest_answered(dirs):
    p = run(dirs, "lookup", "8.8.8.8", "999.1.1.1", "not a host", "8.8.8.0/33", "--offline", "--format", "json")
    assert p.returncode == 4
    assert_one_line_errors(p.stderr)
    err = p.stderr.splitlines()
    assert len(err) == 3 and "999.1.1.1" in err[0] and "not a host" in err[1] and "8.8.8.0/33" in err[2]
    assert [r["query"] for r in json.loads(p.stdout)["records"]] == ["8.8.8.8"]


def test_nothing_answered_exits_1(dirs):
    p = run(dirs, "lookup", "garbage!", "--offline")
    assert p.returncode == 1
    assert p.stderr.strip() == "ipowner: garbage!: neither an IP address nor a valid hostname"


@pytest.mark.parametrize("args", [["lookup"], ["lookup", "8.8.8.8", "--format", "xml"], ["lookup", "--bogus"]])
def test_usage_errors_exit_2(dirs, args):
    p = run(dirs, *args)
    assert p.returncode == 2
    assert_one_line_errors(p.stderr)


@pytest.mark.parametrize("db", FAILS_ON_OPEN, ids=lambda p: p.name)
def test_database_failing_on_open_is_one_line_and_others_answer(dirs, db):
    p = run(dirs, "lookup", "8.8.8.8", "--offline", "--format", "json", "--mmdb", str(db))
    assert p.returncode == 4
    assert_one_line_errors(p.stderr)
    assert len(p.stderr.splitlines()) == 1 and db.name in p.stderr
    doc = json.loads(p.stdout)
    assert doc["records"][0]["asn"]["number"] == 15169
    assert doc["errors"][0]["kind"] == "database" and db.name in doc["errors"][0]["message"]


@pytest.mark.parametrize("db", FAILS_ON_LOOKUP, ids=lambda p: p.name)
def test_database_failing_on_lookup_is_one_line_naming_the_address(dirs, db):
    p = run(dirs, "lookup", "1.1.1.1", "10.0.0.1", "--offline", "--format", "json", "--mmdb", str(db))
    assert p.returncode == 4
    assert_one_line_errors(p.stderr)
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and "1.1.1.1" in lines[0] and db.name in lines[0]
    recs = by_query(json.loads(p.stdout))
    assert recs["1.1.1.1"]["errors"] and recs["1.1.1.1"]["asn"]["number"] == 13335  # the embedded db still answers
    assert recs["10.0.0.1"]["errors"] == []


def test_missing_database_is_one_line(dirs, tmp_path):
    missing = tmp_path / "nope.mmdb"
    p = run(dirs, "lookup", "8.8.8.8", "--offline", "--mmdb", str(missing))
    assert p.returncode == 4
    assert_one_line_errors(p.stderr)
    assert "nope.mmdb" in p.stderr and "AS15169" in p.stdout


def test_hostile_hostname_is_escaped_in_errors(dirs):
    p = run(dirs, "lookup", "evil\x1b[31m.example", "--offline")
    assert p.returncode == 1
    assert "\x1b" not in p.stderr and "\\x1b" in p.stderr


def test_every_corrupt_database_at_once(dirs):
    # All 21 corrupt databases in one run: each failure is one line, and every address is still answered.
    bad = sorted(BAD.glob("*.mmdb"))
    assert len(bad) == 21
    args = [a for db in bad for a in ("--mmdb", str(db))]
    queries = ["1.1.1.1", "81.2.69.160", "8.8.8.8", "2001:4860:4860::8888", "10.0.0.1"]
    p = run(dirs, "lookup", *queries, "--offline", "--format", "json", *args)
    assert p.returncode == 4
    assert_one_line_errors(p.stderr)
    doc = json.loads(p.stdout)
    assert [r["query"] for r in doc["records"]] == queries
    assert by_query(doc)["8.8.8.8"]["asn"]["number"] == 15169
    # Those that fail on open (9 per the upstream notes for this reader) are reported by path, once each.
    open_failures = [e for e in doc["errors"] if e["kind"] == "database"]
    assert len(open_failures) >= 9
    for e in open_failures:
        assert e["query"] is None and any(db.name in e["message"] for db in bad)
    for name in ("metadata-marker-only", "offset-integer-overflow", "golang_cyclic-data-structure"):
        assert name in p.stderr
    # Those that fail on lookup name both the database and the address.
    for name in ("deep-nesting", "oversized-array", "separator-record-max-left"):
        assert any(name in line and "1.1.1.1" in line for line in p.stderr.splitlines()), name
