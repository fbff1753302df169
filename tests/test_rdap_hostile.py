"""Hostile registry answers over real HTTP on 127.0.0.1: none may blank a run, poison the cache, steer a
request elsewhere or exhaust memory (issue 11, items 1 to 6).

Every hostile answer is synthetic (handles ``*-SYN``, names "Synthetic ..."), served by the tests'
loopback server next to the recorded real answers, which must keep giving what they gave before. A
second loopback server stands in for a foreign host: it must never see a request.
"""

from __future__ import annotations

import copy
import gzip
import json
import sqlite3
import time
import tracemalloc
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from ipowner.providers.rdap import MockTransport, RdapCache, RdapClient, RdapConfig, Response
from ipowner.providers.rdap._allow import AllowList
from ipowner.providers.rdap._bootstrap import Bootstrap
from ipowner.providers.rdap._client import cache_range
from ipowner.providers.rdap._config import Rewriter, parse_size
from ipowner.providers.rdap._parse import MAX_DEPTH, decode, parse_network
from ipowner.reference.countries import normalise_country_code
from rdap_support import REGISTRIES, Action, RecordedRdap, load, port43, service

ARIN, RIPE, LACNIC = service("arin"), service("ripe"), service("lacnic")  # from the registry table
ARIN_HOST = urlsplit(ARIN).netloc
ARIN_SYN = "198.51.100.7"  # 198.0.0.0/8 is ARIN's in the bootstrap; nothing recorded covers it
GOOGLE = "74.125.225.229"
BT = "62.239.237.1"


@pytest.fixture(scope="module")
def server():
    srv = RecordedRdap()
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def foreign():
    """A second loopback port standing in for a host outside every registry: it must see no request."""
    srv = RecordedRdap()
    yield srv
    srv.close()


@pytest.fixture
def env(server: RecordedRdap, foreign: RecordedRdap, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A world per test, served here: bootstrap folder plus rewrites of every public registry URL (the root
    conftest keeps every socket on loopback)."""
    server.reset()
    foreign.reset()

    def setup(world: str = "main", *, rewrite: bool = True, skip: tuple[str, ...] = ()) -> Path:
        boot = server.write_bootstrap(tmp_path / f"bootstrap-{world}", world)
        monkeypatch.setenv("IPOWNER_CACHE_DIR", str(tmp_path / "cache"))
        monkeypatch.setenv("IPOWNER_RDAP_BOOTSTRAP", str(boot))
        pairs = [f"{public}={server.world_base(world, reg)}" for reg, (_, public) in REGISTRIES.items()
                 if reg not in skip]
        if rewrite:
            monkeypatch.setenv("IPOWNER_RDAP_REWRITE", ",".join(pairs))
        else:
            monkeypatch.delenv("IPOWNER_RDAP_REWRITE", raising=False)
        monkeypatch.setenv("IPOWNER_RDAP_LIMITS", "lacnic=100/1:2")
        return boot

    setup()
    return setup


def lookup(addresses: list[str], **overrides: Any):
    with RdapClient(RdapConfig.from_env(**overrides)) as client:
        answers = client.lookup(addresses)
        return answers, client.stats


def syn_net(start: str = "198.51.100.0", end: str = "198.51.100.255", **extra: Any) -> dict[str, Any]:
    """A synthetic ARIN-shaped assignment with a named registrant."""
    doc = {
        "objectClassName": "ip network", "handle": "NET-SYN-1", "startAddress": start, "endAddress": end,
        "name": "SYN-NET", "type": "ASSIGNED PA", "port43": port43("arin"),
        "remarks": [{"title": "Synthetic", "description": ["synthetic answer for tests"]}],
        "entities": [{"handle": "SYN-ORG", "roles": ["registrant"],
                      "vcardArray": ["vcard", [["fn", {}, "text", "Synthetic Holder"], ["kind", {}, "text", "org"]]]}],
    }
    doc.update(extra)
    return doc


def world(server: RecordedRdap, name: str, *docs: dict[str, Any] | bytes, reg: str = "arin") -> str:
    bodies = [d if isinstance(d, bytes) else json.dumps(d).encode() for d in docs]
    server.add_bodies(name, {reg: bodies})
    return name


# -- 1. one bad answer never costs the rest of the run ---------------------------------------------------

def _nested(depth: int) -> bytes:
    return b'{"objectClassName": "ip network", "remarks": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize("depth", [MAX_DEPTH + 8, 1000, 100_000])
def test_a_deeply_nested_answer_is_that_address_reason(env, server: RecordedRdap, depth: int) -> None:
    env(world(server, f"deep{depth}"))
    server.script[f"/deep{depth}/arin/registry/ip/{ARIN_SYN}"] = [Action(200, _nested(depth))]
    answers, stats = lookup([ARIN_SYN, GOOGLE, BT])
    assert f"nested deeper than {MAX_DEPTH} levels" in answers[ARIN_SYN].error
    assert answers[GOOGLE].decision.holder.name == "Google Inc."
    assert answers[BT].decision.holder.name == "BT-CORPORATE"
    assert stats.failed == 1


MISTYPED = {
    "remarks": 5,
    "remarks-description": [{"description": 7}],
    "remarks-items": [5, "x", None, {"title": 3, "description": [{}, [], 9]}],
    "links": 7,
    "links-items": [5, {"href": 5, "rel": []}, {"rel": "up"}],
    "entities": 7,
    "entities-items": [5, "x", {"roles": "registrant", "entities": 3, "vcardArray": 4, "remarks": {"a": 1}}],
    "events": 5,
    "events-items": ["x", {"eventAction": [], "eventDate": 5}],
    "cidr0_cidrs": 5,
    "cidr0_cidrs-items": [5, {"v4prefix": 5, "length": "x"}, {"v4prefix": "198.51.100.0", "length": 99},
                          {"v4prefix": "10.0.0.0", "length": 8}],
    "status": "active",
    "country": ["CN"],
    "arin_originas0_originautnums": ["\u00b2", "99999999999999999999", True, -5],
    "handle": {"a": 1},
    "name": ["x"],
    "port43": 5,
    "parentHandle": [],
    "objectClassName": None,
}


@pytest.mark.parametrize("member", sorted(MISTYPED))
def test_members_of_the_wrong_type_count_as_absent(env, server: RecordedRdap, member: str) -> None:
    doc = syn_net()
    key = member.split("-")[0]
    if key == "entities" and member == "entities":
        doc[key] = MISTYPED[member]
    elif key == "entities":
        doc[key] = doc["entities"] + MISTYPED[member]
    else:
        doc[key] = MISTYPED[member]
    env(world(server, f"typed-{member}", doc))
    answers, stats = lookup([ARIN_SYN, GOOGLE, BT])
    got = answers[ARIN_SYN]
    assert got.error is None, got.error
    if key != "entities" or member != "entities":
        assert got.decision.holder.name == "Synthetic Holder"
    assert got.network.cidrs and all("/" in c for c in got.network.cidrs)
    assert answers[GOOGLE].decision.holder.name == "Google Inc."
    assert answers[BT].decision.holder.name == "BT-CORPORATE"


def test_mistyped_cidr0_keeps_only_the_usable_prefixes() -> None:
    net = parse_network(syn_net(cidr0_cidrs=MISTYPED["cidr0_cidrs-items"]), "u")
    assert net.cidrs == ["198.51.100.0/24"]  # 10.0.0.0/8 is not part of the network; the rest are not CIDRs
    net = parse_network(syn_net(arin_originas0_originautnums=["15169", 13335, "\u00b2", "1" * 30]), "u")
    assert net.origin_autnums == [15169, 13335]


def test_an_unforeseen_failure_costs_one_address_not_the_gather(env, server: RecordedRdap, monkeypatch) -> None:
    from ipowner.providers.rdap import _client

    real = _client.decide

    def decide(net, **kwargs):
        if net.handle == "NET-SYN-1":
            raise KeyError("a shape nothing expected")
        return real(net, **kwargs)

    monkeypatch.setattr(_client, "decide", decide)
    env(world(server, "unforeseen", syn_net()))
    answers, _ = lookup([ARIN_SYN, GOOGLE, BT, "193.0.6.139"])
    assert answers[ARIN_SYN].error.startswith("RDAP: answer could not be used (KeyError")
    assert len(answers[ARIN_SYN].error.splitlines()) == 1
    assert answers[GOOGLE].decision.holder.name == "Google Inc."
    assert answers["193.0.6.139"].decision.holder.rule == "org-handle"


def _bootstrap_folder(tmp_path: Path, server: RecordedRdap, mutate) -> Path:
    folder = server.write_bootstrap(tmp_path / "boot-hostile")
    doc = json.loads((folder / "ipv4.json").read_text())
    (folder / "ipv4.json").write_text(mutate(doc) if callable(mutate) else mutate)
    return folder


def test_a_bootstrap_nested_too_deep_is_one_line(env, server: RecordedRdap, tmp_path: Path) -> None:
    folder = _bootstrap_folder(tmp_path, server, "[" * 100_000 + "]" * 100_000)
    answers, _ = lookup([GOOGLE, BT], bootstrap=str(folder))
    for a in answers.values():
        assert "not a readable RDAP bootstrap file" in a.error and "nested deeper" in a.error
        assert len(a.error.splitlines()) == 1


def test_a_mistyped_bootstrap_keeps_its_good_entries(env, server: RecordedRdap, tmp_path: Path) -> None:
    def mutate(doc: dict[str, Any]) -> str:
        doc["publication"] = {"x": 1}
        doc["services"] = [5, [5, 6], ["74.0.0.0/8", ["x"]], [[5, "nonsense", "0.0.0.0/0"], [7, "file:///etc/"]],
                           *doc["services"]]
        return json.dumps(doc)

    folder = _bootstrap_folder(tmp_path, server, mutate)
    answers, _ = lookup([GOOGLE, BT], bootstrap=str(folder))
    assert answers[GOOGLE].decision.holder.name == "Google Inc."
    assert answers[BT].decision.holder.name == "BT-CORPORATE"
    boot = Bootstrap.from_docs({"ipv4.json": {"services": [[["1.0.0.0/8"], ["https://ok.example/", 5, "ftp://x/"]]]},
                                "ipv6.json": {"services": [[{"a": 1}, []], [[7], ["https://x.example/"]]]},
                                "asn.json": {"services": [[["1-x", "5"], ["https://ok.example/"]]]}}, "t")
    assert boot.for_address("1.2.3.4") == ("https://ok.example/",) and boot.for_asn(5) == ("https://ok.example/",)
    assert boot.services() == {"https://ok.example/"} and boot.for_address("::1") == ()  # no usable entry


# -- 2. plausibility before caching ----------------------------------------------------------------------

WHOLE_SPACE = syn_net("0.0.0.0", "255.255.255.255", handle="NET-SYN-ALL", name="SYN-EVERYTHING",
                      entities=[{"handle": "SYN-EVIL", "roles": ["registrant"],
                                 "vcardArray": ["vcard", [["fn", {}, "text", "Synthetic Squatter"]]]}])


def test_an_answer_claiming_all_of_ipv4_answers_its_own_address_only(env, server: RecordedRdap) -> None:
    env(world(server, "squat", WHOLE_SPACE))
    # 8.8.8.8 and 8.8.4.4 share a /16 at ARIN, so the second would be served by the first's range if it were kept
    answers, stats = lookup(["8.8.8.8", "8.8.4.4", GOOGLE, BT])
    assert answers["8.8.8.8"].decision.holder.name == "Synthetic Squatter"
    assert answers[GOOGLE].decision.holder.name == "Google Inc." and answers[BT].decision.holder.name == "BT-CORPORATE"
    assert stats.requests["ip network"] == 4 and stats.deduplicated == 0
    assert any("used for its own address only" in n and "0.0.0.0 - 255.255.255.255 lies outside 8.0.0.0/8" in n
               for n in stats.notes)
    rows = [json.loads(line) for line in _export(env)]
    squat = [r for r in rows if r["type"] == "answer" and r["handle"] == "NET-SYN-ALL"]
    assert {(r["first"], r["last"]) for r in squat} == {("8.8.8.8", "8.8.8.8"), ("8.8.4.4", "8.8.4.4")}
    # later, online: another ARIN address and another registry's are asked, not served from that answer
    server.reset()
    answers, stats = lookup(["8.8.9.9", "1.1.1.1"])
    assert stats.from_cache == 0 and stats.requests["ip network"] == 2
    assert answers["1.1.1.1"].decision.holder.name == "APNIC-LABS"
    # and offline: the asked address keeps its answer, no other address has one
    answers, stats = lookup(["8.8.8.8", "9.9.9.9", "200.57.141.161"], offline=True)
    assert answers["8.8.8.8"].decision.holder.name == "Synthetic Squatter"
    assert answers["9.9.9.9"].decision is None and answers["200.57.141.161"].decision is None
    assert stats.not_cached == 2


def _export(_env) -> list[str]:
    cache = RdapCache()
    try:
        return [json.dumps(r) for r in cache.export()]
    finally:
        cache.close()


def _net(version: int, first: str, last: str, type_: str = "ASSIGNED PA"):
    return parse_network(syn_net(first, last, type=type_), "u")


def test_cache_range_policy() -> None:
    arin8 = (0x08000000, 0x08FFFFFF)
    ok = _net(4, "8.8.8.0", "8.8.8.255")
    assert cache_range([ok], "8.8.8.8", True, arin8) == (0x08080800, 0x080808FF, None)
    # a leaf of /8 inside a routing /0 (a private bootstrap) is kept; a /7 is not
    everything = (0, 0xFFFFFFFF)
    assert cache_range([_net(4, "10.0.0.0", "10.255.255.255")], "10.1.1.1", True, everything)[2] is None
    lo, hi, why = cache_range([_net(4, "10.0.0.0", "11.255.255.255")], "10.1.1.1", True, everything)
    assert lo == hi == 0x0A010101 and "wider than a /8" in why
    # an allocation outside the routing block: not even its /24
    lo, hi, why = cache_range([_net(4, "0.0.0.0", "255.255.255.255", "ALLOCATED PA")], "8.8.8.8", False, arin8)
    assert lo == hi == 0x08080808 and "outside 8.0.0.0/8" in why
    # the first answer of a referral counts too
    lo, hi, why = cache_range([_net(4, "0.0.0.0", "255.255.255.255"), ok], "8.8.8.8", True, arin8)
    assert lo == hi and why
    v6 = (int.from_bytes(bytes.fromhex("2a00" + "00" * 14), "big"), int.from_bytes(bytes.fromhex("2a0f" + "ff" * 14), "big"))
    assert cache_range([_net(6, "2a00:1000::", "2a00:1fff:ffff:ffff:ffff:ffff:ffff:ffff")], "2a00:1000::1", True, v6)[2] is None
    assert "wider than a /16" in cache_range([_net(6, "2a00::", "2a01:ffff:ffff:ffff:ffff:ffff:ffff:ffff")],
                                             "2a00::1", True, v6)[2]


def test_an_entity_answer_for_another_handle_is_neither_used_nor_cached(env, server: RecordedRdap) -> None:
    # RIPE's 193.0.0.0/21 names ORG-RIEN1-RIPE by handle; the registry answers with someone else's entity.
    env()
    impostor = copy.deepcopy(load("rdap_client/entity_ripe.json"))
    impostor["handle"] = "ORG-EVIL1-SYN"
    server.script["/main/ripe/entity/ORG-RIEN1-RIPE"] = [Action(200, json.dumps(impostor).encode())]
    answers, _ = lookup(["193.0.6.139"])
    h = answers["193.0.6.139"].decision.holder
    assert "answered with entity 'ORG-EVIL1-SYN', not ORG-RIEN1-RIPE" in h.reason and h.rule != "org-handle"
    assert not [r for r in map(json.loads, _export(env)) if r["type"] == "object"]
    # the next run asks again and gets the real one
    answers, _ = lookup(["193.0.6.139"])
    assert answers["193.0.6.139"].decision.holder.rule == "org-handle"


def test_a_parent_outside_the_bootstrap_block_ends_the_walk_uncached(env, server: RecordedRdap) -> None:
    env(world(server, "parent", syn_net(links=[{"rel": "up", "href": f"{ARIN}ip/0.0.0.0/0"}])))
    server.script["/parent/arin/registry/ip/0.0.0.0/0"] = [Action(200, json.dumps(WHOLE_SPACE).encode())] * 3
    answers, stats = lookup([ARIN_SYN], chain=True)
    assert answers[ARIN_SYN].decision.holder.name == "Synthetic Holder"
    assert [c.name for c in answers[ARIN_SYN].decision.chain] == ["IANA", "ARIN", "Synthetic Holder"]
    assert stats.requests["parent"] == 1
    assert not [r for r in map(json.loads, _export(env)) if r["type"] == "object" and r["kind"] == "parent"]


def test_an_autnum_answer_for_another_number_is_refused(env, server: RecordedRdap) -> None:
    env()
    other = load("20c-rdap/autnum/AS2914.json")
    server.script["/main/arin/registry/autnum/63311"] = [Action(200, json.dumps(other).encode())]
    with RdapClient(RdapConfig.from_env()) as c:
        a = c.autnum(63311)
        assert "answered for AS2914-AS2914, not AS63311" in a.error
        assert c.autnum(63311).autnum.start == 63311  # nothing was cached: asked again


# -- 3. one allow-list for every request -----------------------------------------------------------------

def _foreign_links(foreign: RecordedRdap) -> dict[str, Any]:
    base = f"http://127.0.0.1:{foreign.port}/"
    return syn_net(type="ALLOCATED PA", links=[
        {"rel": "self", "href": f"{base}ip/198.51.100.0/24"},
        {"rel": "rdap-down", "href": f"{base}ips/rirSearch1/rdap-down/198.51.100.0/24"},
        {"rel": "rdap-up", "href": f"{base}ips/rirSearch1/rdap-up/198.51.100.0/24"},
    ])


@pytest.mark.parametrize("rewrite", [True, False])
def test_an_answer_own_links_never_authorise_each_other(env, server: RecordedRdap, foreign: RecordedRdap,
                                                         rewrite: bool) -> None:
    env(world(server, f"links{rewrite}", _foreign_links(foreign)), rewrite=rewrite)
    answers, stats = lookup([ARIN_SYN], chain=True)
    assert answers[ARIN_SYN].decision.holder.name == "Synthetic Holder"
    assert foreign.log == [] and stats.requests["search"] == 0


def test_a_referral_link_to_a_foreign_host_is_not_followed(env, server: RecordedRdap, foreign: RecordedRdap) -> None:
    # ARIN says RIPE NCC keeps the block and links to a "RIPE" URL on a foreign host: the table's RIPE is asked.
    base = f"http://127.0.0.1:{foreign.port}/"
    ref = syn_net(type="TRANSFERRED", port43=port43("ripe"), entities=[],
                  links=[{"rel": "related", "href": f"{base}{urlsplit(RIPE).netloc}/ip/198.51.100.0/24"}])
    env(world(server, "referral", ref))
    answers, stats = lookup([ARIN_SYN])
    assert foreign.log == [] and stats.requests["referral"] == 1
    assert any(p.startswith("/referral/ripe/ip/") for p in server.log)


def test_redirects_to_unlisted_hosts_are_refused(env, server: RecordedRdap, foreign: RecordedRdap) -> None:
    env(world(server, "redir", syn_net()), rewrite=False)
    path = f"/redir/arin/registry/ip/{ARIN_SYN}"
    server.script[path] = [Action(302, b"", {"Location": f"http://127.0.0.1:{foreign.port}/ip/{ARIN_SYN}"})]
    answers, _ = lookup([ARIN_SYN, GOOGLE])
    assert "not an RDAP service ipowner may contact" in answers[ARIN_SYN].error
    assert foreign.log == [] and answers[GOOGLE].decision.holder.name == "Google Inc."


def test_a_mirror_relative_redirect_stays_on_the_mirror(env, server: RecordedRdap) -> None:
    env(world(server, "mirror", syn_net()))
    server.script[f"/mirror/arin/registry/ip/{ARIN_SYN}"] = [
        Action(301, b"", {"Location": f"/mirror/arin/registry/moved/{ARIN_SYN}"})]
    server.script[f"/mirror/arin/registry/moved/{ARIN_SYN}"] = [Action(200, json.dumps(syn_net()).encode())]
    answers, stats = lookup([ARIN_SYN])
    assert answers[ARIN_SYN].decision.holder.name == "Synthetic Holder", answers[ARIN_SYN].error
    assert server.log == [f"/mirror/arin/registry/ip/{ARIN_SYN}", f"/mirror/arin/registry/moved/{ARIN_SYN}"]
    # the public form is what evidence cites
    assert answers[ARIN_SYN].url == f"{ARIN}moved/{ARIN_SYN}"


def test_with_rewrites_nothing_outside_the_rewritten_prefixes_is_contacted(env, server: RecordedRdap) -> None:
    # LACNIC is not rewritten and the bootstrap names its public service: neither a query, nor a redirect
    # to it, nor a path of the mirror outside the prefixes is contacted.
    boot = env(world(server, "strict", syn_net()), skip=("lacnic",))
    for name in ("ipv4.json", "ipv6.json"):
        doc = json.loads((boot / name).read_text())
        for entry in doc["services"]:
            entry[1] = [LACNIC if "/lacnic/" in u else u for u in entry[1]]
        (boot / name).write_text(json.dumps(doc))
    server.script[f"/strict/arin/registry/ip/{ARIN_SYN}"] = [
        Action(301, b"", {"Location": f"{LACNIC}ip/{ARIN_SYN}"})]
    server.script[f"/strict/arin/registry/ip/{GOOGLE}"] = [Action(302, b"", {"Location": f"/elsewhere/ip/{GOOGLE}"})]
    answers, _ = lookup([ARIN_SYN, GOOGLE, BT, "200.57.141.161"])
    for addr in (ARIN_SYN, GOOGLE):
        assert "outside the IPOWNER_RDAP_REWRITE prefixes" in answers[addr].error, answers[addr].error
        assert "test tried" not in answers[addr].error
    assert "not contacted: outside the IPOWNER_RDAP_REWRITE prefixes" in answers["200.57.141.161"].error
    assert answers[BT].decision.holder.name == "BT-CORPORATE"
    assert not any(p.startswith("/elsewhere") for p in server.log)


def test_allow_list_rules() -> None:
    rw = Rewriter.parse(f"{ARIN}=http://127.0.0.1:9/arin/")
    strict = AllowList({ARIN, RIPE}, rw)
    assert strict.refusal("http://127.0.0.1:9/arin/ip/1.2.3.4") is None
    assert strict.refusal(f"{RIPE}ip/1.2.3.4") == "outside the IPOWNER_RDAP_REWRITE prefixes"
    assert strict.refusal("http://127.0.0.1:9/other/ip/1") is not None
    assert strict.refusal("http://127.0.0.1:9/arin/../other/ip/1") == "a URL with dot segments"
    assert strict.refusal("http://127.0.0.1:9/arin/%2e%2e/other") == "a URL with dot segments"
    assert strict.refusal("http://user@127.0.0.1:9/arin/ip/1") == "a URL with user info"
    assert strict.refusal("ftp://127.0.0.1:9/arin/") == "not an http(s) URL"
    assert strict.refusal("http://127.0.0.1:10/arin/ip/1") is not None  # another port is another host
    plain = AllowList({ARIN, RIPE}, Rewriter())
    assert plain.refusal(f"http://{ARIN_HOST}:80/registry/ip/1") is None  # listed with https: http alike
    assert plain.refusal(f"https://{ARIN_HOST}/other/ip/1") is not None
    assert plain.refusal(f"https://{ARIN_HOST}.example/registry/ip/1") is not None
    # a bootstrap the user named keeps its own services when rewrites are configured, not public registries'
    chosen = AllowList(set(), rw, chosen={"https://mirror.example/rdap/", RIPE})
    assert chosen.refusal("https://mirror.example/rdap/ip/1") is None
    assert chosen.refusal(f"{RIPE}ip/1") is not None


# -- 4. a response size cap ------------------------------------------------------------------------------

def test_a_gzip_bomb_stops_early(env, server: RecordedRdap) -> None:
    env(world(server, "bomb", syn_net()))
    inflated = 64 * 1024 * 1024
    bomb = gzip.compress(b" " * inflated, compresslevel=9)
    assert len(bomb) < inflated // 500
    server.script[f"/bomb/arin/registry/ip/{ARIN_SYN}"] = [
        Action(200, bomb, {"Content-Encoding": "gzip", "Content-Type": "application/rdap+json"})]
    tracemalloc.start()
    try:
        answers, _ = lookup([ARIN_SYN, GOOGLE], max_response_bytes=256 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert answers[ARIN_SYN].error.endswith("answer larger than 256 KiB (IPOWNER_RDAP_MAX_BYTES), not used")
    assert peak < 16 * 1024 * 1024, peak  # never the 64 MiB it inflates to
    assert answers[GOOGLE].decision.holder.name == "Google Inc."
    assert not any(r.get("handle") == "NET-SYN-1" for r in map(json.loads, _export(env)))


def test_gzip_and_deflate_answers_under_the_cap_are_read(env, server: RecordedRdap) -> None:
    import zlib

    env(world(server, "coded", syn_net()))
    body = json.dumps(syn_net()).encode()
    server.script[f"/coded/arin/registry/ip/{ARIN_SYN}"] = [Action(200, gzip.compress(body), {"Content-Encoding": "gzip"})]
    server.script["/coded/arin/registry/ip/198.51.100.8"] = [Action(200, zlib.compress(body), {"Content-Encoding": "deflate"})]
    answers, _ = lookup([ARIN_SYN], refresh=True)
    assert answers[ARIN_SYN].decision.holder.name == "Synthetic Holder"
    answers, _ = lookup(["198.51.100.8"], refresh=True)
    assert answers["198.51.100.8"].decision.holder.name == "Synthetic Holder"


def test_a_declared_length_past_the_cap_is_not_read(env, server: RecordedRdap) -> None:
    env(world(server, "big", syn_net()))
    big = json.dumps(syn_net(remarks=[{"description": ["x" * 300_000]}])).encode()
    server.script[f"/big/arin/registry/ip/{ARIN_SYN}"] = [Action(200, big)]
    answers, _ = lookup([ARIN_SYN], max_response_bytes=100_000)
    assert "answer larger than 100000 bytes (IPOWNER_RDAP_MAX_BYTES)" in answers[ARIN_SYN].error


def test_a_transport_that_does_not_stream_is_capped_too(tmp_path: Path) -> None:
    boot = tmp_path / "boot"
    boot.mkdir()
    for name in ("ipv4.json", "ipv6.json", "asn.json"):
        doc = load(f"bootstrap/{name}")
        for s in doc["services"]:
            s[1] = ["https://rdap.example/"]
        (boot / name).write_text(json.dumps(doc))
    body = json.dumps(syn_net(remarks=[{"description": ["x" * 5000]}])).encode()
    t = MockTransport(lambda req: Response(req.url, 200, {}, body))
    with RdapClient(RdapConfig(bootstrap=str(boot), cache_dir=tmp_path, max_response_bytes=4096), transport=t) as c:
        a = c.lookup([ARIN_SYN])[ARIN_SYN]
    assert "answer larger than 4 KiB" in a.error
    assert RdapCache(tmp_path).stats()["answers"] == 0


def test_max_bytes_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from ipowner.errors import UsageError

    assert parse_size("512K") == 512 * 1024 and parse_size("2MiB") == 2 * 1024 * 1024 and parse_size(None) == 8 << 20
    monkeypatch.setenv("IPOWNER_RDAP_MAX_BYTES", "1M")
    assert RdapConfig.from_env().max_response_bytes == 1 << 20
    for bad in ("lots", "0", "-5", "1T"):
        with pytest.raises(UsageError, match="IPOWNER_RDAP_MAX_BYTES"):
            parse_size(bad)


# -- 5. country codes from registry data -----------------------------------------------------------------

@pytest.mark.parametrize(("raw", "code", "why"), [
    ("CN", "CN", None), ("cn", "CN", None), ("CN\u200b", "CN", None), ("\u200bC\u00a0N\ufeff", "CN", None),
    (" jp\t", "JP", None), ("EU", None, "pseudo-code"), ("AP", None, "pseudo-code"), ("ZZ", None, "no country"),
    ("XX", None, "not an ISO 3166"), ("CHN", None, "not an ISO 3166"), ("\u00df", None, "not an ISO 3166"),
    ("<script>", None, "not an ISO 3166"), ("\uff23\uff2e", None, "not an ISO 3166"), (5, None, "not a country code"),
    ("", None, None), (None, None, None),
])
def test_country_normaliser(raw, code, why) -> None:
    got, reason = normalise_country_code(raw)
    assert got == code
    assert (reason is None) if why is None else (why in reason)


@pytest.mark.parametrize(("raw", "country"), [("CN\u200b", "CN"), ("EU", None), ("<b>x</b>", None), ("zz", None)])
def test_network_country_is_an_iso_code_or_none_with_evidence(env, server: RecordedRdap, raw: str, country) -> None:
    env(world(server, f"cc{raw.encode().hex()}", syn_net(country=raw)))
    answers, _ = lookup([ARIN_SYN])
    a = answers[ARIN_SYN]
    assert a.network.country == country and a.decision.holder.country == country
    if country is None:
        assert any(repr(raw) in e for e in a.decision.holder.evidence)
        assert a.decision.holder.country_basis is None


def test_vcard_country_codes_are_checked_too() -> None:
    doc = syn_net(entities=[{"handle": "SYN-ORG", "roles": ["registrant"], "vcardArray": ["vcard", [
        ["fn", {}, "text", "Synthetic Holder"], ["adr", {"cc": "EU"}, "text", ["", "", "", "", "", "", ""]]]]}],
        country="DE")
    net = parse_network(doc, "u")
    assert net.entities[0].country is None and "'EU'" in net.entities[0].country_note and net.country == "DE"


# -- 6. failure accounting, bootstrap retries, cache faults ----------------------------------------------

def test_one_silent_registry_does_not_take_the_others_down(env, server: RecordedRdap) -> None:
    env()
    for addr in ("3.3.3.3", "13.107.1.1"):
        server.script[f"/main/arin/registry/ip/{addr}"] = [Action(sleep=1.0)]
    with RdapClient(RdapConfig.from_env(timeout=0.3, retries=0)) as c:
        first = c.lookup(["3.3.3.3", "13.107.1.1"])
        assert all("no answer within" in a.error for a in first.values())
        later = c.lookup(["206.41.110.1", BT, "1.1.1.1"])
    assert "not attempted: ARIN unreachable" in later["206.41.110.1"].error
    assert later[BT].decision.holder.name == "BT-CORPORATE"
    assert later["1.1.1.1"].decision.holder.name == "APNIC-LABS"
    assert not any("network unreachable" in (a.error or "") for a in later.values())


@pytest.mark.parametrize("status", [429, 500, 503])
def test_the_bootstrap_is_retried_when_there_is_no_copy(env, server: RecordedRdap, status: int) -> None:
    env()
    url = server.serve_bootstrap("main")
    server.script["/bootstrap-main/ipv4.json"] = [Action(status, b"", {"Retry-After": "0"})]
    answers, stats = lookup([GOOGLE, BT], bootstrap=url, backoff=0.01)
    assert answers[GOOGLE].decision.holder.name == "Google Inc.", answers[GOOGLE].error
    assert stats.requests["bootstrap"] == 4 and stats.retries == 1


def test_a_bootstrap_that_keeps_failing_is_one_bounded_reason(env, server: RecordedRdap) -> None:
    env()
    url = server.serve_bootstrap("main")
    server.script["/bootstrap-main/ipv4.json"] = [Action(503)] * 10
    answers, stats = lookup([GOOGLE, BT], bootstrap=url, backoff=0.01)
    assert all("RDAP bootstrap could not be fetched" in a.error for a in answers.values())
    assert stats.requests["bootstrap"] == 4  # the first try and three retries, not one per address


def _damage(cache_dir: Path, sql: list[str]) -> None:
    db = sqlite3.connect(cache_dir / "rdap.sqlite3")
    for statement in sql:
        db.execute(statement)
    db.commit()
    db.close()


@pytest.mark.parametrize("many", [False, True])
def test_damaged_cache_rows_are_skipped_noted_and_removed(env, server: RecordedRdap, tmp_path: Path, many: bool) -> None:
    env()
    lookup([GOOGLE, BT, "1.1.1.1", "193.0.6.139"])
    _damage(tmp_path / "cache", [
        "UPDATE answers SET bundle = '{\"network\": 5}' WHERE registry = 'ripe'",
        "UPDATE answers SET bundle = 'not json' WHERE registry = 'apnic'",
        "INSERT INTO answers VALUES (4, 'zz', 'yy', 1, 'u', NULL, NULL, 9e99, 1, '{}')",
        "UPDATE objects SET status = 'x'",
    ])
    server.reset()
    extra = [f"62.239.237.{i}" for i in range(2, 70)] if many else []
    answers, stats = lookup([GOOGLE, BT, "1.1.1.1", "193.0.6.139", *extra])
    assert answers[GOOGLE].from_cache and answers[GOOGLE].decision.holder.name == "Google Inc."
    assert answers[BT].decision.holder.name == "BT-CORPORATE" and not answers[BT].from_cache
    assert answers["1.1.1.1"].decision.holder.name == "APNIC-LABS"
    assert answers["193.0.6.139"].decision.holder.rule == "org-handle"
    notes = [n for n in stats.notes if "damaged RDAP cache entries skipped and removed" in n]
    assert len(notes) == 1
    # removed: the next run has nothing to say and answers everything from the cache
    server.reset()
    answers, stats = lookup([GOOGLE, BT, "1.1.1.1"])
    assert stats.notes == [] and stats.from_cache == 3 and server.log == []


def test_a_cache_in_a_folder_that_cannot_be_written_is_still_read(env, tmp_path: Path, monkeypatch) -> None:
    env()
    lookup([GOOGLE])
    import os

    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **k: False if mode == os.W_OK else real(p, mode, **k))
    answers, stats = lookup([GOOGLE, BT])
    assert answers[GOOGLE].from_cache and answers[BT].decision.holder.name == "BT-CORPORATE"
    assert any("RDAP cache is read-only: answers read from it, 1 new answer not kept" in n for n in stats.notes)
    monkeypatch.setattr(os, "access", real)
    assert RdapCache(tmp_path / "cache").stats()["answers"] == 1  # the read-only run wrote nothing


def test_a_failing_cache_read_is_a_miss_not_a_dead_rdap(env, server: RecordedRdap, tmp_path: Path) -> None:
    env()
    lookup([GOOGLE])
    cache = RdapCache(tmp_path / "cache")

    class Broken:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def execute(self, sql: str, *args: Any):
            if sql.lstrip().startswith("SELECT"):
                raise sqlite3.DatabaseError("database disk image is malformed")
            return self.db.execute(sql, *args)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.db, name)

    cache._db = Broken(cache._db)  # type: ignore[assignment]
    with RdapClient(RdapConfig.from_env(), cache=cache) as c:
        answers = c.lookup([GOOGLE, BT])
        assert answers[GOOGLE].decision.holder.name == "Google Inc." and not answers[GOOGLE].from_cache
        assert any("RDAP cache read failed (database disk image is malformed)" in n and "treated as not cached" in n
                   for n in c.stats.notes)
    cache.close()


def test_decoder_rejects_non_objects_and_depth() -> None:
    from ipowner.providers.rdap import RdapMalformedError

    for body, words in ((b"[1]", "a JSON list"), (b"\xff", "not JSON"), (_nested(MAX_DEPTH), "nested deeper")):
        with pytest.raises(RdapMalformedError, match=words):
            decode(body, "u")
    assert decode(b'{"a": ' + b"[" * (MAX_DEPTH - 2) + b"]" * (MAX_DEPTH - 2) + b"}", "u")


def test_time_bound(env, server: RecordedRdap) -> None:
    """The hostile bodies above stay cheap: a 100,000-deep body is refused in well under a second."""
    env(world(server, "deep-fast"))
    server.script[f"/deep-fast/arin/registry/ip/{ARIN_SYN}"] = [Action(200, _nested(100_000))]
    t0 = time.monotonic()
    answers, _ = lookup([ARIN_SYN])
    assert "nested deeper" in answers[ARIN_SYN].error and time.monotonic() - t0 < 5
