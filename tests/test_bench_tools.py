"""The benchmark's own tools: the synthetic capture's truth, the reference loop, the loopback RDAP server.

These check correctness only (small inputs); speed is measured by bench/run, never here.
"""

from __future__ import annotations

import collections
import ipaddress
import json
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
sys.path.insert(0, str(BENCH))

import gen_capture  # noqa: E402
import rdap_server  # noqa: E402
import struct_loop  # noqa: E402


@pytest.fixture(scope="module", params=["pcapng", "pcap"])
def capture(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("cap") / f"synthetic-bench.{request.param}"
    truth = out.with_suffix(".json")
    rc = gen_capture.main([str(out), "--packets", "6000", "--format", request.param, "--truth", str(truth), "--quiet"])
    assert rc == 0
    return out, json.loads(truth.read_text())


def test_generator_is_deterministic(tmp_path: Path) -> None:
    a, b = tmp_path / "a.pcapng", tmp_path / "b.pcapng"
    gen_capture.main([str(a), "--packets", "3000", "--quiet"])
    gen_capture.main([str(b), "--packets", "3000", "--quiet"])
    assert a.read_bytes() == b.read_bytes()
    gen_capture.main([str(b), "--packets", "3000", "--seed", "5", "--quiet"])
    assert a.read_bytes() != b.read_bytes()


def test_truth_covers_what_real_captures_have(capture: tuple[Path, dict]) -> None:
    _, truth = capture
    assert truth["packets"] == 6000
    assert {"tls", "http", "dns", "udp", "frag", "tcp"} <= set(truth["flow_kinds"])
    sources = {h["source"] for r in truth["remotes"].values() for h in r["hostnames"]}
    assert sources == {"dns", "sni", "http"}
    families = {ipaddress.ip_address(a).version for a, r in truth["remotes"].items() if r["scope"] == "internet"}
    assert families == {4, 6}
    # per remote, sent + received equal the endpoint totals
    for a, r in truth["remotes"].items():
        assert r["packets_sent"] + r["packets_received"] == truth["endpoints"][a]["packets"]
        assert r["bytes_sent"] + r["bytes_received"] == truth["endpoints"][a]["bytes"]


def test_struct_loop_equals_truth(capture: tuple[Path, dict]) -> None:
    path, truth = capture
    pairs, frames, _ = struct_loop.count(str(path))
    assert frames == truth["packets"]
    eps = {a: {"packets": p, "bytes": b} for a, (p, b) in struct_loop.endpoints(pairs).items()}
    assert eps == truth["endpoints"]


@pytest.mark.slow  # tshark
@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_truth_equals_tshark_per_frame(capture: tuple[Path, dict]) -> None:
    """An independent reader: tshark's per-frame addresses and frame.len, summed per address."""
    path, truth = capture
    out = subprocess.run(
        ["tshark", "-n", "-r", str(path), "-T", "fields", "-e", "frame.len", "-e", "ip.src", "-e", "ip.dst", "-e", "ipv6.src", "-e", "ipv6.dst"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    pk: collections.Counter[str] = collections.Counter()
    by: collections.Counter[str] = collections.Counter()
    for line in out.splitlines():
        f = line.split("\t")
        src, dst = (f[1], f[2]) if f[1] else (f[3], f[4])
        if not src:
            continue
        for addr in (src, dst):
            pk[addr] += 1
            by[addr] += int(f[0])
    assert {a: {"packets": pk[a], "bytes": by[a]} for a in pk} == truth["endpoints"]


def test_hostnames_are_synthetic(capture: tuple[Path, dict]) -> None:
    _, truth = capture
    names = {h["name"] for r in truth["remotes"].values() for h in r["hostnames"]}
    assert names and all(n.endswith(".example") for n in names)


# ---------------------------------------------------------------- RDAP server


def test_lower_bound_follows_cache_rules() -> None:
    leaf = next(
        ip
        for ip in (ipaddress.IPv4Address(0x05000000 + (i << 16) + 0x0101) for i in range(500))
        if (n := rdap_server.network_for(ip)) and n.leaf and not n.by_handle
    )
    net = rdap_server.network_for(leaf)
    assert net is not None
    inside = [str(ipaddress.IPv4Address(net.start + k)) for k in (0, 5, 200)]
    assert rdap_server.lower_bound(inside)["ip"] == 1
    alloc = next(
        ip for ip in (ipaddress.IPv4Address(0x05000000 + (i << 16) + 0x0101) for i in range(500)) if not rdap_server.network_for(ip).leaf
    )
    a2 = ipaddress.IPv4Address(int(alloc) + 0x100)  # same allocation, next /24: needs its own query
    lb = rdap_server.lower_bound([str(alloc), str(alloc + 1), str(a2), "10.0.0.1", "224.0.0.251"])
    assert lb["ip"] == 2 and lb["skipped"] == 2


def test_server_answers_counts_and_throttles() -> None:
    with rdap_server.RdapServer(latency=0.0, lifetime=30) as srv, httpx.Client() as c:
        boot = c.get(srv.bootstrap_url + "ipv4.json").json()
        assert all(u.startswith(srv.base) for _, urls in boot["services"] for u in urls)
        ip = ipaddress.IPv4Address("5.1.1.1")
        reg = rdap_server.REGISTRIES[rdap_server.bootstrap_registry(ip)]
        r = c.get(f"{srv.base}{reg}/ip/{ip}", follow_redirects=True)
        assert r.status_code == 200
        doc = r.json()
        assert doc["objectClassName"] == "ip network"
        assert ipaddress.ip_address(doc["startAddress"]) <= ip <= ipaddress.ip_address(doc["endAddress"])
        assert "Synthetic" in json.dumps(doc)
        codes = [c.get(f"{srv.base}lacnic-like/ip/200.1.1.1").status_code for _ in range(15)]
        assert 429 in codes
        r429 = c.get(f"{srv.base}lacnic-like/ip/200.1.1.1")
        assert r429.status_code == 429 and int(r429.headers["retry-after"]) >= 1
        counts = srv.counts()
        assert counts["total"]["bootstrap"] == 1
        assert counts["total"]["throttled"] >= 2
        assert counts["peers"] == ["127.0.0.1"]


def test_server_refers_transferred_space() -> None:
    moved = next(
        ip
        for ip in (ipaddress.IPv4Address((o << 24) + (b << 16) + 1) for o in range(5, 100) for b in range(0, 256, 7))
        if rdap_server.network_for(ip).registry != rdap_server.bootstrap_registry(ip)
    )
    with rdap_server.RdapServer(latency=0.0, lifetime=30, limits=False) as srv, httpx.Client() as c:
        first = rdap_server.REGISTRIES[rdap_server.bootstrap_registry(moved)]
        r = c.get(f"{srv.base}{first}/ip/{moved}")
        assert r.status_code == 301
        assert c.get(r.headers["location"]).status_code == 200
        assert srv.counts()["total"] == {"ip": 1, "referral": 1}
