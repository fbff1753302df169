"""``ipowner.enrich()`` says what ``ipowner.lookup(offline=True)`` says, address for address.

Seeded random addresses (public and special IPv4 and IPv6, NAT64, 6to4, Teredo, IPv4-mapped, inputs
that are not addresses), addresses inside the networks of MaxMind's test databases (given as user
databases next to the embedded one) and a RDAP cache filled from the loopback test server.
"""

from __future__ import annotations

import ipaddress
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import ipowner
from ipowner.model.serialize import plain
from ipowner.providers.rdap import RdapClient, RdapConfig
from mmdb_support import DATA, source_entries
from rdap_support import RecordedRdap

USER_DBS = [DATA / n for n in ("GeoIP2-City-Test.mmdb", "GeoLite2-ASN-Test.mmdb", "GeoIP2-ISP-Test.mmdb",
                               "GeoIP2-Anonymous-IP-Test.mmdb", "MaxMind-DB-test-ipv4-24.mmdb")]
# Addresses the recorded RDAP answers cover (tests/data/rdap): the cache is filled from these.
RDAP_SEEDS = ["74.125.225.229", "2001:4860:4860::8888", "62.239.237.1", "210.107.73.73", "200.57.141.161",
              "196.11.240.215", "3.3.3.3", "13.107.1.1", "193.0.6.139", "1.1.1.1", "177.0.0.1", "41.0.0.1",
              "2a00:2381:ffff::1", "206.41.110.1", "130.59.31.80"]


def _v4(rnd: random.Random) -> str:
    return str(ipaddress.IPv4Address(rnd.getrandbits(32)))


def addresses(seed: int, n: int) -> list[str]:
    """A seeded mix; every kind of input the bulk path treats apart appears many times."""
    rnd = random.Random(seed)
    inside: list[str] = []
    for name in ("GeoIP2-City-Test.json", "GeoLite2-ASN-Test.json", "GeoIP2-Anonymous-IP-Test.json"):
        for net, _rec in source_entries(name):
            inside.append(str(net.network_address + rnd.randrange(min(net.num_addresses, 1 << 20))))
    seeds = [ipaddress.ip_address(a) for a in RDAP_SEEDS]
    out: list[str] = []
    while len(out) < n:
        r = rnd.random()
        if r < 0.25:
            out.append(_v4(rnd))
        elif r < 0.35:
            out.append(str(ipaddress.IPv6Address(rnd.choice([0x2001, 0x2400, 0x2600, 0x2A00, 0x2C0F]) << 112
                                                 | rnd.getrandbits(112))))
        elif r < 0.55:
            out.append(rnd.choice(inside))
        elif r < 0.65:
            ip = rnd.choice(seeds)
            span = 8 if ip.version == 4 else 16  # neighbours: same network, or just outside it
            out.append(str(ip + rnd.randrange(-(1 << span), 1 << span)))
        elif r < 0.75:
            v4 = rnd.choice([_v4(rnd), *RDAP_SEEDS[:1], "3.3.3.3", "10.1.2.3", "192.0.2.1", "8.8.8.8"])
            if ":" in v4:
                continue
            n4 = int(ipaddress.IPv4Address(v4))
            kind = rnd.randrange(5)
            if kind == 0:
                out.append(str(ipaddress.IPv6Address((0x64FF9B << 96) | n4)))  # NAT64
            elif kind == 1:
                out.append(str(ipaddress.IPv6Address((0x2002 << 112) | (n4 << 80) | rnd.getrandbits(80))))  # 6to4
            elif kind == 2:  # Teredo: server, then the client inverted
                out.append(str(ipaddress.IPv6Address((0x20010000 << 96) | (rnd.getrandbits(32) << 64)
                                                     | (rnd.getrandbits(32) << 32) | (~n4 & 0xFFFFFFFF))))
            elif kind == 3:
                out.append(f"::ffff:{v4}")
            else:  # 64:ff9b:1::/48, IPv4 split around the u octet
                out.append(str(ipaddress.IPv6Address((0x64FF9B0001 << 80) | ((n4 >> 16) << 64) | ((n4 & 0xFFFF) << 40))))
        elif r < 0.9:
            if rnd.random() < 0.5:
                p = rnd.choice(["10.", "192.168.", "100.64.", "169.254.", "224.", "240.", "0.", "127.", "198.18."])
                out.append(p + ".".join(str(rnd.randrange(256)) for _ in range(4 - p.count("."))))
            else:
                p = rnd.choice(["fe80::", "fd12:3456::", "ff02::", "2001:db8::", "100::", "2001:2::", "fc00::"])
                out.append(p + f"{rnd.getrandbits(16):x}")
        else:
            out.append(rnd.choice([
                "not an address", "example.com", "1.2.3", "01.2.3.4", " 8.8.8.8 ", "[2001:db8::1]", "fe80::1%eth0",
                "::1.2.3.4", "1.2.3.4/24", "", "2001:DB8::A", "0:0:0:0:0:ffff:102:304", "999.1.1.1", "::",
            ]))
    return out


def _special(e: ipowner.Enriched) -> dict[str, Any] | None:
    s = e.special
    if s is None:
        return None
    extra = {p: v for p, v, _s in s.fields}
    return {"label": s.special, "name": s.name, "prefix": extra["special.prefix"], "rfc": extra["special.rfc"],
            "globally_reachable": extra["special.globally_reachable"]}


_RDAP_PATHS = {"holder": lambda r: r.holder.name if r.holder else None,
               "holder.country": lambda r: r.holder.country if r.holder else None,
               "network.registry": lambda r: r.network.registry if r.network else None,
               "network.handle": lambda r: r.network.handle if r.network else None}
_PROV = {"holder": "holder", "holder.country": "holder", "network.registry": "network", "network.handle": "network"}


def compare(inputs: list[str], **kw: Any) -> dict[str, int]:
    """Every input through both paths; assert equal; return what was seen (so the test knows it covered it)."""
    res = ipowner.lookup(inputs, offline=True, **kw)
    with ipowner.enrich(inputs, **kw) as run:
        got = list(run)
        sources = dict(run.sources)
        problems = list(run.problems)
    assert [e.query for e in got] == [q if e.address is None else q.strip() for q, e in zip(inputs, got, strict=True)]
    assert problems == [e.message for e in res.errors if e.kind == "database"]
    # lookup() lists parse errors before offline ones; each input's message must be there once
    bad = Counter(e.message for e in res.errors if e.kind in ("invalid-address", "offline"))
    records = iter(res.records)
    seen = {"records": 0, "special": 0, "through": 0, "db": 0, "holder": 0, "errors": 0, "user": 0}
    for e in got:
        if e.address is None:
            assert len(e.errors) == 1 and bad[e.errors[0]] > 0, e.query
            bad[e.errors[0]] -= 1
            seen["errors"] += 1
            continue
        rec = next(records)
        seen["records"] += 1
        assert (rec.query, rec.address) == (e.query, e.address)
        assert plain(rec.special) == _special(e), e.query
        assert plain(rec.looked_through) == plain(e.looked_through), e.query
        assert list(rec.errors) == list(e.errors), e.query
        # every database field, its value and its source
        want = {p: (v, rec.provenance[p]) for p, v in _record_paths(rec).items()}
        assert e.paths() == want, e.query
        for _v, sid in want.values():
            assert sid in sources
            seen["user"] += sid != "embedded" and not sid.startswith("embedded:")
        for p, fn in _RDAP_PATHS.items():
            value = fn(rec)
            expect = None if value is None else (value, rec.provenance[_PROV[p]])
            assert e.get(p) == expect, (e.query, p)
        # the registry of the block: the same Registration, from the same source, in both views
        got_reg = next((v for p, v, _s in e.delegation.fields if p == "registry"), None) if e.delegation else None
        assert plain(got_reg) == plain(rec.registry), e.query
        if rec.registry is not None:
            assert e.delegation is not None and e.delegation.source == rec.provenance["registry"] in sources
        if e.registration is not None:
            assert e.registration.source in sources
            seen["holder"] += e.holder is not None
        assert (e.country, e.asn, e.as_name, e.network, e.registered_country) == (
            rec.location.country, rec.asn.number if rec.asn else None, rec.asn.name if rec.asn else None,
            rec.asn.network if rec.asn else None, rec.registered_country)
        seen["special"] += e.special is not None
        seen["through"] += e.looked_through is not None
        seen["db"] += bool(e.ranges)
    assert next(records, None) is None and not +bad
    return seen


def _record_paths(rec: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f, v in plain(rec.location).items():
        if v is not None:
            out[f"location.{f}"] = v
    if rec.registered_country is not None:
        out["registered_country"] = rec.registered_country
    if rec.asn is not None:
        for f, v in plain(rec.asn).items():
            if v is not None:
                out[f"asn.{f}"] = v
    for k, v in rec.traits.items():
        out[f"traits.{k}"] = v
    return out


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory):
    """One data dir (the embedded database unpacked once for the module), no system databases."""
    root = tmp_path_factory.mktemp("enrich")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IPOWNER_DATA_DIR", str(root / "data"))
        mp.setenv("IPOWNER_CACHE_DIR", str(root / "cache"))
        mp.setenv("IPOWNER_NO_SYSTEM_MMDB", "1")
        mp.delenv("IPOWNER_MMDB_PATH", raising=False)
        yield root, mp


def test_equals_lookup_embedded_and_user_databases(env) -> None:
    inputs = addresses(11, 3000)
    seen = compare(inputs, mmdb=USER_DBS, discover=False)
    assert seen["records"] > 2500 and seen["special"] > 200 and seen["through"] > 150 and seen["errors"] > 50
    assert seen["db"] > 1500 and seen["user"] > 300
    # the embedded database alone (its own fast path)
    seen = compare(inputs[:1500], discover=False)
    assert seen["db"] > 600


def test_equals_lookup_with_rdap_cache(env, monkeypatch: pytest.MonkeyPatch) -> None:
    root, _mp = env
    server = RecordedRdap()
    try:
        boot = server.write_bootstrap(root / "bootstrap")
        monkeypatch.setenv("IPOWNER_CACHE_DIR", str(root / "rdap-cache"))
        monkeypatch.setenv("IPOWNER_RDAP_BOOTSTRAP", str(boot))
        monkeypatch.setenv("IPOWNER_RDAP_REWRITE", server.rewrite_env())
        with RdapClient(RdapConfig.from_env()) as client:
            answers = client.lookup(RDAP_SEEDS)
        assert all(a.network is not None for a in answers.values())
        server.reset()
        inputs = addresses(12, 2000)
        seen = compare(inputs, mmdb=USER_DBS[:2], discover=False)
        assert server.log == []  # offline: nobody was asked
        assert seen["holder"] > 100
        # lookup() reads a large batch's cache entries through the same index: check a small batch too
        small = [a for a in inputs if a and a[0].isdigit()][:20]
        assert compare(small, use_embedded=False, discover=False)["records"] == 20
    finally:
        server.close()


def test_facts_are_shared_per_range(env) -> None:
    with ipowner.enrich(["8.8.8.1", "8.8.8.2", "64:ff9b::808:803", "10.0.0.1", "10.9.9.9"], discover=False) as run:
        a, b, nat64, p1, p2 = list(run)
    assert a.ranges and a.ranges[0] is b.ranges[0] is nat64.ranges[0]
    assert a.asn == 15169 and a.network == "8.8.8.0/24" and nat64.looked_through.ipv4 == "8.8.8.3"
    assert p1.special is p2.special and p1.special.special == "private" and p1.ranges == ()
    assert a.ranges[0].to_dict()["first"] == "8.8.8.0"


def test_database_failing_on_lookup_equals_lookup(env) -> None:
    """A database whose tree or data is broken for some addresses: the same one-line errors as lookup()."""
    broken = [DATA / "MaxMind-DB-test-broken-pointers-24.mmdb", DATA / "MaxMind-DB-test-broken-search-tree-24.mmdb"]
    inputs = ["1.1.1.32", "1.1.1.1", "255.255.255.255", "8.8.8.8", "2001:4860::1", "64:ff9b::101:120"]
    seen = compare(inputs, mmdb=broken, discover=False)
    with ipowner.enrich(["1.1.1.32"], mmdb=broken, discover=False) as run:
        assert any("lookup of 1.1.1.32 failed" in m for m in next(iter(run)).errors)
    assert seen["records"] == 6


def test_bad_database_and_bad_inputs(env, tmp_path: Path) -> None:
    missing = tmp_path / "nope.mmdb"
    with ipowner.enrich(["8.8.8.8", "nonsense!", "1.2.3.4/8"], mmdb=[missing], discover=False) as run:
        out = list(run)
        assert run.problems == [f"{missing}: no such file"]
    assert out[0].asn == 15169 and out[1].address is None and "1.2.3.4/8" in out[2].errors[0]


def test_cache_index_picks_what_find_picks(tmp_path: Path) -> None:
    """Nested, overlapping, equal and stale ranges: the index built with one query answers as find() does."""
    import time

    from ipowner.providers.rdap import RdapCache

    cache = RdapCache(tmp_path, ttl=3600)
    rnd = random.Random(5)
    now = time.time()
    for i in range(300):
        version = 4 if i % 3 else 6
        bits = 32 if version == 4 else 128
        base = rnd.choice([0x0A000000, 0xC0A80000]) if version == 4 else 0x20010DB8 << 96
        plen = rnd.randrange(8, 33) if version == 4 else rnd.randrange(32, 129)
        lo = (base + rnd.getrandbits(24 if version == 4 else 64)) >> (bits - plen) << (bits - plen)
        hi = lo + (1 << (bits - plen)) - 1 - rnd.choice([0, 0, rnd.getrandbits(4)])  # some not CIDR-aligned
        fetched = now - rnd.choice([10, 20, 20, 7200])  # ties, and entries past the TTL
        cache.store(version, lo, hi, url=f"https://r.example/ip/{i % 250}", registry="arin", handle=str(i),
                    fetched=fetched, leaf=True, bundle={"i": i})
    index = cache.index()
    probes = []
    for _ in range(3000):
        if rnd.random() < 0.6:
            probes.append(str(ipaddress.IPv4Address(rnd.choice([0x0A000000, 0xC0A80000]) + rnd.getrandbits(24))))
        else:
            probes.append(str(ipaddress.IPv6Address((0x20010DB8 << 96) + rnd.getrandbits(64))))
    hits = 0
    for a in probes:
        ip = ipaddress.ip_address(a)
        want = cache.find(a)
        rowid = index.find(ip.version, int(ip))
        got = index.answer(rowid) if rowid is not None else None
        assert (got.bundle if got else None) == (want.bundle if want else None), a
        hits += want is not None
    cache.close()
    assert hits > 500


def test_one_pass_then_closed(env) -> None:
    run = ipowner.enrich(iter(["8.8.8.8", "1.1.1.1"]), discover=False)
    assert [e.asn for e in run] == [15169, 13335]
    with pytest.raises(ValueError, match="closed"):
        list(run)
    with ipowner.enrich([], discover=False) as again:  # run() for several batches on one memo
        first = list(again.run(["8.8.8.8"]))[0]
        second = list(again.run("8.8.8.9"))[0]
        assert first.ranges[0] is second.ranges[0]


def test_damaged_cache_rows_are_no_answer(env, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cached row of a shape the client never stores is passed over, offline, by lookup() and enrich() alike,
    through the cache's index (a large batch) and through its search (a small one)."""
    import time

    from ipowner.providers.rdap import RdapCache

    folder = tmp_path / "damaged"
    monkeypatch.setenv("IPOWNER_CACHE_DIR", str(folder))
    cache = RdapCache(folder, ttl=3600)
    cache.store(4, 0x08080800, 0x080808FF, url="https://r.example/ip/8.8.8.0", registry="arin", handle="X",
                fetched=time.time(), leaf=True, bundle={"network": "not a response"})
    cache.close()
    many = [f"8.8.8.{i}" for i in range(100)]
    for inputs in (many, many[:3]):
        res = ipowner.lookup(inputs, offline=True, use_embedded=False, discover=False)
        assert res.errors == [] and all(r.holder is None and r.errors == [] for r in res.records)
        assert res.rdap is not None and res.rdap.not_cached == len(inputs)
        with ipowner.enrich(inputs, use_embedded=False, discover=False) as run:
            assert all(e.registration is None and e.errors == () for e in run)
