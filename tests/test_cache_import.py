"""`ipowner cache import`: answers carried to an offline machine, every row checked as a registry's answer is
(issue 12, item 5). The answers come from the loopback RDAP server of the recorded registry answers."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

import ipowner
from ipowner.errors import DocumentError, InputNotFoundError
from ipowner.render import render
from network_guard import cli_code
from rdap_support import RecordedRdap

DONE = ["74.125.225.229", "210.107.73.73", "2001:240:10c:1::ca20:9d1d"]
DOCS = Path(__file__).parent / "data" / "documents"


@pytest.fixture(scope="module")
def server():
    srv = RecordedRdap()
    yield srv
    srv.close()


@pytest.fixture
def exported(server, tmp_path, monkeypatch):
    """An export of the cache a lookup online filled, and the environment it was made in."""
    server.reset()
    boot = server.write_bootstrap(tmp_path / "bootstrap")
    monkeypatch.setenv("IPOWNER_RDAP_BOOTSTRAP", str(boot))
    monkeypatch.setenv("IPOWNER_RDAP_REWRITE", server.rewrite_env())
    monkeypatch.setenv("IPOWNER_CACHE_DIR", str(tmp_path / "online-cache"))
    online = ipowner.lookup(DONE, use_embedded=False, discover=False)
    assert all(r.holder is not None for r in online.records), online.problems
    path = tmp_path / "answers.jsonl"
    with path.open("w") as fh:
        render(ipowner.cache_export(), "jsonl", fh, kind="cache-export")
    monkeypatch.setenv("IPOWNER_CACHE_DIR", str(tmp_path / "offline-cache"))
    return path, online


def _rows(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_round_trip_answers_offline_with_the_same_url_and_time(exported):
    path, online = exported
    rows = _rows(path)
    done = ipowner.cache_import(path)
    assert done.skipped == {} and done.answers == sum(r["type"] == "answer" for r in rows)
    assert done.objects == sum(r["type"] == "object" for r in rows) and done.answers >= 3
    offline = ipowner.lookup(DONE, offline=True, use_embedded=False, discover=False)
    for a, b in zip(online.records, offline.records, strict=True):
        assert b.holder is not None and b.holder.name == a.holder.name
        assert [c.name for c in b.registry_chain] == [c.name for c in a.registry_chain]
        assert b.sources[b.provenance["holder"]].date == a.sources[a.provenance["holder"]].date
    again = {(r["type"], r.get("first"), r["url"], r["fetched"]) for r in _rows(path)}
    path2 = path.with_name("again.jsonl")
    with path2.open("w") as fh:
        render(ipowner.cache_export(), "jsonl", fh, kind="cache-export")
    assert {(r["type"], r.get("first"), r["url"], r["fetched"]) for r in _rows(path2)} == again
    # A second import changes nothing: every row is already there, as new.
    twice = ipowner.cache_import(path)
    assert (twice.answers, twice.objects, twice.unchanged) == (0, 0, len(rows))


def _answer(rows):
    return copy.deepcopy(next(r for r in rows if r["type"] == "answer" and r["first"].startswith("74.")))


def _body(row):
    return json.loads(row["bundle"]["network"]["body"])


def _set_body(row, body):
    row["bundle"]["network"]["body"] = json.dumps(body)


def test_hostile_rows_are_skipped_and_counted_the_rest_imported(exported, tmp_path):
    path, _online = exported
    rows = _rows(path)
    good = _answer(rows)
    bad = []
    r = copy.deepcopy(good)  # a range far wider than the network it quotes
    r["first"], r["last"] = "74.0.0.0", "74.255.255.255"
    bad.append(r)
    r = copy.deepcopy(good)  # a network the registry would never answer: outside its bootstrap block
    body = _body(r)
    body["startAddress"], body["endAddress"] = "0.0.0.0", "255.255.255.255"
    body.pop("cidr0_cidrs", None)
    _set_body(r, body)
    r["first"], r["last"] = "74.125.225.0", "74.125.225.255"
    bad.append(r)
    r = copy.deepcopy(good)  # an answer from a host that is no registry
    r["url"] = r["bundle"]["network"]["url"] = "https://evil.example/ip/74.125.225.229"
    bad.append(r)
    r = copy.deepcopy(good)  # a country that is no ISO code
    body = _body(r)
    body["country"] = "XX"
    _set_body(r, body)
    bad.append(r)
    r = copy.deepcopy(good)  # fetched in the future
    r["fetched"] = r["bundle"]["network"]["fetched"] = time.time() + 30 * 86400
    bad.append(r)
    r = copy.deepcopy(good)  # a body past the size limit
    r["bundle"]["network"]["body"] = json.dumps({**_body(r), "pad": "x" * (9 << 20)})
    bad.append(r)
    r = copy.deepcopy(good)  # not a bundle
    r["bundle"] = {"network": "nope"}
    bad.append(r)
    bad.append({"schema": "ipowner.cache/9", "type": "answer"})  # a version this does not read
    r = copy.deepcopy(good)  # a row older than the time to live: never used, so not imported
    r["fetched"] = r["bundle"]["network"]["fetched"] = time.time() - 30 * 86400
    bad.append(r)
    mixed = _write(tmp_path / "mixed.jsonl", [*bad[:4], "not json", *bad[4:], *rows])
    mixed.write_text(mixed.read_text().replace('"not json"', "not json"))
    done = ipowner.cache_import(mixed)
    assert done.skipped == {"implausible range": 2, "URL not a registry service": 1, "not an RDAP answer": 1,
                            "implausible time": 1, "too large": 1, "not a cache row": 3,
                            "older than the time to live": 1}
    assert done.first_skipped.startswith("line 1: 74.0.0.0 - 74.255.255.255 is not inside")
    assert done.answers == sum(r["type"] == "answer" for r in rows)
    line = done.summary()
    assert "\n" not in line and line.startswith(f"imported {done.answers} answers") and "skipped 10 rows" in line
    # The good rows answer; none of the bad ones poisoned the cache.
    rec = ipowner.lookup(["74.125.225.229", "74.1.2.3"], offline=True, use_embedded=False, discover=False).records
    assert rec[0].holder.name == "Google Inc." and rec[1].holder is None


def test_every_cache_document_version_is_read(exported, tmp_path):
    path, _online = exported
    rows = _rows(path)
    v1 = []
    for r in rows:  # version 1 wrote times as epoch seconds
        r = copy.deepcopy(r)
        r["schema"] = "ipowner.cache/1"
        r["fetched"] = ipowner_epoch(r["fetched"])
        v1.append(r)
    done = ipowner.cache_import(_write(tmp_path / "v1.jsonl", v1))
    assert done.skipped == {} and done.answers + done.objects == len(rows)


def ipowner_epoch(value):
    from ipowner.model.serialize import epoch_of

    return epoch_of(value)


def test_not_an_export_and_missing_files(tmp_path):
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\nworld\n")
    with pytest.raises(DocumentError, match="not an ipowner cache export"):
        ipowner.cache_import(junk)
    with pytest.raises(InputNotFoundError):
        ipowner.cache_import(tmp_path / "missing.jsonl")


def test_the_recorded_v1_export_from_another_server_is_refused_row_by_row(tmp_path):
    # Its URLs name a loopback port of another run: no registry service of this configuration.
    done = ipowner.cache_import(DOCS / "cache-v1-export.jsonl")
    assert done.answers == done.objects == 0 and done.skipped_total == 4


@pytest.mark.slow
def test_cli_cache_import_one_line_and_exit_codes(exported, tmp_path):
    path, _online = exported
    env = dict(os.environ)
    code = cli_code("none")  # importing opens no socket
    p = subprocess.run([sys.executable, "-c", code, "cache", "import", str(path)], capture_output=True, text=True,
                       env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    assert len(p.stderr.splitlines()) == 1 and p.stderr.startswith("imported ")
    bad = _write(tmp_path / "bad.jsonl", [{"schema": "ipowner.cache/2", "type": "object"}, *_rows(path)])
    p = subprocess.run([sys.executable, "-c", code, "cache", "import", "-"], input=bad.read_text(),
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 4 and len(p.stderr.splitlines()) == 1 and "skipped 1 rows (1 not a cache row" in p.stderr
    p = subprocess.run([sys.executable, "-c", code, "cache", "import", str(tmp_path / "nope.jsonl")],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 1 and p.stderr.strip() == f"ipowner: {tmp_path / 'nope.jsonl'}: no such file"


def test_a_network_names_its_registry_objects_from_the_imported_cache(exported):
    from ipowner.lookups.queries import parse_item

    path, _online = exported
    ipowner.cache_import(path)
    res = ipowner.lookup(parse_item("74.125.225.0/24") + parse_item("74.125.225.0-74.126.0.255"), offline=True,
                         use_embedded=False, discover=False)
    inside, across = res.networks
    assert [(o.holder, o.first, o.last, o.covers_network) for o in inside.registry_objects] == [
        ("Google Inc.", "74.125.0.0", "74.125.255.255", True)]
    assert [(t.key, t.addresses) for t in inside.by_holder] == [("Google Inc.", 256)]
    # A range across two objects: the first is known, the next is not in the cache, and that is said.
    assert [o.covers_network for o in across.registry_objects] == [False]
    assert any("no registry object known for 74.126.0.0" in n for n in across.notes)


def test_a_network_online_asks_the_registry_once_per_object(exported, server):
    from ipowner.lookups.queries import parse_item

    server.reset()
    res = ipowner.lookup(parse_item("74.125.224.0/23"), use_embedded=False, discover=False)
    [net] = res.networks
    assert [(o.holder, o.first, o.last, o.covers_network) for o in net.registry_objects] == [
        ("Google Inc.", "74.125.0.0", "74.125.255.255", True)]
    assert net.notes == [] and res.errors == []
    assert sum(server.counts().values()) >= 1
