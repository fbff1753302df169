"""`ipowner lookup` and `ipowner cache` end to end with RDAP, in a subprocess, against the loopback server.

The subprocess may reach loopback only: tests/network_guard.py makes every other connection or name lookup fail.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from network_guard import cli_code
from rdap_support import RecordedRdap

pytestmark = pytest.mark.slow  # every test starts the CLI in subprocesses

LOOPBACK_ONLY = cli_code("loopback")
NO_SOCKET = cli_code("none")  # not even loopback: the offline runs open no socket at all


@pytest.fixture(scope="module")
def server():
    srv = RecordedRdap()
    yield srv
    srv.close()


@pytest.fixture
def cli(server: RecordedRdap, tmp_path: Path):
    server.reset()
    boot = server.write_bootstrap(tmp_path / "bootstrap")
    env = dict(os.environ)  # tests/conftest.py has already removed the developer's IPOWNER_* settings
    env.update(
        IPOWNER_CACHE_DIR=str(tmp_path / "cache"),
        IPOWNER_DATA_DIR=str(tmp_path / "data"),
        IPOWNER_NO_SYSTEM_MMDB="1",
        IPOWNER_RDAP_BOOTSTRAP=str(boot),
        IPOWNER_RDAP_REWRITE=server.rewrite_env(),
        IPOWNER_RDAP_LIMITS="lacnic=100/1:2",
        COLUMNS="200",
    )

    def run(*args: str, code: str = LOOPBACK_ONLY, extra_env: dict[str, str] | None = None,
            prefix: list[str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*(prefix or []), sys.executable, "-c", code, *args], capture_output=True, text=True,
                              env={**env, **(extra_env or {})}, timeout=120)

    return run


def _records(p: subprocess.CompletedProcess[str]) -> dict[str, dict]:
    return {r["query"]: r for r in json.loads(p.stdout)["records"]}


DONE = ["74.125.225.229", "210.107.73.73", "2001:240:10c:1::ca20:9d1d"]


def test_done_when_in_json(cli, server: RecordedRdap) -> None:
    p = cli("lookup", *DONE, "--no-embedded", "--format", "json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    recs = _records(p)
    g = recs["74.125.225.229"]
    assert g["holder"]["name"] == "Google Inc." and g["holder"]["country"] == "US" and g["holder"]["handle"] == "GOGL"
    assert [(c["role"], c["name"]) for c in g["registry_chain"]] == [("iana", "IANA"), ("rir", "ARIN"), ("holder", "Google Inc.")]
    assert g["network"]["start"] == "74.125.0.0" and g["network"]["cidrs"] == ["74.125.0.0/16"]
    assert g["abuse"]["email"] == "arin-contact@google.com"
    assert g["provenance"]["holder"].startswith("rdap:arin:")
    kr = recs["210.107.73.73"]
    assert kr["holder"]["name"] == "DACOM Corp." and kr["holder"]["inferred"] is True and kr["holder"]["rule"] == "description"
    assert [c["name"] for c in kr["registry_chain"]] == ["IANA", "APNIC", "KRNIC", "DACOM Corp."]
    jp = recs["2001:240:10c:1::ca20:9d1d"]
    assert jp["holder"]["name"] is None and "netname suggests IIJ" in jp["holder"]["reason"]
    assert [c["role"] for c in jp["registry_chain"]] == ["iana", "rir", "nir"]
    # request counts in the document and on stderr
    assert doc["rdap"]["requests"]["ip network"] == 3 and doc["rdap"]["requests"]["nir"] == 2
    assert any(s["kind"] == "rdap" for s in doc["sources"])
    assert doc["rdap"]["bootstrap"]["published"]["ipv4.json"] == "2019-06-07T19:00:02Z"
    assert p.stderr.strip().splitlines() == [
        "ipowner: RDAP: 3 addresses, 5 requests (3 ip network, 2 nir); 0 from cache, 0 shared a network"]


def test_table_and_csv_show_ownership(cli) -> None:
    p = cli("lookup", "210.107.73.73", "74.125.225.229", "--no-embedded")
    assert p.returncode == 0, p.stderr
    table = " ".join(p.stdout.split())  # several addresses: one row each, holder and chain below it
    assert "holder DACOM Corp. (inferred from description); holder country KR; chain IANA > APNIC > KRNIC (nir) > " \
           "DACOM Corp." in table
    assert "holder Google Inc.; holder country US; chain IANA > ARIN > Google Inc." in table
    p = cli("lookup", "210.107.73.73", "74.125.225.229", "--no-embedded", "-v")  # -v: a card each
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "DACOM Corp." in out and "inferred from description" in out
    assert "IANA > APNIC > KRNIC (nir) > DACOM Corp." in out
    assert "registry chain" in out and "holder country" in out and "hostmaster@nic.or.kr" in out
    assert "210.107.0.0 - 210.107.127.255" in out
    p = cli("lookup", "210.107.73.73", "74.125.225.229", "--no-embedded", "--format", "csv")
    rows = {r["address"]: r for r in csv.DictReader(io.StringIO(p.stdout))}
    assert rows["74.125.225.229"]["holder"] == "Google Inc." and rows["74.125.225.229"]["holder_inferred"] == "false"
    assert rows["210.107.73.73"]["registry_chain"] == "IANA > APNIC > KRNIC (nir) > DACOM Corp."
    assert rows["210.107.73.73"]["abuse_email"] == "hostmaster@nic.or.kr"
    assert rows["74.125.225.229"]["network_cidrs"] == "74.125.0.0/16"


def test_offline_second_run_opens_no_socket(cli) -> None:
    assert cli("lookup", "62.239.237.1", "--no-embedded", "--format", "json").returncode == 0
    p = cli("lookup", "62.239.237.77", "3.3.3.3", "--no-embedded", "--offline", "--format", "json", code=NO_SOCKET)
    assert p.returncode == 0, p.stderr
    recs = _records(p)
    assert recs["62.239.237.77"]["holder"]["name"] == "BT-CORPORATE"
    assert recs["3.3.3.3"]["holder"] is None
    doc = json.loads(p.stdout)
    assert doc["rdap"]["offline"] is True and doc["rdap"]["not_cached"] == 1 and doc["rdap"]["requests_total"] == 0
    assert "RDAP (offline, cache only): 1 of 2 addresses answered from cache, 1 not cached; no request made" in p.stderr
    t = cli("lookup", "3.3.3.3", "--no-embedded", "--offline", code=NO_SOCKET)
    assert "not looked up: not in the RDAP cache (offline, no query made)" in t.stdout


def test_no_rdap_uses_the_cache_only(cli, server: RecordedRdap) -> None:
    cli("lookup", "62.239.237.1", "--no-embedded", "--format", "json")
    server.reset()
    p = cli("lookup", "62.239.237.1", "13.64.0.1", "--no-embedded", "--no-rdap", "--format", "json")
    assert p.returncode == 0 and server.log == []
    assert _records(p)["62.239.237.1"]["holder"]["name"] == "BT-CORPORATE"


def test_refresh_and_evidence(cli, server: RecordedRdap, tmp_path: Path) -> None:
    cli("lookup", "193.0.6.139", "--no-embedded", "--format", "json")
    server.reset()
    ev = tmp_path / "ev"
    p = cli("lookup", "193.0.6.139", "--no-embedded", "--format", "json", "--refresh", "--evidence", str(ev))
    assert p.returncode == 0, p.stderr
    assert server.counts() == {"ip": 1, "entity": 1}
    claims = json.loads((ev / "claims.json").read_text())
    assert claims["193.0.6.139"]["holder"]["value"]["name"].startswith("Reseaux IP Europeens")
    assert (ev / claims["193.0.6.139"]["holder"]["file"]).is_file()


def test_registry_error_is_one_line_and_exit_4(cli) -> None:
    p = cli("lookup", "8.8.8.8", "62.239.237.1", "--no-embedded", "--format", "json")
    assert p.returncode == 4
    # One summary line counts the failures by kind (issue 14); each address's own line comes with -v.
    assert p.stderr.splitlines() == [
        "ipowner: RDAP: 2 addresses, 2 requests (2 ip network); 0 from cache, 0 shared a network; "
        "1 not answered: 1 no registry object (404)"]
    assert _records(p)["62.239.237.1"]["holder"]["name"] == "BT-CORPORATE"
    assert "registry error 404 Not Found" in _records(p)["8.8.8.8"]["errors"][0]
    assert "Traceback" not in p.stderr
    p = cli("lookup", "8.8.8.8", "62.239.237.1", "--no-embedded", "--format", "json", "--refresh", "-v")
    lines = p.stderr.splitlines()
    assert lines[0].startswith("ipowner: 8.8.8.8: RDAP http://127.0.0.1:") and lines[0].endswith("registry error 404 Not Found")


def test_deadline_and_chain_options(cli, server: RecordedRdap) -> None:
    p = cli("lookup", "62.239.237.1", "--no-embedded", "--format", "json", "--chain", "--deadline", "30")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["rdap"]["requests"]["parent"] >= 1
    assert any(path == "/main/ripe/ip/62.239.236.0/23" for path in server.log)


@pytest.mark.parametrize(("env", "words"), [
    ({"IPOWNER_RDAP_REWRITE": "nonsense"}, "IPOWNER_RDAP_REWRITE"),
    ({"IPOWNER_RDAP_LIMITS": "lacnic=fast"}, "IPOWNER_RDAP_LIMITS"),
])
def test_bad_rdap_settings_are_usage_errors(cli, env, words) -> None:
    p = cli("lookup", "62.239.237.1", "--no-embedded", extra_env=env)
    assert p.returncode == 2 and words in p.stderr and len(p.stderr.splitlines()) == 1


def test_bad_bootstrap_folder_is_one_line(cli, tmp_path: Path) -> None:
    p = cli("lookup", "62.239.237.1", "--no-embedded", "--rdap-bootstrap", str(tmp_path / "nowhere"))
    assert p.returncode == 4 and "RDAP bootstrap folder not found" in p.stderr and "Traceback" not in p.stderr


def test_cache_command(cli) -> None:
    cli("lookup", "62.239.237.1", "196.11.240.215", "--no-embedded", "--format", "json")
    st = json.loads(cli("cache", "stats", "--format", "json").stdout)
    assert st["answers"] == 2 and st["answers_leaf"] == 2 and st["objects"] == {"entity": 1}
    assert "answers         2 (2 fresh, 2 for a whole leaf network)" in cli("cache", "stats").stdout
    rows = [json.loads(line) for line in cli("cache", "export").stdout.splitlines()]
    assert {r["type"] for r in rows} == {"answer", "object"} and all(r["schema"] == "ipowner.cache/2" for r in rows)
    assert st["schema"] == "ipowner.cache/2" and st["oldest"].endswith("Z") and all(r["fetched"].endswith("Z") for r in rows)
    assert {r["first"] for r in rows if r["type"] == "answer"} == {"62.239.237.0", "196.11.239.0"}
    p = cli("cache", "clear")
    assert p.returncode == 0 and "removed 3 entries" in p.stderr
    assert json.loads(cli("cache", "stats", "--format", "json").stdout)["answers"] == 0


def test_progress_bar_only_on_a_terminal_and_long_runs(monkeypatch) -> None:
    from ipowner.cli import lookup as cli_lookup

    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    with cli_lookup._ProgressBar() as progress:
        assert progress is None  # piped stderr: no bar, no callback
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    bar = cli_lookup._ProgressBar()
    with bar as progress:
        progress(1, cli_lookup.PROGRESS_MIN - 1)
        assert bar._progress is None  # short run: no bar
        progress(1, 100)
        progress(100, 100)
        assert bar._progress is not None and bar._progress.tasks[0].completed == 100


def test_rdap_summary_line() -> None:
    from ipowner.cli.lookup import rdap_summary

    assert rdap_summary(None) is None
    assert rdap_summary({"addresses": 2, "offline": True, "from_cache": 0}) is None
    line = rdap_summary({"addresses": 1, "requests": {"ip network": 1, "entity": 0}, "requests_total": 1,
                         "from_cache": 0, "deduplicated": 0, "retries": 1, "rate_limited": 1, "failed": 0})
    assert line == "RDAP: 1 address, 1 request (1 ip network); 0 from cache, 0 shared a network; 1 retries, 1 rate-limited"


def test_damaged_cache_costs_no_answers_and_clear_removes_it(cli, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir(exist_ok=True)
    (cache / "rdap.sqlite3").write_bytes(b"this is not a database" * 100)
    p = cli("lookup", "62.239.237.1", "--no-embedded", "--format", "json")
    assert p.returncode == 0, p.stderr
    assert _records(p)["62.239.237.1"]["holder"]["name"] == "BT-CORPORATE"
    assert "RDAP cache unusable" in p.stderr and "not kept after this run" in p.stderr
    assert cli("cache", "stats").returncode == 1
    c = cli("cache", "clear")
    assert c.returncode == 0 and "removed the damaged cache file" in c.stderr
    assert cli("lookup", "62.239.237.1", "--no-embedded", "--format", "json").returncode == 0
    assert json.loads(cli("cache", "stats", "--format", "json").stdout)["answers"] == 1


def test_unwritable_evidence_folder_is_a_usage_error(cli, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    p = cli("lookup", "62.239.237.1", "--no-embedded", "--evidence", str(blocker / "ev"))
    assert p.returncode == 2 and "cannot write evidence here" in p.stderr and len(p.stderr.splitlines()) == 1


# -- hostile answers and cache faults, end to end (issue 11) ---------------------------------------------

def _synthetic_world(server: RecordedRdap, tmp_path: Path, name: str, **fields: object) -> dict[str, str]:
    """A world where 23.45.67.0/24 (in ARIN's 23/8, nothing recorded there) is a synthetic assignment with
    ``fields``; the environment that points ipowner at it."""
    doc = {"objectClassName": "ip network", "handle": "NET-SYN-CC", "startAddress": "23.45.67.0",
           "endAddress": "23.45.67.255", "name": "SYN-CC", "type": "ASSIGNED PA", "port43": "whois.arin.net",
           "remarks": [{"description": ["synthetic answer for tests"]}],
           "entities": [{"handle": "SYN-ORG", "roles": ["registrant"],
                         "vcardArray": ["vcard", [["fn", {}, "text", "Synthetic Holder Ltd"], ["kind", {}, "text", "org"]]]}],
           **fields}
    server.add_bodies(name, {"arin": [json.dumps(doc).encode()]})
    boot = server.write_bootstrap(tmp_path / f"bootstrap-{name}", name)
    return {"IPOWNER_RDAP_BOOTSTRAP": str(boot), "IPOWNER_RDAP_REWRITE": server.rewrite_env(name)}


def test_fail_on_holder_country_sees_through_format_characters(cli, server: RecordedRdap, tmp_path: Path) -> None:
    env = _synthetic_world(server, tmp_path, "cc-zwsp", country="CN\u200b")
    listing = tmp_path / "addresses.txt"
    listing.write_text("23.45.67.89\n")
    p = cli("report", str(listing), "--no-embedded", "--format", "json", "--fail-on", "holder-country:CN", extra_env=env)
    assert p.returncode == 3, p.stderr
    doc = json.loads(p.stdout)
    assert [(o["address"], o["rule"]) for o in doc["policy"]["offending"]] == [("23.45.67.89", "holder-country:CN")]
    p = cli("lookup", "23.45.67.89", "--no-embedded", "--format", "json", extra_env=env)
    assert _records(p)["23.45.67.89"]["holder"]["country"] == "CN"


def test_a_country_that_is_no_iso_code_is_null_with_evidence(cli, server: RecordedRdap, tmp_path: Path) -> None:
    env = _synthetic_world(server, tmp_path, "cc-junk", country="<script>x</script>")
    listing = tmp_path / "addresses.txt"
    listing.write_text("23.45.67.89\n")
    p = cli("report", str(listing), "--no-embedded", "--format", "json", extra_env=env)
    assert p.returncode == 0, p.stderr
    dest = json.loads(p.stdout)["destinations"][0]
    assert dest["jurisdiction"]["holder_country"] is None
    p = cli("lookup", "23.45.67.89", "--no-embedded", "--format", "json", extra_env=env)
    holder = _records(p)["23.45.67.89"]["holder"]
    assert holder["country"] is None and any("<script>x</script>" in e for e in holder["evidence"])
    assert p.stdout.isascii()  # the raw text is escaped like any registry text (the renderers' tests check the rest)


def test_damaged_cache_rows_cost_one_stderr_line(cli, tmp_path: Path) -> None:
    import sqlite3

    assert cli("lookup", "62.239.237.1", "74.125.225.229", "--no-embedded", "--format", "json").returncode == 0
    db = sqlite3.connect(tmp_path / "cache" / "rdap.sqlite3")
    db.execute("UPDATE answers SET bundle = '[1, 2]' WHERE registry = 'ripe'")
    db.commit()
    db.close()
    p = cli("lookup", "62.239.237.1", "74.125.225.229", "--no-embedded", "--format", "json")
    assert p.returncode == 0, p.stderr
    assert _records(p)["62.239.237.1"]["holder"]["name"] == "BT-CORPORATE"
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "1 damaged RDAP cache entry skipped and removed" in lines[0]
    again = cli("lookup", "62.239.237.1", "--no-embedded", "--format", "json", "--offline", code=NO_SOCKET)
    assert _records(again)["62.239.237.1"]["holder"]["name"] == "BT-CORPORATE" and "damaged" not in again.stderr


def _read_only_mount(folder: Path) -> list[str] | None:
    """A command prefix that runs the rest with ``folder`` mounted read-only (user and mount namespaces),
    or None where that is not possible here."""
    import shutil

    if shutil.which("unshare") is None:
        return None
    script = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" && exec "$@"'
    prefix = ["unshare", "-rm", "sh", "-c", script, str(folder)]
    probe = subprocess.run([*prefix, "sh", "-c", f'touch "{folder}/probe" 2>/dev/null && echo writable || echo ro'],
                           capture_output=True, text=True, timeout=30)
    return prefix if probe.stdout.strip() == "ro" else None


def test_a_cache_on_a_read_only_filesystem_is_still_read(cli, tmp_path: Path) -> None:
    assert cli("lookup", "62.239.237.1", "--no-embedded", "--format", "json").returncode == 0
    prefix = _read_only_mount(tmp_path / "cache")
    if prefix is None:
        pytest.skip("no user and mount namespaces here to mount the cache read-only")
    p = cli("lookup", "62.239.237.77", "--no-embedded", "--offline", "--format", "json", code=NO_SOCKET, prefix=prefix)
    assert p.returncode == 0, p.stderr
    assert _records(p)["62.239.237.77"]["holder"]["name"] == "BT-CORPORATE"
    assert json.loads(p.stdout)["rdap"]["from_cache"] == 1
    # online, the cached answer still serves and a new one is given, just not kept: said in one line
    p = cli("lookup", "62.239.237.78", "196.11.240.215", "--no-embedded", "--format", "json", prefix=prefix)
    assert p.returncode == 0, p.stderr
    recs = _records(p)
    assert recs["62.239.237.78"]["holder"]["name"] == "BT-CORPORATE" and recs["196.11.240.215"]["holder"]
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "RDAP cache is read-only: answers read from it, 2 new answers not kept" in lines[0]
