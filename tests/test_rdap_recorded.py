"""RDAP over real HTTP on 127.0.0.1: every recorded ip network, its holder and its registry chain.

Expected values were written by reading the raw JSON in tests/data/rdap/ (see the comment on each).
"""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from ipowner.providers.rdap import RdapClient, RdapConfig
from rdap_support import RecordedRdap, service


@pytest.fixture(scope="module")
def server():
    srv = RecordedRdap()
    yield srv
    srv.close()


@pytest.fixture
def env(server: RecordedRdap, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Bootstrap folder and rewrites pointing at the loopback server; a fresh cache (no other sockets: conftest)."""
    server.reset()

    def setup(world: str = "main") -> Path:
        boot = server.write_bootstrap(tmp_path / f"bootstrap-{world}", world)
        monkeypatch.setenv("IPOWNER_CACHE_DIR", str(tmp_path / "cache"))
        monkeypatch.setenv("IPOWNER_RDAP_BOOTSTRAP", str(boot))
        monkeypatch.setenv("IPOWNER_RDAP_REWRITE", server.rewrite_env(world))
        monkeypatch.setenv("IPOWNER_RDAP_LIMITS", "lacnic=100/1:2")
        return boot

    setup()
    return setup


def lookup(addresses: list[str], **overrides: object):
    with RdapClient(RdapConfig.from_env(**overrides)) as client:
        answers = client.lookup(addresses)
        return answers, client.stats


# address queried -> (world, holder name, handle, rule, inferred, country, chain, first CIDR, abuse e-mail)
# Read from the raw JSON:
EXPECTED = {
    # ARIN, old format: zero-padded 074.125.000.000; registrant GOGL "Google Inc." (label ends UNITED STATES);
    # abuse ZG39-ARIN nested under GOGL; no type (so only its /24 is cached).
    "74.125.225.229": ("main", "Google Inc.", "GOGL", "registrant", False, "US",
                       [("rir", "ARIN"), ("holder", "Google Inc.")], "74.125.0.0/16", "arin-contact@google.com"),
    # ARIN, old format: upper-case fully expanded IPv6.
    "2001:4860:4860::8888": ("main", "Google Inc.", "GOGL", "registrant", False, "US",
                             [("rir", "ARIN"), ("holder", "Google Inc.")], "2001:4860::/32", "arin-contact@google.com"),
    # RIPE, old format: startAddress "62.239.237.0/32", no objectClassName; only entity BTCR3-RIPE (abuse) with
    # BTENT-MNT (a maintainer) in the registrant role; descr "UDC": the netname is all that names the holder.
    "62.239.237.1": ("main", "BT-CORPORATE", None, "netname", True, "GB",
                     [("rir", "RIPE NCC"), ("holder", "BT-CORPORATE")], "62.239.237.0/24", "zzdnsr@bt.com"),
    "2a00:2381:ffff::1": ("main", "BT-WORLD-IPVSIX-LAUNCH", None, "netname", True, "GB",
                          [("rir", "RIPE NCC"), ("holder", "BT-WORLD-IPVSIX-LAUNCH")], "2a00:2381:ffff::/64", "zzdnsr@bt.com"),
    # APNIC, KRNIC space: IRT-KRNIC-KR (abuse), DB50-AP "DACOM BORANET" (tech/admin), description "DACOM Corp.".
    "210.107.73.73": ("main", "DACOM Corp.", None, "description", True, "KR",
                      [("rir", "APNIC"), ("nir", "KRNIC"), ("holder", "DACOM Corp.")], "210.107.0.0/17",
                      "hostmaster@nic.or.kr"),
    # APNIC, JPNIC allocation block: JNIC1-AP only, description "Japan Network Information Center".
    "2001:240:10c:1::ca20:9d1d": ("main", None, None, None, False, None,
                                  [("rir", "APNIC"), ("nir", "JPNIC")], "2001:240::/32", None),
    # LACNIC: registrant MX-TSCV6-LACNIC "Triara.com, S.A. de C.V." (adr country MX); range is the address alone.
    "200.57.141.161": ("main", "Triara.com, S.A. de C.V.", "MX-TSCV6-LACNIC", "registrant", False, "MX",
                       [("rir", "LACNIC"), ("holder", "Triara.com, S.A. de C.V.")], "200.57.141.161/32",
                       "operacion.redes@TRIARA.COM"),
    "2801:10:c000::": ("main", "Universidad Catolica de Oriente", "CO-UCOR-LACNIC", "registrant", False, "CO",
                       [("rir", "LACNIC"), ("holder", "Universidad Catolica de Oriente")], "2801:10:c000::/128",
                       "sistemas.red@UCO.EDU.CO"),
    # AFRINIC: entities without roles; ORG-VSA1-AFRINIC (kind org, fn = its handle) and MBIP-AFRINIC (a maintainer
    # group). No recorded entity answer names the organisation, so the holder stays a handle.
    "196.11.240.215": ("main", None, "ORG-VSA1-AFRINIC", "org-handle", False, "ZA",
                       [("rir", "AFRINIC"), ("holder", "ORG-VSA1-AFRINIC")], "196.11.239.0/24", None),
    "2001:43f8:7b0::": ("main", None, "ORG-TA38-AFRINIC", "org-handle", False, "KE",
                        [("rir", "AFRINIC"), ("holder", "ORG-TA38-AFRINIC")], "2001:43f8:7b0::/48", None),
    # AFRINIC 41.0.0.0/16: no name, one individual contact (JH2-AFRINIC); only a remark mentions Vodacom.
    "41.0.0.1": ("main", None, None, None, False, None, [("rir", "AFRINIC")], "41.0.0.0/16", None),
    # ARIN, modern: registrant UIEL "United-IX"; abuse UIE-ARIN nested.
    "206.41.110.1": ("main", "United-IX", "UIEL", "registrant", False, "US",
                     [("rir", "ARIN"), ("holder", "United-IX")], "206.41.110.0/24", "neteng@unitedix.net"),
    "192.198.1.1": ("main", "Radio Link Internet", "DP-41", "registrant", False, "US",
                    [("rir", "ARIN"), ("holder", "Radio Link Internet")], "192.198.0.0/22",
                    "daniel.petsinger@radiolinkinternet.com"),
    "3.3.3.3": ("main", "Amazon Technologies Inc.", "AT-88-Z", "registrant", False, "US",
                [("rir", "ARIN"), ("holder", "Amazon Technologies Inc.")], "3.0.0.0/9", "abuse@amazonaws.com"),
    # ARIN MSFT: one range, three cidr0 prefixes.
    "13.107.1.1": ("main", "Microsoft Corporation", "MSFT", "registrant", False, "US",
                   [("rir", "ARIN"), ("holder", "Microsoft Corporation")], "13.64.0.0/11", "abuse@microsoft.com"),
    # RIPE NCC's own assignment: registrant ORG-RIEN1-RIPE given by handle only (and RIPE-NCC-MNT, a maintainer);
    # the entity query answers "Reseaux IP Europeens Network Coordination Centre (RIPE NCC)", label NETHERLANDS.
    "193.0.6.139": ("main", "Reseaux IP Europeens Network Coordination Centre (RIPE NCC)", "ORG-RIEN1-RIPE",
                    "org-handle", False, "NL",
                    [("rir", "RIPE NCC"), ("holder", "Reseaux IP Europeens Network Coordination Centre (RIPE NCC)")],
                    "193.0.0.0/21", "ops@ripe.net"),
    # RIPE legacy SWITCH-LAN, reached by ARIN's referral: ORG-SG2-RIPE unresolvable, descr "Zurich, Switzerland".
    "130.59.31.80": ("main", "SWITCH-LAN", "ORG-SG2-RIPE", "netname", True, "CH",
                     [("rir", "RIPE NCC"), ("holder", "SWITCH-LAN")], "130.59.0.0/16", "abuse@switch.ch"),
    # APNIC research prefix: no registrant; IRT (abuse) and AR302-AP "APNIC RESEARCH"; an assignment APNIC holds.
    "1.1.1.1": ("main", "APNIC-LABS", None, "netname", True, "AU",
                [("rir", "APNIC"), ("holder", "APNIC-LABS")], "1.1.1.0/24", "abuse@apnic.net"),
    # NIC.br (reached by LACNIC's redirect): registrant 76535764032690, no address; the block's country BR.
    "177.0.0.1": ("main", "Brasil Telecom S/A - Filial Distrito Federal", "76535764032690", "registrant", False, "BR",
                  [("rir", "LACNIC"), ("nir", "NIC.br"), ("holder", "Brasil Telecom S/A - Filial Distrito Federal")],
                  "177.0.0.0/14", None),
    # LACNIC 179.0.0.0/23: registrant AR-NESR9-LACNIC "NEURALSOFT S.R.L." (kind individual), no country anywhere.
    "179.0.0.1": ("main", "NEURALSOFT S.R.L.", "AR-NESR9-LACNIC", "registrant", False, None,
                  [("rir", "LACNIC"), ("holder", "NEURALSOFT S.R.L.")], "179.0.0.0/23", "tomas.cribb@neuralsoft.com"),
    # Synthetic CNNIC member: MAINT-CNNIC-AP as registrant, IRT-CNNIC-CN abuse, member named in the description.
    "203.0.113.5": ("main", "Synthetic Member Technology Co., Ltd.", None, "description", True, "CN",
                    [("rir", "APNIC"), ("nir", "CNNIC"), ("holder", "Synthetic Member Technology Co., Ltd.")],
                    "203.0.113.0/24", "ipas@cnnic.cn"),
    # Later recordings of networks above: 1.1.1.0/24 (2020) and Google IPv6 with cidr0/originas0 ("Google LLC").
    "1.1.1.2": ("whoisit-v4", "APNIC-LABS", None, "netname", True, "AU",
                [("rir", "APNIC"), ("holder", "APNIC-LABS")], "1.1.1.0/24", "helpdesk@apnic.net"),
    "1.1.1.3": ("whoisit-cidr-v4", "APNIC-LABS", None, "netname", True, "AU",
                [("rir", "APNIC"), ("holder", "APNIC-LABS")], "1.1.1.0/24", "helpdesk@apnic.net"),
    "2001:4860::1": ("whoisit-v6", "Google LLC", "GOGL", "registrant", False, "US",
                     [("rir", "ARIN"), ("holder", "Google LLC")], "2001:4860::/32", "arin-contact@google.com"),
    "2001:4860::2": ("whoisit-cidr-v6", "Google LLC", "GOGL", "registrant", False, "US",
                     [("rir", "ARIN"), ("holder", "Google LLC")], "2001:4860::/32", "arin-contact@google.com"),
}


def test_every_recorded_network_is_covered(server: RecordedRdap) -> None:
    recorded = sum(len(w.get(r, [])) for w in server.worlds.values() for r in w)
    assert recorded == len(EXPECTED)
    # each expected address falls in a distinct recorded network
    seen = set()
    for addr, spec in EXPECTED.items():
        ip = ipaddress.ip_address(addr)
        hits = [(r, lo) for r, nets in server.worlds[spec[0]].items() for v, lo, hi, _ in nets if v == ip.version and lo <= int(ip) <= hi]
        assert len(hits) == 1, addr
        seen.add((spec[0], hits[0]))
    assert len(seen) == len(EXPECTED)


@pytest.mark.parametrize("address", sorted(EXPECTED))
def test_holder_and_chain_of_recorded_network(env, address: str) -> None:
    world, name, handle, rule, inferred, country, chain, cidr, abuse = EXPECTED[address]
    env(world)
    answers, stats = lookup([address])
    ans = answers[address]
    assert ans.error is None
    d = ans.decision
    assert d.holder.name == name
    assert d.holder.handle == handle
    assert d.holder.rule == rule
    assert d.holder.inferred is inferred
    assert d.holder.country == country
    assert [(c.role, c.name) for c in d.chain] == [("iana", "IANA"), *chain]
    assert ans.network.cidrs[0] == cidr
    assert (d.abuse.email if d.abuse else None) == abuse
    # one network query per network (a referral hop or an NIR query is counted apart)
    assert stats.requests["ip network"] == 1
    assert stats.queried == 1
    # never a registry, maintainer or IRT as holder
    assert not (d.holder.handle or "").upper().endswith("-MNT")
    assert not (d.holder.handle or "").upper().startswith("IRT-")


def test_done_when_google(env) -> None:
    answers, _ = lookup(["74.125.225.229"])
    d = answers["74.125.225.229"].decision
    assert d.holder.name == "Google Inc." and d.holder.rule == "registrant" and not d.holder.inferred
    assert [c.name for c in d.chain] == ["IANA", "ARIN", "Google Inc."]
    assert d.holder.country_basis == "registrant GOGL vcard adr label"


def test_done_when_krnic_dacom_inferred(env, server: RecordedRdap) -> None:
    answers, stats = lookup(["210.107.73.73"])
    d = answers["210.107.73.73"].decision
    assert d.nir is not None and d.nir.name == "KRNIC"
    assert d.holder.name == "DACOM Corp." and d.holder.inferred and d.holder.rule == "description"
    assert "inferred from the description" in d.holder.reason
    assert "in KRNIC's database" in d.holder.reason
    assert "IRT-KRNIC-KR" in next(c.basis for c in d.chain if c.role == "nir")
    # the NIR's own service was asked (counted as an NIR request) and had nothing more specific
    assert stats.requests["nir"] == 1 and "/main/krnic/ip/210.107.73.73" in server.log


def test_done_when_jpnic_is_registry_not_holder(env) -> None:
    answers, _ = lookup(["2001:240:10c:1::ca20:9d1d"])
    d = answers["2001:240:10c:1::ca20:9d1d"].decision
    assert d.nir is not None and d.nir.name == "JPNIC"
    assert d.holder.name is None
    assert d.holder.reason.startswith("in JPNIC's database; netname suggests IIJ")
    assert all(c.role != "holder" for c in d.chain)
    assert "JPNIC" not in (d.holder.name or "") and "Japan" not in (d.holder.name or "")


def test_synthetic_cnnic_member(env) -> None:
    answers, _ = lookup(["203.0.113.5"])
    d = answers["203.0.113.5"].decision
    assert d.nir.name == "CNNIC"
    assert d.holder.name == "Synthetic Member Technology Co., Ltd." and d.holder.inferred
    assert d.holder.handle is None  # MAINT-CNNIC-AP is a maintainer, never the holder
    assert "China Internet Network Information Center" not in (d.holder.name or "")


def _spread(networks: dict[str, int], per: int) -> list[str]:
    out = []
    for first, span in networks.items():
        ip = ipaddress.ip_address(first)
        out += [str(ip + (i * span) // per) for i in range(per)]
    return out


def test_done_when_100_addresses_five_leaf_networks(env, server: RecordedRdap) -> None:
    # Five recorded leaf (assigned) networks, 20 addresses spread over each.
    leaves = {
        "62.239.237.0": 256,  # ASSIGNED PA
        "196.11.239.0": 8 * 256,  # ASSIGNED PI, 196.11.239.0 - 196.11.246.255 (spans eight /24s)
        "2001:43f8:7b0::": 1 << 80,  # ASSIGNED PI /48
        "179.0.0.0": 512,  # assigned /23
        "193.0.0.0": 8 * 256,  # ASSIGNED PA /21
    }
    addresses = _spread(leaves, 20)
    assert len(set(addresses)) == 100
    answers, stats = lookup(addresses)
    assert all(a.error is None for a in answers.values())
    assert stats.requests["ip network"] == 5
    assert stats.queried == 5 and stats.deduplicated == 95
    first_run_entities = stats.requests["entity"]
    # ORG-VSA1-AFRINIC and ORG-TA38-AFRINIC (404s, remembered) and ORG-RIEN1-RIPE, once each
    assert first_run_entities == 3
    # a second run costs nothing at all
    server.reset()
    answers2, stats2 = lookup(addresses)
    assert sum(stats2.requests.values()) == 0 and server.log == []
    assert stats2.from_cache == 100
    assert {a: x.decision.holder.name for a, x in answers2.items()} == {a: x.decision.holder.name for a, x in answers.items()}


def test_allocation_answers_only_its_slash24_from_cache(env, server: RecordedRdap) -> None:
    # ARIN's Google block has no type (unknown): cached for the /24 around the fetched address only.
    lookup(["74.125.225.229"])
    server.reset()
    _, stats = lookup(["74.125.225.1", "74.125.226.1"])
    assert stats.from_cache == 1 and stats.requests["ip network"] == 1
    assert server.log == ["/main/arin/registry/ip/74.125.226.1"]


def test_refresh_ignores_cache(env, server: RecordedRdap) -> None:
    lookup(["62.239.237.1"])
    server.reset()
    _, stats = lookup(["62.239.237.1"], refresh=True)
    assert stats.requests["ip network"] == 1 and stats.from_cache == 0


def test_offline_answers_from_cache_only(env, server: RecordedRdap, monkeypatch) -> None:
    lookup(["62.239.237.1"])
    server.reset()

    def no_socket(*a, **k):
        raise AssertionError("offline opened a socket")

    import socket

    monkeypatch.setattr(socket, "socket", no_socket)
    answers, stats = lookup(["62.239.237.2", "3.3.3.3"], offline=True)
    assert answers["62.239.237.2"].decision.holder.name == "BT-CORPORATE"
    assert answers["62.239.237.2"].from_cache
    assert answers["3.3.3.3"].decision is None and answers["3.3.3.3"].error is None
    assert stats.not_cached == 1 and stats.from_cache == 1 and sum(stats.requests.values()) == 0
    assert "offline" in stats.summary()


def test_429_with_retry_after_is_honoured(env, server: RecordedRdap) -> None:
    from rdap_support import Action

    path = "/main/ripe/ip/62.239.237.1"
    server.script[path] = [Action(429, b"", {"Retry-After": "1"})]
    import time

    t0 = time.monotonic()
    answers, stats = lookup(["62.239.237.1"])
    waited = time.monotonic() - t0
    assert answers["62.239.237.1"].decision.holder.name == "BT-CORPORATE"
    assert server.log.count(path) == 2 and stats.retries == 1 and stats.rate_limited == 1
    assert waited >= 1.0


def test_429_too_long_gives_a_reason(env, server: RecordedRdap) -> None:
    from rdap_support import Action

    server.script["/main/ripe/ip/62.239.237.1"] = [Action(429, b"", {"Retry-After": "3600"})]
    answers, stats = lookup(["62.239.237.1"])
    assert "429" in answers["62.239.237.1"].error and "Retry-After" in answers["62.239.237.1"].error
    assert stats.failed == 1


def test_timeout_is_retried_then_reported(env, server: RecordedRdap) -> None:
    from rdap_support import Action

    path = "/main/ripe/ip/62.239.237.1"
    server.script[path] = [Action(sleep=1.0)] * 3
    answers, stats = lookup(["62.239.237.1"], timeout=0.3, retries=1, backoff=0.01)
    assert "no answer within 0.3 s" in answers["62.239.237.1"].error
    assert server.log.count(path) == 2 and stats.retries == 1
    # a stall on the first try only: the retry answers
    server.reset()
    server.script[path] = [Action(sleep=2.0)]
    answers, _ = lookup(["62.239.237.1"], timeout=0.8, retries=2, backoff=0.01)
    assert answers["62.239.237.1"].decision.holder.name == "BT-CORPORATE"


def test_deadline_bounds_the_run(env, server: RecordedRdap) -> None:
    from rdap_support import Action

    server.script["/main/ripe/ip/62.239.237.1"] = [Action(sleep=2.0)] * 3
    answers, _ = lookup(["62.239.237.1"], deadline=0.5, timeout=10)
    assert answers["62.239.237.1"].error is not None


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (b"<html>Service Unavailable</html>", 200, "not JSON"),
        (b"[1, 2]", 200, "JSON list"),
        (b"{}", 200, "empty RDAP answer"),
        (b'{"objectClassName": "ip network", "startAddress": "banana", "endAddress": "x"}', 200, "usable range"),
        (b'{"objectClassName": "entity", "handle": "X"}', 200, "expected an ip network"),
        (json.dumps({"errorCode": "400", "title": "Bad Request"}).encode(), 400, "registry error 400 Bad Request"),
        (json.dumps({"errorCode": 501, "title": "501 Not Implemented"}).encode(), 501, "registry error 501"),
        (b"", 403, "HTTP 403"),
        (b'{"objectClassName": "ip network", "startAddress": "10.0.0.0", "endAddress": "10.0.0.255"}', 200,
         "does not contain"),
    ],
)
def test_malformed_bodies_and_error_objects_become_reasons(env, server: RecordedRdap, body, status, words) -> None:
    from rdap_support import Action

    server.script["/main/ripe/ip/62.239.237.1"] = [Action(status, body, {"Content-Type": "application/rdap+json"})]
    answers, stats = lookup(["62.239.237.1", "193.0.6.139"], retries=0)
    assert words in answers["62.239.237.1"].error
    assert answers["62.239.237.1"].error.startswith(f"RDAP {server.world_base('main', 'ripe')}ip/62.239.237.1:")
    # one bad answer never loses the rest
    assert answers["193.0.6.139"].decision.holder.rule == "org-handle"
    assert stats.failed == 1


def test_unrecorded_address_is_a_404_reason(env) -> None:
    answers, _ = lookup(["8.8.8.8"])
    assert answers["8.8.8.8"].error.endswith("registry error 404 Not Found")


def test_recorded_entity_errors_are_remembered(env, server: RecordedRdap) -> None:
    lookup(["196.11.240.215"])
    assert server.counts()["entity"] == 1
    server.reset()
    _, stats = lookup(["196.11.240.216"])  # same leaf network, cached; the 404 on the org is cached too
    assert server.log == [] and stats.from_cache == 1


def test_evidence_indexes_every_claim(env, server: RecordedRdap, tmp_path: Path) -> None:
    # URLs are cited as the tool formed them: the bootstrap's base (here the loopback mirror), NIR
    # services by their public address (reached through IPOWNER_RDAP_REWRITE).
    ripe = server.world_base("main", "ripe")
    ev = tmp_path / "evidence"
    lookup(["193.0.6.139", "210.107.73.73"], evidence_dir=ev)
    index = [json.loads(line) for line in (ev / "responses.jsonl").read_text().splitlines()]
    urls = {r["url"] for r in index}
    assert f"{ripe}ip/193.0.6.139" in urls
    assert f"{ripe}entity/ORG-RIEN1-RIPE" in urls
    assert f"{service('krnic')}ip/210.107.73.73" in urls
    import hashlib

    for r in index:
        assert hashlib.sha256((ev / r["file"]).read_bytes()).hexdigest() == r["sha256"]
        assert r["time"].endswith("Z")
    claims = json.loads((ev / "claims.json").read_text())
    holder = claims["193.0.6.139"]["holder"]
    assert holder["url"] == f"{ripe}entity/ORG-RIEN1-RIPE"  # the name came from the entity query
    assert holder["sha256"] in {r["sha256"] for r in index}
    assert claims["193.0.6.139"]["network"]["url"] == f"{ripe}ip/193.0.6.139"
    assert claims["210.107.73.73"]["holder"]["value"]["inferred"] is True


def test_evidence_from_cache_is_marked(env, tmp_path: Path) -> None:
    lookup(["62.239.237.1"])
    ev = tmp_path / "ev2"
    lookup(["62.239.237.1"], evidence_dir=ev)
    index = [json.loads(line) for line in (ev / "responses.jsonl").read_text().splitlines()]
    assert index and all(r["from_cache"] for r in index)


def test_two_runs_at_once_share_the_cache(env) -> None:
    import threading

    results = {}

    def run(name: str, addrs: list[str]) -> None:
        results[name] = lookup(addrs)

    a = threading.Thread(target=run, args=("a", ["62.239.237.1", "3.3.3.3", "1.1.1.1"]))
    b = threading.Thread(target=run, args=("b", ["62.239.237.9", "13.64.0.1", "200.57.141.161"]))
    a.start(), b.start()
    a.join(), b.join()
    assert all(x.error is None for r in results.values() for x in r[0].values())
    _, stats = lookup(["62.239.237.1", "3.3.3.3", "1.1.1.1", "13.64.0.1", "200.57.141.161"])
    assert stats.from_cache == 5


# AS number -> (registrant name, rule, chain roles), read from the recorded autnum answers.
AUTNUMS = {
    2914: ("NTT America, Inc.", "registrant", ["iana", "rir", "holder"]),  # ARIN, NTTAM-1 registrant
    # APNIC: registrant ORG-HKBN1-AP "Hong Kong Broadband Network Ltd" (the description adds a full stop)
    9269: ("Hong Kong Broadband Network Ltd", "registrant", ["iana", "rir", "holder"]),
    # RIPE: registrant ORG-NC22-RIPE "Netwerkvereniging Coloclue"; COLOCLUE-MNT and RIPE-NCC-END-MNT, also
    # registrants, are maintainers
    8283: ("Netwerkvereniging Coloclue", "registrant", ["iana", "rir", "holder"]),
}


@pytest.mark.parametrize("asn", sorted(AUTNUMS))
def test_autnum_registration_is_cached(env, server: RecordedRdap, asn: int) -> None:
    name, rule, roles = AUTNUMS[asn]
    with RdapClient(RdapConfig.from_env()) as client:
        a = client.autnum(asn)
        assert a.error is None and a.decision.holder.name == name and a.decision.holder.rule == rule
        assert [c.role for c in a.decision.chain] == roles
        assert client.stats.requests["autnum"] == 1
    server.reset()
    with RdapClient(RdapConfig.from_env()) as client:
        assert client.autnum(asn).decision.holder.name == name
        assert server.counts()["autnum"] == 0


def test_autnum_unknown_is_a_reason(env) -> None:
    with RdapClient(RdapConfig.from_env()) as client:
        a = client.autnum(64496)  # documentation AS: in no registry's range of the bootstrap
        assert a.error and "AS64496" in a.error


def test_requests_meet_the_lower_bound_over_every_recorded_network(env, server: RecordedRdap, monkeypatch) -> None:
    """Ten addresses in each recorded network (main world): network queries equal the lower bound under the
    cache rule (each leaf network once; an allocation or untyped object once per /24 or /48 touched)."""
    import random

    monkeypatch.setenv("IPOWNER_RDAP_LIMITS", ",".join(f"{r}=10000/1:4" for r in
                                                        ("arin", "ripe", "apnic", "lacnic", "afrinic", "nir", "default")))
    rng = random.Random(7)
    addresses = []
    for nets in server.worlds["main"].values():
        for v, lo, hi, _ in nets:
            for _ in range(10):
                n = rng.randint(lo, hi)
                addresses.append(str(ipaddress.IPv4Address(n) if v == 4 else ipaddress.IPv6Address(n)))
    answers, stats = lookup(addresses)
    assert all(a.error is None for a in answers.values())
    bound = set()
    for addr, a in answers.items():
        n = a.network
        if n.is_leaf:
            bound.add((n.start, n.end))
        else:
            ip = ipaddress.ip_address(addr)
            bound.add((n.start, n.end, ipaddress.ip_network(f"{ip}/{24 if ip.version == 4 else 48}", strict=False)))
    assert stats.requests["ip network"] == len(bound)
    _, again = lookup(addresses)
    assert sum(again.requests.values()) == 0


def test_library_lookup_with_rdap(env, server: RecordedRdap) -> None:
    import ipowner

    cfg = RdapConfig.from_env()
    res = ipowner.lookup(["74.125.225.229", "10.0.0.1", "64:ff9b::4a7d:e1e5"], use_embedded=False, discover=False,
                         rdap_config=cfg)
    google, private, nat64 = res.records
    assert google.holder.name == "Google Inc." and nat64.holder.name == "Google Inc."  # the embedded IPv4 is attributed
    assert private.holder is None and private.registry_chain == []  # special-purpose: never asked
    assert res.rdap.requests["ip network"] == 1 and res.rdap.deduplicated == 0 and res.rdap.addresses == 1
    assert res.to_dict()["records"][0]["registry_chain"][1] == {
        "role": "rir", "name": "ARIN", "handle": None, "url": None, "basis": "ARIN answered"}
    # offline leaves the caller's settings alone and asks nobody
    server.reset()
    off = ipowner.lookup(["74.125.225.1", "3.3.3.3"], use_embedded=False, discover=False, rdap_config=cfg, offline=True)
    assert cfg.offline is False and server.log == []
    assert off.records[0].holder.name == "Google Inc." and off.records[1].holder is None
    assert off.rdap.offline is True and off.rdap.not_cached == 1
