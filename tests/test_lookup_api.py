"""ipowner.lookup(): input parsing, resolution, provider order, errors and exit codes (synthetic providers)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

import ipowner
from _lookup_fakes import SYNTHETIC_SOURCE, BrokenProvider, FakeResolver, SyntheticProvider
from ipowner import ExitCode, InvalidAddressError
from ipowner.lookups.lookup import parse_query
from ipowner.lookups.resolve import SystemResolver
from ipowner.model import SCHEMA_LOOKUP


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("8.8.8.8", "8.8.8.8"),
        ("  8.8.8.8\n", "8.8.8.8"),
        ("2001:4860:4860:0:0:0:0:8888", "2001:4860:4860::8888"),
        ("[2001:DB8::1]", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("[fe80::1%25en0]", "fe80::1"),
        ("::ffff:8.8.8.8", "::ffff:8.8.8.8"),
        ("::FFFF:808:808", "::ffff:8.8.8.8"),
    ],
)
def test_addresses_are_canonical(text, address):
    assert parse_query(text).address == address


@pytest.mark.parametrize(
    ("text", "hostname"),
    [("Example.COM.", "example.com"), ("bücher.example", "xn--bcher-kva.example"), ("_dmarc.example.org", "_dmarc.example.org")],
)
def test_hostnames_are_idna(text, hostname):
    assert parse_query(text).hostname == hostname


@pytest.mark.parametrize("text", ["", "   ", "999.1.1.1", "1.2.3", "8.8.8.0/24", "2001:db8::zz", "exa mple.com", "a..b", "-x.com", "x" * 300])
def test_garbage_is_one_line_invalid_address(text):
    with pytest.raises(InvalidAddressError) as info:
        parse_query(text)
    assert "\n" not in str(info.value)


def test_records_in_input_order_with_special_first_and_attribution():
    data = SyntheticProvider()
    res = ipowner.lookup(["10.0.0.1", "8.8.8.8", "64:ff9b::808:808", "2001:0:4136:e378:8000:63bf:3fff:fdd2"], providers=[data])
    assert [r.query for r in res.records] == ["10.0.0.1", "8.8.8.8", "64:ff9b::808:808", "2001:0:4136:e378:8000:63bf:3fff:fdd2"]
    private, google, nat64, teredo = res.records
    assert private.special.label == "private" and private.location.country is None
    assert google.location.country == "US" and google.asn.number == 15169
    assert nat64.looked_through.ipv4 == "8.8.8.8" and nat64.asn.number == 15169
    assert nat64.provenance["asn.number"] == "synthetic"
    # The Teredo client (192.0.2.45) is documentation space: never handed to a data provider.
    assert teredo.looked_through.special.label == "documentation" and teredo.asn is None
    assert data.asked == ["8.8.8.8", "8.8.8.8"]
    assert res.exit_code == ExitCode.OK and res.errors == []
    assert [s.id for s in res.sources] == ["iana-special", "synthetic"]


def test_bad_inputs_do_not_lose_the_others():
    res = ipowner.lookup(["8.8.8.8", "not an address", "10.0.0.1"], providers=[SyntheticProvider()])
    assert [r.address for r in res.records] == ["8.8.8.8", "10.0.0.1"]
    assert [(e.query, e.kind) for e in res.errors] == [("not an address", "invalid-address")]
    assert res.exit_code == ExitCode.PARTIAL


def test_nothing_answered_is_failure():
    res = ipowner.lookup(["nope nope", "1.2.3.4.5"], providers=[])
    assert res.records == [] and len(res.errors) == 2
    assert res.exit_code == ExitCode.FAILURE


def test_hostname_gives_one_row_per_answer_with_resolution():
    resolver = FakeResolver({"dual.example": ["8.8.8.8", "2001:db8::1"]})
    res = ipowner.lookup(["dual.example", "gone.example"], resolver=resolver, providers=[SyntheticProvider()])
    assert [(r.query, r.address) for r in res.records] == [("dual.example", "8.8.8.8"), ("dual.example", "2001:db8::1")]
    first = res.records[0]
    assert first.resolution.hostname == "dual.example"
    assert first.resolution.answers == ["8.8.8.8", "2001:db8::1"]
    assert first.resolution.resolver == "fake resolver" and first.resolution.time is not None
    assert first.provenance["resolution"] == "resolver"
    assert res.records[1].special.label == "documentation"
    assert [(e.query, e.kind) for e in res.errors] == [("gone.example", "resolution")]
    assert "gone.example" in res.errors[0].message and res.exit_code == ExitCode.PARTIAL
    assert resolver.asked == ["dual.example", "gone.example"]


def test_offline_never_calls_the_resolver():
    resolver = FakeResolver({"dual.example": ["8.8.8.8"]})
    res = ipowner.lookup(["dual.example", "8.8.8.8"], offline=True, resolver=resolver, providers=[SyntheticProvider()])
    assert resolver.asked == []
    assert [r.address for r in res.records] == ["8.8.8.8"]
    assert res.errors[0].message == "dual.example: cannot resolve offline"


def test_resolver_returning_garbage_is_an_error_not_a_crash():
    res = ipowner.lookup(["bad.example"], resolver=lambda h: ["not-an-ip"], providers=[])
    assert res.records == [] and res.errors[0].kind == "resolution"


def test_system_resolver_gives_up_at_the_deadline():
    release = threading.Event()

    def hanging(name: str) -> list[str]:
        release.wait(30)
        return ["192.0.2.1"]

    resolver = SystemResolver(timeout=0.3, lookup=hanging)
    start = time.monotonic()
    out = resolver.resolve_many(["a.example", "b.example", "c.example"])
    elapsed = time.monotonic() - start
    release.set()
    assert elapsed < 5  # three hung names share one deadline
    assert all(isinstance(v, ipowner.ResolutionError) for v in out.values())
    assert "within 0.3 s" in str(out["a.example"])


def test_system_resolver_keeps_going_while_answers_come():
    def slow(name: str) -> list[str]:
        time.sleep(0.05)
        return ["192.0.2.7"]

    resolver = SystemResolver(timeout=0.5, lookup=slow)
    resolver.workers = 1  # 20 names one after another: 1 s in all, more than the timeout, never idle 0.5 s
    out = resolver.resolve_many([f"h{i}.example" for i in range(20)])
    assert all(v == ["192.0.2.7"] for v in out.values()) and len(out) == 20


def test_system_resolver_collects_answers_and_errors():
    def lookup(name: str) -> list[str]:
        if name == "bad.example":
            raise ipowner.ResolutionError(name, "does not resolve")
        if name == "bug.example":
            raise KeyError("oops")
        return ["198.51.100.1"]

    out = SystemResolver(timeout=5, lookup=lookup).resolve_many(["ok.example", "bad.example", "bug.example"])
    assert out["ok.example"] == ["198.51.100.1"]
    assert isinstance(out["bad.example"], ipowner.ResolutionError)
    assert "KeyError" in str(out["bug.example"])


def test_record_level_errors_and_database_problems_make_partial():
    data = SyntheticProvider(problems=["/tmp/x.mmdb: corrupt database"], fail_on="8.8.4.4")
    res = ipowner.lookup(["8.8.8.8", "8.8.4.4"], providers=[data])
    assert res.records[1].errors == ["synthetic database: corrupt record"]
    assert "8.8.4.4: synthetic database: corrupt record" in res.problems
    assert any(e.kind == "provider" and e.query is None and "x.mmdb" in e.message for e in res.errors)
    assert res.exit_code == ExitCode.PARTIAL


def test_a_failing_provider_does_not_lose_the_others():
    res = ipowner.lookup(["8.8.8.8"], providers=[BrokenProvider(), SyntheticProvider()])
    assert res.records[0].location.country == "US"
    assert res.errors[0].kind == "provider" and "BrokenProvider failed" in res.errors[0].message


def test_json_document_shape():
    res = ipowner.lookup(["8.8.8.8", "bogus!"], providers=[SyntheticProvider()])
    doc = res.to_dict()
    assert doc["schema"] == SCHEMA_LOOKUP
    assert doc["tool"] == {"name": "ipowner", "version": ipowner.__version__}
    assert doc["generated"].endswith("Z")
    rec = doc["records"][0]
    for key in ("query", "address", "special", "looked_through", "location", "registered_country", "asn", "sources"):
        assert key in rec
    assert rec["location"]["country"] == "US" and rec["asn"] == {"number": 15169, "name": "GOOGLE", "network": None}
    assert {s["id"] for s in doc["sources"]} == {"iana-special", "synthetic"}
    synthetic = next(s for s in doc["sources"] if s["id"] == "synthetic")
    assert synthetic["credit"] == SYNTHETIC_SOURCE.credit and synthetic["date"] == "2026-01-02T00:00:00Z"
    assert doc["errors"] == [{"query": "bogus!", "kind": "invalid-address", "message": "bogus!: neither an IP address nor a valid hostname"}]


def test_one_mmdb_path_given_as_a_string(tmp_path, monkeypatch):
    monkeypatch.setenv("IPOWNER_DATA_DIR", str(tmp_path / "data"))
    city = Path(__file__).parent / "data" / "mmdb" / "GeoIP2-City-Test.mmdb"
    res = ipowner.lookup("81.2.69.160", offline=True, mmdb=str(city), use_embedded=False, discover=False)
    rec = res.records[0]
    assert (rec.location.country, rec.location.city, rec.registered_country) == ("GB", "London", "US")
    assert res.errors == [] and res.exit_code == ExitCode.OK
