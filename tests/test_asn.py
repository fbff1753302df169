"""AS queries (``ipowner lookup AS15169``): offline from a database's AS data, online from RDAP over loopback.

The databases here are synthetic (``as-synthetic.mmdb``, written per test); the autnum answers are the
recorded ones of tests/data/rdap/ served from 127.0.0.1 (tests/rdap_support.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from ipowner.lookups.asn import lookup_as, parse_as, special_as
from ipowner.model.asn import AsLookup
from ipowner.model.documents import load_document
from ipowner.paths import user_cache_dir
from mmdb_support import write_mmdb
from rdap_support import RecordedRdap

IPOWNER = str(Path(sys.executable).parent / "ipowner")
SCHEMA = json.loads((Path(__file__).parents[1] / "data" / "schemas" / "as.schema.json").read_text())


def _rec(asn: int, org: str, cc: str) -> dict:
    return {"autonomous_system_number": asn, "autonomous_system_organization": org,
            "registered_country": {"iso_code": cc}}


@pytest.fixture
def as_db(tmp_path: Path) -> Path:
    return write_mmdb(tmp_path / "as-synthetic.mmdb", {
        "198.51.100.0/25": _rec(15169, "Synthetic Google", "US"),
        "198.51.100.128/25": _rec(15169, "Synthetic Google", "US"),  # adjacent: merged into one /24
        "203.0.113.0/24": _rec(15169, "Synthetic Google", "IE"),
        "2001:db8::/32": _rec(15169, "Synthetic Google", "US"),
        "192.0.2.0/24": _rec(2914, "Synthetic NTT \x1b[31m", "US"),
    }, "synthetic-ASN")


def test_as_tokens():
    assert [parse_as(t) for t in ("AS15169", "as15169", " As 15169 ", "AS4294967295")] == [15169] * 3 + [4294967295]
    assert [parse_as(t) for t in ("AS", "AS-1", "AS4294967296", "15169", "ASN15169", "AS1.5")] == [None] * 6
    assert special_as(64512) and special_as(65551) and special_as(0) and special_as(15169) is None


def test_offline_answer_from_the_database(as_db):
    a = lookup_as(15169, offline=True, mmdb=[as_db], use_embedded=False)
    assert (a.name, a.name_source) == ("Synthetic Google", "mmdb:as-synthetic.mmdb")
    p = a.prefixes
    assert (p.ipv4_ranges, p.ipv6_ranges, p.ipv4_addresses) == (2, 1, 512)
    assert p.prefixes == ["198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"]
    assert [(c.country, c.ranges) for c in a.registration_countries] == [("US", 3), ("IE", 1)]
    assert a.registry.name == "ARIN" and a.registry.basis.startswith("IANA AS number bootstrap")
    assert (a.cloud.key, a.cloud.company) == ("google", "Google")
    assert a.registration is None and "offline" in a.registration_note
    assert a.errors == [] and int(a.exit_code) == 0
    doc = a.to_dict()
    jsonschema.validate(doc, SCHEMA)
    assert isinstance(load_document(doc), AsLookup) and load_document(doc).to_dict() == doc
    assert list(user_cache_dir().glob("as-index-*.sqlite"))  # the walk is kept


def test_the_index_is_rebuilt_when_damaged(as_db):
    lookup_as(15169, offline=True, mmdb=[as_db], use_embedded=False)
    (index,) = user_cache_dir().glob("as-index-*.sqlite")
    index.write_bytes(b"not a database" * 100)
    a = lookup_as(15169, offline=True, mmdb=[as_db], use_embedded=False)
    assert a.prefixes.ipv4_ranges == 2 and a.errors == []


def test_unknown_special_and_unreadable(as_db, tmp_path):
    a = lookup_as(4200000001, offline=True, mmdb=[as_db], use_embedded=False)
    assert a.special.startswith("private use") and a.registry is None and int(a.exit_code) == 0
    unknown = lookup_as(399999, offline=True, mmdb=[as_db], use_embedded=False)
    assert unknown.name is None and unknown.prefixes.prefixes == [] and unknown.registry.name == "ARIN"
    bad = tmp_path / "bad-synthetic.mmdb"
    bad.write_bytes(b"\x00" * 4096)
    b = lookup_as(15169, offline=True, mmdb=[bad, as_db], use_embedded=False)
    assert len(b.errors) == 1 and "bad-synthetic.mmdb" in b.errors[0] and b.name == "Synthetic Google"
    assert int(b.exit_code) == 4
    with pytest.raises(ValueError):
        lookup_as(-1, offline=True)


@pytest.fixture(scope="module")
def server():
    srv = RecordedRdap()
    yield srv
    srv.close()


@pytest.fixture
def rdap_env(server: RecordedRdap, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RecordedRdap:
    server.reset()
    boot = server.write_bootstrap(tmp_path / "bootstrap", "main")
    monkeypatch.setenv("IPOWNER_RDAP_BOOTSTRAP", str(boot))
    monkeypatch.setenv("IPOWNER_RDAP_REWRITE", server.rewrite_env("main"))
    return server


def test_online_autnum_record_then_offline_from_the_cache(rdap_env, as_db):
    a = lookup_as(2914, offline=False, mmdb=[as_db], use_embedded=False)
    assert a.errors == [] and a.registration is not None
    r = a.registration
    assert r.holder.name == "NTT America, Inc." and [c.role for c in r.registry_chain] == ["iana", "rir", "holder"]
    assert a.registry.name == "ARIN" and a.registry.basis == "RDAP autnum record"
    assert a.name == "Synthetic NTT \x1b[31m"  # kept as the data spells it; escaped where shown
    assert rdap_env.counts()["autnum"] == 1
    rdap_env.reset()
    again = lookup_as(2914, offline=True, mmdb=[as_db], use_embedded=False)
    assert again.registration.holder.name == "NTT America, Inc." and rdap_env.counts()["autnum"] == 0
    jsonschema.validate(again.to_dict(), SCHEMA)


def test_online_failure_is_a_line_not_a_crash(rdap_env, as_db):
    a = lookup_as(64999, offline=False, mmdb=[as_db], use_embedded=False)  # private use: nothing to ask
    assert a.registration is None and a.errors == []
    b = lookup_as(3999, offline=False, mmdb=[as_db], use_embedded=False)  # not recorded: the server says 404
    assert b.registration is None and len(b.errors) == 1 and int(b.exit_code) == 4


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([IPOWNER, "lookup", *args], capture_output=True, text=True, env=env, timeout=120)


def test_cli_routes_one_as_token(as_db):
    env = dict(os.environ)
    r = _cli("as15169", "--offline", "--no-embedded", "--mmdb", str(as_db), env=env)
    assert r.returncode == 0, r.stderr
    text = " ".join(r.stdout.split())
    assert "AS15169" in text and "Synthetic Google" in text and "ARIN" in text and "Google Cloud" in text
    r = _cli("AS2914", "--offline", "--no-embedded", "--mmdb", str(as_db), "--format", "json", env=env)
    doc = json.loads(r.stdout)
    jsonschema.validate(doc, SCHEMA)
    assert doc["name"] == "Synthetic NTT \x1b[31m" and doc["number"] == 2914
    r = _cli("AS2914", "--offline", "--no-embedded", "--mmdb", str(as_db), env=env)
    assert "\x1b" not in r.stdout  # the escape sequence in the AS name does not reach the terminal
    r = _cli("AS15169", "--offline", "--no-embedded", "--mmdb", str(as_db), "--format", "csv", env=env)
    assert r.returncode == 2 and "AS answer" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.slow
def test_cli_as15169_offline_on_the_embedded_data():
    """The done-when case: the shipped data answers AS15169 offline (the first query walks the database)."""
    r = _cli("AS15169", "--offline", "--format", "json", env=dict(os.environ))
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc["name"] == "Google LLC" and doc["registry"]["name"] == "ARIN" and doc["cloud"]["key"] == "google"
    assert doc["prefixes"]["ipv4_ranges"] > 10 and "8.8.8.0/24" in doc["prefixes"]["prefixes"]
    assert doc["registration_countries"][0]["country"] == "US"


def test_a_record_for_a_range_answers_its_other_numbers_from_the_cache(rdap_env, as_db):
    from rdap_support import Action

    # Synthetic autnum record covering AS397000-AS397009 (ARIN's range in the bootstrap).
    body = {"objectClassName": "autnum", "handle": "AS397000", "startAutnum": 397000, "endAutnum": 397009,
            "name": "SYNTHETIC-RANGE", "port43": "whois.arin.net",
            "entities": [{"objectClassName": "entity", "handle": "SYN-1", "roles": ["registrant"],
                          "vcardArray": ["vcard", [["version", {}, "text", "4.0"], ["fn", {}, "text", "Synthetic Range Holder"]]]}]}
    rdap_env.script["/main/arin/registry/autnum/397000"] = [Action(200, json.dumps(body).encode())]
    a = lookup_as(397000, offline=False, mmdb=[as_db], use_embedded=False)
    assert a.registration is not None and (a.registration.first, a.registration.last) == (397000, 397009)
    rdap_env.reset()
    b = lookup_as(397005, offline=True, mmdb=[as_db], use_embedded=False)
    assert b.registration is not None and b.registration.handle == "AS397000" and b.registration_note is None
    assert rdap_env.counts()["autnum"] == 0
    c = lookup_as(397010, offline=True, mmdb=[as_db], use_embedded=False)  # outside the range: not answered
    assert c.registration is None
