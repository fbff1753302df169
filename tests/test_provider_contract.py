"""The provider base and the chain: the contract every provider keeps, and what a run gathers from it.

Synthetic providers only (``_lookup_fakes``); the real providers are checked against it at the end.
"""

from __future__ import annotations

import gc
from typing import Any

import pytest

import ipowner
from _lookup_fakes import SYNTHETIC_SOURCE, BrokenProvider, OldStyleProvider, SyntheticProvider
from ipowner.model import AddressRecord, RangeFact, SourceInfo
from ipowner.providers import (
    Addresses,
    AddressFacts,
    Chain,
    Facts,
    Provider,
    RecordProvider,
    apply_facts,
    parse_address,
    winner,
)
from ipowner.providers.mmdb import MmdbProvider
from ipowner.providers.rdap import RdapConfig, RdapProvider
from ipowner.providers.special import SpecialProvider


def _batch(*texts: str) -> Addresses:
    return Addresses.of(parse_address(t) for t in texts)


def test_the_base_is_abstract_and_needs_facts() -> None:
    with pytest.raises(TypeError):
        Provider()  # type: ignore[abstract]

    class NoFacts(Provider):
        def sources(self) -> list[SourceInfo]:
            return []

    with pytest.raises(NotImplementedError, match="neither facts"):
        NoFacts().facts_many(_batch("8.8.8.8"))
    with pytest.raises(NotImplementedError, match="neither facts"):
        NoFacts().facts(parse_address("8.8.8.8"))


def test_facts_and_facts_many_are_one_answer() -> None:
    p = SyntheticProvider(fail_on="8.8.4.4")
    many = p.facts_many(_batch("8.8.8.8", "1.1.1.1", "8.8.4.4"))
    assert len(many) == 3 and many.errors == {2: ("synthetic database: corrupt record",)}
    assert many.at(0) == p.facts(parse_address("8.8.8.8")) and many.at(1) == AddressFacts()
    assert winner(many.ranges[0], "asn.number") == (15169, "synthetic")


def test_enrich_is_built_from_facts() -> None:
    recs = [AddressRecord(a, a) for a in ("8.8.8.8", "8.8.4.4")]
    SyntheticProvider(fail_on="8.8.4.4").enrich(recs)
    assert recs[0].location.country == "US" and recs[0].asn.number == 15169 and recs[0].asn.network is None
    assert recs[0].provenance == {"location.country": "synthetic", "asn.number": "synthetic", "asn.name": "synthetic"}
    assert recs[0].sources == {"synthetic": SYNTHETIC_SOURCE}
    assert recs[1].errors == ["synthetic database: corrupt record"] and recs[1].asn is None


def test_context_manager_closes() -> None:
    with SyntheticProvider() as p:
        assert not p.closed
    assert p.closed and p.stats is None and p.problems == []


def test_slots_are_won_by_the_first_range_that_has_them() -> None:
    def fact(sid: str, *fields: tuple[str, Any]) -> RangeFact:
        return RangeFact(start=0, end=255, version=4, source=sid, fields=tuple((p, v, sid) for p, v in fields))

    best = fact("a", ("location.latitude", 1.0), ("location.longitude", 2.0), ("asn.number", 64500),
                ("asn.network", None))  # no value: the range's own prefix
    other = fact("b", ("location.accuracy_km", 5), ("asn.name", "OTHER"), ("location.city", "Nowhere"))
    ranges = (best, other)
    # accuracy and the AS name belong to slots the first range owns: they are not taken from another source
    assert winner(ranges, "location.accuracy_km") is None and winner(ranges, "asn.name") is None
    assert winner(ranges, "location.city") == ("Nowhere", "b")
    assert winner(ranges, "asn.network") == ("0.0.0.0/24", "a")
    rec = AddressRecord("0.0.0.1", "0.0.0.1")
    apply_facts(rec, ranges, {"a": SourceInfo("a", "mmdb", "a"), "b": SourceInfo("b", "mmdb", "b")})
    assert (rec.location.latitude, rec.location.accuracy_km, rec.location.city) == (1.0, None, "Nowhere")
    assert (rec.asn.number, rec.asn.name, rec.asn.network) == (64500, None, "0.0.0.0/24")
    assert rec.provenance == {"location.latitude": "a", "location.longitude": "a", "asn.number": "a",
                              "asn.network": "a", "location.city": "b"}


def test_chain_order_problems_stats_and_ownership() -> None:
    owned = SyntheticProvider(problems=["x.mmdb: corrupt"])
    chain = Chain([BrokenProvider(), owned, OldStyleProvider()], own=True, problems=[("database", "set-up")])
    recs = [AddressRecord(a, a) for a in ("10.0.0.1", "8.8.8.8", "64:ff9b::808:808")]
    with chain:
        chain.enrich(recs)
        assert [k for k, _m in chain.problems()] == ["database", "provider", "provider", "provider"]
        assert "BrokenProvider failed (RuntimeError: boom)" in chain.problems()[1][1]
        assert chain.problems()[2:] == [("provider", "x.mmdb: corrupt"), ("provider", "old style: one problem")]
        assert chain.stats() == {}
        assert [s.id for s in chain.sources()] == ["iana-special", "synthetic"]
    assert owned.closed
    private, google, nat64 = recs
    assert private.special.label == "private" and private.asn is None  # special: nobody else is asked
    assert owned.asked == ["8.8.8.8", "8.8.8.8"]  # the NAT64 address is asked about by the IPv4 it carries
    # the old-style provider ran after the fact providers, on the same records
    assert google.asn.number == 64496 and google.location.country == "US" and nat64.asn.number == 64496


def test_chain_does_not_close_what_it_does_not_own() -> None:
    p = SyntheticProvider()
    with Chain([p]):
        pass
    assert not p.closed


def test_lookup_adopts_old_style_providers() -> None:
    res = ipowner.lookup(["8.8.8.8", "10.0.0.1"], providers=[OldStyleProvider()])
    assert res.records[0].asn.number == 64496 and res.records[1].asn is None
    assert [(e.kind, e.message) for e in res.errors] == [("provider", "old style: one problem")]
    with pytest.raises(TypeError, match="not a provider"):
        Chain([object()])


def test_record_providers_have_no_facts() -> None:
    class Filler(RecordProvider):
        def sources(self) -> list[SourceInfo]:
            return []

        def enrich(self, records: list[AddressRecord]) -> None:
            for r in records:
                r.traits["filled"] = True

    with pytest.raises(NotImplementedError, match="fills records directly"):
        Filler().facts_many(_batch("8.8.8.8"))
    assert ipowner.lookup(["8.8.8.8"], providers=[Filler()]).records[0].traits == {"filled": True}


def test_every_shipped_provider_keeps_the_contract(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("IPOWNER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IPOWNER_CACHE_DIR", str(tmp_path / "cache"))
    cfg = RdapConfig(offline=True, cache_dir=tmp_path / "cache")
    for provider in (SpecialProvider(), MmdbProvider([], discover=False), RdapProvider(cfg)):
        with provider:
            assert isinstance(provider, Provider) and not isinstance(provider, RecordProvider)
            got = provider.facts_many(_batch("8.8.8.8", "10.0.0.1", "2001:4860:4860::8888"))
            assert isinstance(got, Facts) and len(got) == 3
            assert all(isinstance(r, tuple) and all(isinstance(f, RangeFact) for f in r) for r in got.ranges)
            known = {s.id for s in provider.sources()}
            assert all(sid in known for r in got.ranges for f in r for _p, _v, sid in f.fields)
            assert isinstance(provider.problems, list)
            st = provider.stats
            assert st is None or isinstance(st.to_dict(), dict)


def test_no_library_call_switches_the_garbage_collector(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("IPOWNER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IPOWNER_CACHE_DIR", str(tmp_path / "cache"))

    def refuse(*_a: object) -> None:
        raise AssertionError("the garbage collector is the caller's")

    for name in ("disable", "enable", "freeze", "unfreeze", "set_threshold"):
        monkeypatch.setattr(gc, name, refuse)
    addresses = [f"8.8.{i // 256}.{i % 256}" for i in range(3000)] + ["10.0.0.1", "2001:4860::1"]
    assert gc.isenabled()
    with ipowner.enrich(addresses, discover=False) as run:
        assert sum(1 for e in run if e.asn) > 2000
    assert len(ipowner.lookup(addresses, offline=True, discover=False).records) == len(addresses)
    assert gc.isenabled()
