"""RDAP pieces on their own, with the mock transport (no sockets): parsing quirks, rewrites, limits,
bootstrap sources and refresh, redirects, the --chain walk-up, the cache's rules and its safety."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ipowner.errors import UsageError
from ipowner.providers.rdap import (
    MockTransport,
    RdapCache,
    RdapClient,
    RdapConfig,
    RdapMalformedError,
    Response,
    Rewriter,
)
from ipowner.providers.rdap._bootstrap import IANA_BASE
from ipowner.providers.rdap._cache import answer_range
from ipowner.providers.rdap._config import Limit, parse_limits
from ipowner.providers.rdap._fetch import TokenBucket
from ipowner.providers.rdap._holder import netname_hint
from ipowner.providers.rdap._parse import error_from, parse_address, parse_entity, parse_network
from ipowner.providers.rdap._transports import json_response
from rdap_support import port43, service

DATA = Path(__file__).parent / "data" / "rdap"
# The registries' public RDAP bases, from the shipped registry table (the loopback guard refuses them anyway).
ARIN, RIPE, APNIC, JPNIC = (service(k) for k in ("arin", "ripe", "apnic", "jpnic"))
ARIN43, RIPE43, JPNIC43 = (port43(k) for k in ("arin", "ripe", "jpnic"))
APNIC_HOST = APNIC.removeprefix("https://")



def test_address_quirks() -> None:
    assert str(parse_address("074.125.000.000")) == "74.125.0.0"
    assert str(parse_address("062.239.237.000/32")) == "62.239.237.0"
    assert str(parse_address("2001:4860:0000:0000:0000:0000:0000:0000")) == "2001:4860::"
    assert str(parse_address("2001:4860:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF")) == "2001:4860:ffff:ffff:ffff:ffff:ffff:ffff"
    assert str(parse_address("2a00:2381:ffff::/128")) == "2a00:2381:ffff::"
    for bad in ("", "banana", "1.2.3", "256.1.1.1", None, 5):
        with pytest.raises(ValueError):
            parse_address(bad)


def test_string_error_code_and_empty_object() -> None:
    obj = json.loads((DATA / "rdap_client/error_apnic_400.json").read_text())
    err = error_from(obj, "u", 400)
    assert err.status == 400 and "Bad Request" in err.reason
    assert error_from(json.loads((DATA / "20c-rdap/entity/HH11825JP.json").read_text()), "u", 400).status == 400
    assert error_from({"errorCode": 404, "title": "Not Found"}, "u", 404).__class__.__name__ == "RdapNotFoundError"
    with pytest.raises(RdapMalformedError, match="empty"):
        parse_network({}, "u")
    assert parse_entity(json.loads((DATA / "20c-rdap/entity/BRI2.json").read_text())) is None


def test_network_quirks_from_recorded_answers() -> None:
    ripe = parse_network(json.loads((DATA / "ipwhois/ip_62.239.237.1.rdap.json").read_text()), "u")
    assert ripe.object_class is None and ripe.start_text == "62.239.237.0" and ripe.cidrs == ["62.239.237.0/24"]
    # BTENT-MNT sits in the registrant role, nested under the abuse role
    mnt = [e for e in ripe.all_entities() if e.handle == "BTENT-MNT"][0]
    assert "registrant" in mnt.roles and mnt.is_maintainer and mnt.depth == 1
    afr = parse_network(json.loads((DATA / "ipwhois/ip_196.11.240.215.rdap.json").read_text()), "u")
    assert all(e.roles == [] for e in afr.entities)
    assert afr.type == "ASSIGNED PI" and afr.is_leaf
    msft = parse_network(json.loads((DATA / "whoisit/data_rdap_response_ip_v4_3.json").read_text()), "u")
    assert msft.cidrs == ["13.64.0.0/11", "13.96.0.0/13", "13.104.0.0/14"] and not msft.is_leaf
    br = parse_network(json.loads((DATA / "rdap_client/ip_network_br.json").read_text()), "u")
    assert br.handle == "177.0.0.0/14" and br.cidrs == ["177.0.0.0/14"]
    v6 = parse_network(json.loads((DATA / "whoisit/data_rdap_response_cidr_v6.json").read_text()), "u")
    assert v6.origin_autnums == [15169] and v6.registration.year == 2005


def _vcard_email(doc: dict, handle: str) -> str:
    """The email of entity ``handle`` as the recorded answer writes it in its vCard."""
    for ent in doc.get("entities", []):
        if ent.get("handle") == handle:
            return next(f[3] for f in ent["vcardArray"][1] if f[0] == "email")
        try:
            return _vcard_email(ent, handle)
        except StopIteration:
            continue
    raise StopIteration(handle)


def test_vcard_fields() -> None:
    raw_google = json.loads((DATA / "ipwhois/ip_74.125.225.229.rdap.json").read_text())
    google = parse_network(raw_google, "u")
    gogl = google.entities[0]
    assert (gogl.handle, gogl.fn, gogl.kind, gogl.country, gogl.country_basis) == (
        "GOGL", "Google Inc.", "org", "US", "vcard adr label")
    zg = gogl.entities[0]
    assert zg.emails == [_vcard_email(raw_google, "ZG39-ARIN")] and zg.phones and zg.roles == ["abuse", "administrative", "technical"]
    ent = parse_entity({"handle": "X", "vcardArray": ["vcard", [["adr", {"cc": "jp"}, "text", ["", "", "", "", "", "", ""]]]]})
    assert ent.country == "JP" and ent.country_basis == "vcard adr cc"


def test_netname_hint() -> None:
    from ipowner.providers.rdap._registries import by_name

    assert netname_hint("IIJ-JPNIC-JP-20000308", by_name("jpnic")) == "IIJ"
    assert netname_hint("BORANET-NET-210-107", by_name("krnic")) == "BORANET"
    assert netname_hint(None, None) is None


def test_rewriter() -> None:
    rw = Rewriter.parse(f"{JPNIC}=http://127.0.0.1:8080/jpnic/, {APNIC}=http://127.0.0.1:8080/apnic/")
    assert rw(f"{JPNIC}ip/1.2.3.4") == "http://127.0.0.1:8080/jpnic/ip/1.2.3.4"
    assert rw(f"http://{APNIC_HOST}ip/210.0.0.0/8") == "http://127.0.0.1:8080/apnic/ip/210.0.0.0/8"  # scheme-blind
    assert rw(f"{ARIN}ip/1") == f"{ARIN}ip/1"
    assert rw.original("http://127.0.0.1:8080/jpnic/x") == f"{JPNIC}x"
    with pytest.raises(UsageError):
        Rewriter.parse("nonsense")


def test_limits() -> None:
    limits = parse_limits("lacnic=5/60:1, arin=100/10")
    assert limits["lacnic"] == Limit(5, 60.0, 1) and limits["arin"].count == 100 and limits["arin"].per == 10
    assert parse_limits(None)["lacnic"] == Limit(10, 60.0, 1)  # LACNIC's published limit
    with pytest.raises(UsageError):
        parse_limits("lacnic=fast")


def test_token_bucket() -> None:
    now = [0.0]
    bucket = TokenBucket(Limit(10, 60.0, 1), clock=lambda: now[0])
    waits = []
    for _ in range(11):
        w = bucket.wait_time()
        waits.append(w)
        if w == 0:
            bucket.tokens -= 1
    assert waits[:10] == [0.0] * 10 and waits[10] == pytest.approx(6.0)  # 10 a minute: the 11th waits 6 s
    now[0] = 6.0
    assert bucket.wait_time() == 0.0


def _bootstrap_docs(base: str) -> dict[str, bytes]:
    out = {}
    for name in ("ipv4.json", "ipv6.json", "asn.json"):
        doc = json.loads((DATA / "bootstrap" / name).read_text())
        for s in doc["services"]:
            s[1] = [base]
        out[name] = json.dumps(doc).encode()
    return out


def _net(start: str, end: str, handle: str, name: str, type_: str, registrant: str | None, **extra) -> dict:
    """A synthetic ARIN-shaped network for unit tests."""
    ents = []
    if registrant:
        ents.append({"handle": registrant.upper()[:8], "roles": ["registrant"],
                     "vcardArray": ["vcard", [["fn", {}, "text", registrant], ["kind", {}, "text", "org"]]]})
    return {"objectClassName": "ip network", "handle": handle, "startAddress": start, "endAddress": end,
            "name": name, "type": type_, "port43": ARIN43, "entities": ents, **extra}


def test_bootstrap_from_url_cached_and_refreshed(tmp_path: Path) -> None:
    mirror = "https://mirror.example/rdap-bootstrap/"
    docs = _bootstrap_docs("https://rdap.example/")
    net = _net("198.51.100.0", "198.51.100.255", "NET-SYN-1", "SYN", "ASSIGNMENT", "Synthetic Holder")

    def handler(req):
        for name, body in docs.items():
            if req.url == mirror + name:
                return Response(req.url, 200, {}, body)
        if req.url.startswith("https://rdap.example/ip/"):
            return json_response(req.url, net)
        return json_response(req.url, {"errorCode": 404}, 404)

    cfg = dict(bootstrap=mirror, cache_dir=tmp_path)
    t = MockTransport(handler)
    with RdapClient(RdapConfig(**cfg), transport=t) as c:
        a = c.lookup(["198.51.100.7"])
        assert a["198.51.100.7"].decision.holder.name == "Synthetic Holder"
        assert c.stats.requests["bootstrap"] == 3
    assert (tmp_path / "rdap-bootstrap").is_dir()
    t2 = MockTransport(handler)
    with RdapClient(RdapConfig(**cfg), transport=t2) as c:
        c.lookup(["198.51.100.8"])  # answered from the cache: no bootstrap needed either
        c.lookup(["198.51.101.1"])  # a miss: the cached bootstrap copy is used
        assert c.stats.requests["bootstrap"] == 0 and c.stats.requests["ip network"] == 1
    t3 = MockTransport(handler)
    with RdapClient(RdapConfig(refresh=True, **cfg), transport=t3) as c:
        c.lookup(["198.51.100.9"])
        assert c.stats.requests["bootstrap"] == 3
    # offline with no copy of another mirror: a clear reason, no request
    with RdapClient(RdapConfig(bootstrap="https://other.example/", cache_dir=tmp_path / "x", offline=True)) as c:
        a = c.lookup(["198.51.100.7"])
        assert a["198.51.100.7"].error is None and c.stats.not_cached == 1


def test_stale_shipped_snapshot_refresh_failure_keeps_snapshot(tmp_path: Path) -> None:
    seen = []

    def handler(req):
        seen.append(req.url)
        return Response(req.url, 503, {}, b"")

    cfg = RdapConfig(cache_dir=tmp_path, retries=0, bootstrap_max_age=0)
    with RdapClient(cfg, transport=MockTransport(handler)) as c:
        a = c.lookup(["198.51.100.7"])
    assert seen[0] == f"{IANA_BASE}ipv4.json"
    assert any("bootstrap refresh" in n for n in c.stats.notes)
    # the shipped snapshot still sent the query to ARIN
    assert any(u.startswith(f"{ARIN}ip/198.51.100.7") for u in seen)
    assert "HTTP 503" in a["198.51.100.7"].error


def test_bootstrap_folder_errors(tmp_path: Path) -> None:
    with RdapClient(RdapConfig(bootstrap=str(tmp_path / "missing"), cache_dir=tmp_path)) as c:
        a = c.lookup(["198.51.100.7"])
    assert "RDAP bootstrap folder not found" in a["198.51.100.7"].error


def test_redirects_are_bounded(tmp_path: Path) -> None:
    boot = tmp_path / "boot"
    boot.mkdir()
    for name, body in _bootstrap_docs("https://rdap.example/").items():
        (boot / name).write_bytes(body)

    def handler(req):
        return Response(req.url, 302, {"location": req.url.replace("/ip/", "/ip/x/")}, b"")

    with RdapClient(RdapConfig(bootstrap=str(boot), cache_dir=tmp_path, max_redirects=3), transport=MockTransport(handler)) as c:
        a = c.lookup(["198.51.100.7"])
        assert "more than 3 redirects" in a["198.51.100.7"].error
        assert c.stats.requests["ip network"] == 1 and c.stats.requests["referral"] == 3


def test_chain_walks_up_to_the_allocation_holder(tmp_path: Path) -> None:
    # Synthetic ARIN-shaped pair: a reassignment under an ISP's direct allocation.
    boot = tmp_path / "boot"
    boot.mkdir()
    for name, body in _bootstrap_docs(ARIN).items():
        (boot / name).write_bytes(body)
    leaf = _net("198.51.100.0", "198.51.100.127", "NET-SYN-2", "SYN-CUST", "REASSIGNED", "Synthetic Customer",
                parentHandle="NET-SYN-1")
    parent = _net("198.51.100.0", "198.51.100.255", "NET-SYN-1", "SYN-ISP", "DIRECT ALLOCATION", "Synthetic ISP")
    top = _net("198.51.96.0", "198.51.111.255", "NET-SYN-0", "SYN-ARIN", "ALLOCATED", None)

    def handler(req):
        path = req.url.split("/registry/")[1]
        if path == "ip/198.51.100.5":
            return json_response(req.url, leaf)
        if path == "ip/198.51.100.0/24":
            return json_response(req.url, parent)
        if path == "ip/198.51.100.0/23":
            return json_response(req.url, top)
        return json_response(req.url, {"errorCode": 404, "title": "Not Found"}, 404)

    t = MockTransport(handler)
    with RdapClient(RdapConfig(bootstrap=str(boot), cache_dir=tmp_path, chain=True, chain_depth=4), transport=t) as c:
        d = c.lookup(["198.51.100.5"])["198.51.100.5"].decision
        assert [(x.role, x.name) for x in d.chain] == [
            ("iana", "IANA"), ("rir", "ARIN"), ("holder", "Synthetic ISP"), ("sub-assignment", "Synthetic Customer")]
        assert d.holder.name == "Synthetic Customer"
        assert c.stats.requests["parent"] >= 2 and c.stats.requests["ip network"] == 1
    # without --chain: no extra query, the holder alone
    with RdapClient(RdapConfig(bootstrap=str(boot), cache_dir=tmp_path / "2"), transport=MockTransport(handler)) as c:
        d = c.lookup(["198.51.100.5"])["198.51.100.5"].decision
        assert [x.role for x in d.chain] == ["iana", "rir", "holder"] and c.stats.requests["parent"] == 0


def test_sync_api_inside_a_running_loop(tmp_path: Path) -> None:
    boot = tmp_path / "boot"
    boot.mkdir()
    for name, body in _bootstrap_docs("https://rdap.example/").items():
        (boot / name).write_bytes(body)
    net = _net("198.51.100.0", "198.51.100.255", "NET-SYN-1", "SYN", "ASSIGNMENT", "Synthetic Holder")
    t = MockTransport(lambda req: json_response(req.url, net))

    async def inside() -> str:
        with RdapClient(RdapConfig(bootstrap=str(boot), cache_dir=tmp_path), transport=t) as c:
            return c.lookup(["198.51.100.1"])["198.51.100.1"].decision.holder.name

    assert asyncio.run(inside()) == "Synthetic Holder"


def test_answer_range_rule() -> None:
    lo, hi = int.from_bytes(bytes([8, 0, 0, 0]), "big"), int.from_bytes(bytes([8, 127, 255, 255]), "big")
    # an allocation (8.0.0.0/9 at ARIN) answers only the /24 it was fetched for
    assert answer_range(4, lo, hi, "8.8.9.9", leaf=False) == (0x08080900, 0x080809FF)
    assert answer_range(4, lo, hi, "8.8.9.9", leaf=True) == (lo, hi)
    v6lo = int.from_bytes(bytes.fromhex("20010db8" + "00" * 12), "big")
    v6hi = v6lo + (1 << 96) - 1
    a, b = answer_range(6, v6lo, v6hi, "2001:db8:1:2::1", leaf=False)
    assert b - a == (1 << 80) - 1  # a /48


def test_cache_ttl_stats_export_clear(tmp_path: Path) -> None:
    cache = RdapCache(tmp_path, ttl=60)
    cache.store(4, 10, 20, url="u", registry="arin", handle="H", fetched=time.time(), leaf=True, bundle={"k": 1})
    cache.store(4, 30, 40, url="v", registry="ripe", handle="I", fetched=time.time() - 120, leaf=False, bundle={"k": 2})
    assert cache.find("0.0.0.15").bundle == {"k": 1}
    assert cache.find("0.0.0.35") is None  # expired
    cache.put_object("e", "entity", time.time(), 404, "gone")
    st = cache.stats()
    assert st["answers"] == 2 and st["answers_fresh"] == 1 and st["objects"] == {"entity": 1}
    rows = list(cache.export())
    assert rows[0]["first"] == "0.0.0.10" and rows[-1]["type"] == "object"
    assert cache.clear(expired_only=True) == 1
    assert cache.clear() == 2
    cache.close()


_WRITER = """
import sys, time
from ipowner.providers.rdap import RdapCache
c = RdapCache(sys.argv[1])
i = 0
print("ready", flush=True)
while True:
    c.store(4, i, i, url=f"u{i}", registry="arin", handle=None, fetched=time.time(), leaf=True, bundle={"i": i, "pad": "x" * 2000})
    i += 1
"""


def test_cache_survives_a_killed_writer(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.3)
    # a second process reads while the first writes (WAL)
    reader = RdapCache(tmp_path)
    assert reader.stats()["answers"] > 0
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    reader.close()
    cache = RdapCache(tmp_path)
    assert cache._db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    n = cache.stats()["answers"]
    assert n > 0 and cache.find("0.0.0.0").bundle["i"] == 0
    cache.store(4, 10**6, 10**6, url="after", registry=None, handle=None, fetched=time.time(), leaf=True, bundle={})
    assert cache.stats()["answers"] == n + 1


def test_referral_in_the_body_is_followed_once(tmp_path: Path) -> None:
    # Synthetic: ARIN answers for a block RIPE NCC maintains (port43 names RIPE); RIPE has the real object.
    boot = tmp_path / "boot"
    boot.mkdir()
    for name, body in _bootstrap_docs(ARIN).items():
        (boot / name).write_bytes(body)
    arin = _net("198.51.0.0", "198.51.255.255", "NET-SYN-ERX", "RIPE-ERX", "TRANSFERRED", None,
                port43=RIPE43, links=[{"rel": "related", "href": f"{RIPE}ip/198.51.0.0/16"}])
    ripe = _net("198.51.100.0", "198.51.100.255", "198.51.100.0 - 198.51.100.255", "SYN-EU", "ASSIGNED PA",
                "Synthetic Europe", port43=RIPE43)
    loop = _net("198.51.0.0", "198.51.255.255", "X", "LOOP", "ALLOCATED PA", None, port43=ARIN43)

    def handler(req):
        if req.url.startswith(ARIN):
            return json_response(req.url, arin)
        return json_response(req.url, ripe if "100" in req.url else loop)

    with RdapClient(RdapConfig(bootstrap=str(boot), cache_dir=tmp_path), transport=MockTransport(handler)) as c:
        a = c.lookup(["198.51.100.9"])["198.51.100.9"]
        assert a.decision.holder.name == "Synthetic Europe"
        assert [x.name for x in a.decision.chain] == ["IANA", "RIPE NCC", "Synthetic Europe"]
        assert c.stats.requests["ip network"] == 1 and c.stats.requests["referral"] == 1
        # RIPE pointing back at ARIN is not followed round in circles
        b = c.lookup(["198.51.7.7"])["198.51.7.7"]
        assert b.network.name == "LOOP" and c.stats.requests["referral"] == 2


def test_rdap_down_search_without_children_widens_the_cached_range(tmp_path: Path) -> None:
    # Synthetic RFC 9910 links (no recorded answer has them): an allocation whose rdap-down search is empty
    # answers its whole range from the cache; one with a child answers only its /24.
    boot = tmp_path / "boot"
    boot.mkdir()
    for name, body in _bootstrap_docs(RIPE).items():
        (boot / name).write_bytes(body)
    lonely = _net("198.51.0.0", "198.51.255.255", "198.51.0.0 - 198.51.255.255", "SYN-ALLOC", "ALLOCATED PA",
                  "Synthetic LIR", port43=RIPE43,
                  links=[{"rel": "rdap-down", "href": f"{RIPE}ips/rirSearch1/rdap-down/198.51.0.0/16"}])
    parent = dict(lonely, links=[{"rel": "rdap-down", "href": f"{RIPE}ips/rirSearch1/rdap-down/203.0.0.0/16"}],
                  startAddress="203.0.0.0", endAddress="203.0.255.255", handle="203.0.0.0 - 203.0.255.255")

    def handler(req):
        if "rdap-down/198.51" in req.url:
            return json_response(req.url, {"ipSearchResults": []})
        if "rdap-down/203.0" in req.url:
            return json_response(req.url, {"ipSearchResults": [{"handle": "203.0.7.0 - 203.0.7.255"}]})
        return json_response(req.url, lonely if "/ip/198." in req.url else parent)

    cfg = RdapConfig(bootstrap=str(boot), cache_dir=tmp_path)
    with RdapClient(cfg, transport=MockTransport(handler)) as c:
        c.lookup(["198.51.1.1", "203.0.1.1"])
        assert c.stats.requests["search"] == 2
        c.lookup(["198.51.200.1", "203.0.200.1"])
        assert c.stats.requests["ip network"] == 3  # 198.51.200.1 came from the cache, 203.0.200.1 did not


def test_nir_database_answer_names_the_member(tmp_path: Path) -> None:
    # APNIC's recorded JPNIC allocation block, then a synthetic answer from JPNIC's own RDAP service.
    boot = tmp_path / "boot"
    boot.mkdir()
    for name, body in _bootstrap_docs(APNIC).items():
        (boot / name).write_bytes(body)
    block = json.loads((DATA / "ipwhois/ip_2001_240_10c_1__ca20_9d1d.rdap.json").read_text())
    member = _net("2001:240:10c::", "2001:240:10c:ffff:ffff:ffff:ffff:ffff", "SYNTH-JP-1", "SYNTH-MEMBER-NET",
                  "ASSIGNED NON-PORTABLE", "Synthetic Member K.K.", port43=JPNIC43, country="JP")

    def handler(req):
        if req.url.startswith(f"{JPNIC}ip/2001:240:10c:"):
            return json_response(req.url, member)
        if req.url.startswith(JPNIC):
            return json_response(req.url, {"errorCode": 404, "title": "Not Found"}, 404)
        return json_response(req.url, block)

    with RdapClient(RdapConfig(bootstrap=str(boot), cache_dir=tmp_path), transport=MockTransport(handler)) as c:
        a = c.lookup(["2001:240:10c:1::ca20:9d1d", "2001:240:10c:2::1", "2001:240:99::1"])
        d = a["2001:240:10c:1::ca20:9d1d"].decision
        assert [(x.role, x.name) for x in d.chain] == [
            ("iana", "IANA"), ("rir", "APNIC"), ("nir", "JPNIC"), ("holder", "Synthetic Member K.K.")]
        assert d.holder.rule == "registrant" and not d.holder.inferred
        assert a["2001:240:10c:2::1"].decision.holder.name == "Synthetic Member K.K."
        # outside the member's range JPNIC has nothing: the NIR stays registry, the holder unknown
        other = a["2001:240:99::1"].decision
        assert other.holder.name is None and "netname suggests IIJ" in other.holder.reason
        assert c.stats.requests["ip network"] == 2 and c.stats.requests["nir"] == 2


def test_failed_bootstrap_refresh_is_not_retried_for_a_day(tmp_path: Path) -> None:
    seen: list[str] = []

    def handler(req):
        seen.append(req.url)
        if req.url.startswith(IANA_BASE):
            return Response(req.url, 503, {}, b"")
        return json_response(req.url, _net("198.51.100.0", "198.51.100.255", "N", "SYN", "ASSIGNMENT", "Synthetic Holder"))

    cfg = dict(cache_dir=tmp_path, bootstrap_max_age=0)
    with RdapClient(RdapConfig(**cfg), transport=MockTransport(handler)) as c:
        c.lookup(["198.51.100.7"])
    assert sum(u.startswith(IANA_BASE) for u in seen) == 1  # one try, no retries
    seen.clear()
    with RdapClient(RdapConfig(**cfg), transport=MockTransport(handler)) as c:
        c.lookup(["198.51.101.7"])
        assert c.stats.requests["bootstrap"] == 0 and c.stats.bootstrap["source"] == "shipped snapshot"
    # asked for explicitly, it is tried again
    with RdapClient(RdapConfig(refresh=True, **cfg), transport=MockTransport(handler)) as c:
        c.lookup(["198.51.102.7"])
        assert c.stats.requests["bootstrap"] == 1


def test_many_runs_opening_a_new_cache_at_once(tmp_path: Path) -> None:
    import threading

    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def run(i: int) -> None:
        try:
            start.wait()
            c = RdapCache(tmp_path)
            assert not c.memory
            for j in range(20):
                c.store(4, i * 1000 + j, i * 1000 + j, url=f"u{i}-{j}", registry=None, handle=None,
                        fetched=time.time(), leaf=True, bundle={"i": i})
            assert c.failed_writes == 0
            c.close()
        except BaseException as exc:  # collected for the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert RdapCache(tmp_path).stats()["answers"] == 120


@pytest.mark.parametrize("handle", ["../../ip/8.8.8.8", "ORG-X?q=1", "ORG\x1b[31m", "A" * 300, "ORG X", ""])
def test_hostile_entity_handles_never_steer_a_request(tmp_path: Path, handle: str) -> None:
    boot = tmp_path / "boot"
    boot.mkdir()
    for name, body in _bootstrap_docs("https://rdap.example/").items():
        (boot / name).write_bytes(body)
    net = _net("198.51.100.0", "198.51.100.255", "N", "SYN", "ASSIGNMENT", None,
               entities=[{"handle": handle, "roles": ["registrant"],
                          "vcardArray": ["vcard", [["fn", {}, "text", handle], ["kind", {}, "text", "org"]]]}])
    t = MockTransport(lambda req: json_response(req.url, net))
    with RdapClient(RdapConfig(bootstrap=str(boot), cache_dir=tmp_path), transport=t) as c:
        a = c.lookup(["198.51.100.1"])["198.51.100.1"]
    assert a.error is None and a.decision is not None
    assert all(u == "https://rdap.example/ip/198.51.100.1" or u.startswith("https://rdap.example/entity/ORG-X%3F")
               for u in t.requests)


def test_registry_answers_cannot_send_ipowner_elsewhere(tmp_path: Path) -> None:
    boot = tmp_path / "boot"
    boot.mkdir()
    for name, body in _bootstrap_docs(ARIN).items():
        (boot / name).write_bytes(body)
    leaf = _net("198.51.100.0", "198.51.101.255", "N", "SYN", "ASSIGNMENT", "Synthetic Holder",
                links=[{"rel": "up", "href": "https://attacker.example/steal"}])

    def handler(req):
        if "198.51.100.1" in req.url:
            return Response(req.url, 302, {"location": "http://169.254.169.254/latest/meta-data/"}, b"")
        return json_response(req.url, leaf)

    t = MockTransport(handler)
    with RdapClient(RdapConfig(bootstrap=str(boot), cache_dir=tmp_path, chain=True), transport=t) as c:
        a = c.lookup(["198.51.100.1", "198.51.101.1"])
    assert "not an RDAP service" in a["198.51.100.1"].error
    assert a["198.51.101.1"].decision.holder.name == "Synthetic Holder"
    assert not any("169.254" in u or "attacker" in u for u in t.requests)
    # and offline, --chain needs no network to decide what it would follow
    with RdapClient(RdapConfig(bootstrap=str(boot), cache_dir=tmp_path, chain=True, offline=True)) as c:
        assert c.lookup(["198.51.101.2"])["198.51.101.2"].decision.holder.name == "Synthetic Holder"


@pytest.mark.parametrize(("recorded", "status", "reason"), [
    ("20c-rdap/entity/BRI2.json", 200, "empty entity ({})"),  # NIC.br's recorded empty answer
    ("20c-rdap/entity/HH11825JP.json", 400, "registry error 400 Bad Request"),  # string errorCode
    ("20c-rdap/entity/JNIC1-AP.json", 404, "registry error 404"),
])
def test_recorded_entity_failures_become_the_reason(tmp_path: Path, recorded: str, status: int, reason: str) -> None:
    boot = tmp_path / "boot"
    boot.mkdir()
    for name, body in _bootstrap_docs("https://rdap.example/").items():
        (boot / name).write_bytes(body)
    # a synthetic network naming its organisation by handle only
    net = _net("198.51.100.0", "198.51.100.255", "N", "SYN-NET", "ASSIGNMENT", None,
               entities=[{"handle": "ORG-SYN1", "roles": ["registrant"]}])
    body = (DATA / recorded).read_bytes()

    def handler(req):
        if "/entity/" in req.url:
            return Response(req.url, status, {}, body)
        return json_response(req.url, net)

    with RdapClient(RdapConfig(bootstrap=str(boot), cache_dir=tmp_path), transport=MockTransport(handler)) as c:
        h = c.lookup(["198.51.100.1"])["198.51.100.1"].decision.holder
    assert h.name == "SYN-NET" and h.rule == "netname" and h.inferred and h.handle == "ORG-SYN1"
    assert f"organisation ORG-SYN1 could not be named ({reason}" in h.reason
