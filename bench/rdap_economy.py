#!/usr/bin/env python3
"""RDAP economy: requests and wall time of ``ipowner lookup`` against the loopback RDAP server.

Starts ``rdap_server.RdapServer`` on 127.0.0.1 in this process, runs ``ipowner lookup --format jsonl``
(a subprocess, addresses on stdin) with ``IPOWNER_RDAP_BOOTSTRAP`` pointing at the server and a fresh
``IPOWNER_CACHE_DIR``, then runs it again on the same cache. Compares:

- network (``/ip/``) queries answered against the fewest the cache rules allow (``lower_bound``);
  entity, autnum, referral, bootstrap and throttled (429) requests are counted apart;
- wall time of the first run against the least the rate limits allow (``time_bound``);
- the second run must make no network query;
- holders named against the server's synthetic registrants (a correctness check, not a speed one).

The address set is synthetic and clustered as real destinations are (several addresses in one
provider's block), with duplicates and special-purpose addresses mixed in. The bench runner starts
this script in a fresh network namespace (``unshare -n``) when it can, so that nothing but 127.0.0.1
is reachable at all; every request the server sees is from 127.0.0.1 in any case (``peers``).

Prints one JSON object. Usage: rdap_economy.py [--clusters 240] [--latency 0.03] [--ipowner CMD]
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import random
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rdap_server  # noqa: E402


def address_set(clusters: int, seed: int) -> list[str]:
    """Clustered public addresses (v4 within a /20, v6 within a /40), duplicates and a few special ones."""
    rnd = random.Random(seed)
    out: list[str] = []
    n6 = clusters // 5
    made = 0
    while made < clusters:
        if made < clusters - n6:
            base = rnd.getrandbits(32) & ~0xFFF
            ip0 = ipaddress.IPv4Address(base)
            if not ip0.is_global or int(ip0) >> 24 in (0, 127) or int(ip0) >= 0xE0000000:
                continue
            members = [str(ipaddress.IPv4Address(base | rnd.getrandbits(12))) for _ in range(rnd.choice([1, 1, 2, 3, 4, 6, 8]))]
        else:
            top = rnd.choice([0x2001, 0x2400, 0x2600, 0x2800, 0x2A00, 0x2C0F])
            base = (top << 112) | (rnd.getrandbits(24) << 88)
            if not ipaddress.IPv6Address(base).is_global:
                continue
            members = [str(ipaddress.IPv6Address(base | rnd.getrandbits(88))) for _ in range(rnd.choice([1, 2, 3, 5]))]
        out += members
        made += 1
    out += rnd.sample(out, max(1, len(out) // 20))  # repeats, as in real destination lists
    out += ["10.1.2.3", "192.168.0.10", "100.64.1.1", "198.51.100.7", "fe80::1", "fd12:3456::1", "224.0.0.251"]
    rnd.shuffle(out)
    return out


def ipowner_cmd(override: str | None) -> list[str]:
    if override:
        return shlex.split(override)
    exe = Path(sys.executable).with_name("ipowner")
    return [str(exe)] if exe.exists() else [sys.executable, "-c", "from ipowner.cli import main; main()"]


def cli_has_rdap(cmd: list[str]) -> bool:
    """True when `ipowner lookup` itself queries RDAP (its help mentions it)."""
    p = subprocess.run(cmd + ["lookup", "--help"], capture_output=True, text=True, timeout=60)
    return "rdap" in p.stdout.lower()


def driver(args: list[str]) -> int:
    """`ipowner lookup --format jsonl -` through the library API, with the RDAP provider added: for builds
    whose command line does not run RDAP yet. ``--offline`` answers without RDAP."""
    import ipowner
    from ipowner.lookups.lookup import default_providers
    from ipowner.providers.rdap import RdapConfig, RdapProvider

    offline = "--offline" in args
    queries = [a for a in args if not a.startswith("-") and a != "lookup" and a != "jsonl" and a != "json"]
    if "-" in args or not queries:
        queries += [x.strip() for x in sys.stdin if x.strip()]
    providers = default_providers()
    rdap = None
    if not offline:
        rdap = RdapProvider(RdapConfig.from_env())
        providers.append(rdap)
    res = ipowner.lookup(queries, offline=offline, providers=providers)
    for rec in res.records:
        print(json.dumps(rec.to_dict()))
    if rdap is not None:
        print(json.dumps({"rdap_stats": rdap.stats.to_dict()}), file=sys.stderr)
    for p in providers:
        close = getattr(p, "close", None)
        if callable(close):
            close()
    return int(res.exit_code)


def split_stderr(text: str) -> tuple[str, dict | None]:
    """(last line that is not the driver's stats, the driver's RDAP client stats if printed)."""
    stats = None
    last = ""
    for line in text.strip().splitlines():
        if line.startswith('{"rdap_stats"'):
            stats = json.loads(line)["rdap_stats"]
        elif line.strip():
            last = line.strip()
    return last, stats


def run_lookup(cmd: list[str], addrs: list[str], env: dict[str, str], extra: list[str]) -> tuple[float, int, list[dict], str]:
    t = time.perf_counter()
    p = subprocess.run(
        cmd + ["lookup", "--format", "jsonl", *extra, "-"],
        input="\n".join(addrs) + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    wall = time.perf_counter() - t
    recs = []
    for line in p.stdout.splitlines():
        with contextlib.suppress(ValueError):
            recs.append(json.loads(line))
    return wall, p.returncode, recs, p.stderr


def expected_holder(address: str) -> str | None:
    ip = ipaddress.ip_address(address)
    if not ip.is_global or ip.is_multicast:
        return None
    net = rdap_server.network_for(ip)
    return rdap_server.holder_of(net)[1] if net else None


def server_env(srv: rdap_server.RdapServer) -> dict[str, str]:
    """The environment that points ipowner at the server: bootstrap, rewrites and the server's limits."""
    env = dict(os.environ)
    env["IPOWNER_RDAP_BOOTSTRAP"] = srv.bootstrap_url
    env["IPOWNER_RDAP_REWRITE"] = srv.rewrite_env()
    env["IPOWNER_RDAP_LIMITS"] = srv.limits_env()
    return env


def run_once(cmd: list[str], args: list[str], latency: float) -> int:
    with tempfile.TemporaryDirectory(prefix="ipowner-bench-rdap-") as tmp, rdap_server.RdapServer(latency=latency, lifetime=480, public=True) as srv:
        env = server_env(srv)
        env["IPOWNER_CACHE_DIR"] = str(Path(tmp) / "cache")
        env.setdefault("IPOWNER_DATA_DIR", str(Path(tmp) / "data"))
        t = time.perf_counter()
        p = subprocess.run(cmd + args, capture_output=True, text=True, env=env, timeout=600)
        wall = time.perf_counter() - t
        counts = srv.counts()
    err = p.stderr.strip().splitlines()
    print(json.dumps({"wall_seconds": round(wall, 3), "exit": p.returncode, "requests": counts, "stderr_last": err[-1] if err else ""}))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--driver"]:
        return driver(argv[1:])
    ap = argparse.ArgumentParser()
    ap.add_argument("--clusters", type=int, default=240)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--latency", type=float, default=0.03)
    ap.add_argument("--ipowner", help="command that runs ipowner (default: the one next to this Python)")
    ap.add_argument("--arg", action="append", default=[], help="extra argument for `ipowner lookup` (repeatable)")
    ap.add_argument("--run", metavar="ARGS", help="instead: run `ipowner ARGS` once against the server and report its requests")
    a = ap.parse_args(argv)
    cmd = ipowner_cmd(a.ipowner)
    via = "ipowner lookup (command line)"
    if not a.ipowner and not cli_has_rdap(cmd):
        cmd = [sys.executable, str(Path(__file__).resolve()), "--driver"]
        via = "the library API (ipowner.lookup with RdapProvider): this build's `ipowner lookup` does not query RDAP"
    if a.run:
        return run_once(cmd, shlex.split(a.run), a.latency)

    addrs = address_set(a.clusters, a.seed)
    lb = rdap_server.lower_bound(addrs)
    bound = rdap_server.time_bound(lb["requests_per_registry"], a.latency)
    doc: dict = {
        "addresses": len(addrs),
        "distinct": len(set(addrs)),
        "lower_bound": lb,
        "time_bound_seconds": round(bound, 3),
        "latency": a.latency,
        "via": via,
        "limits": {r: f"{n} per {w:g} s ({why})" for r, (n, w, why) in rdap_server.LIMITS.items()},
    }
    with tempfile.TemporaryDirectory(prefix="ipowner-bench-rdap-") as tmp, rdap_server.RdapServer(latency=a.latency, lifetime=480, public=True) as srv:
        env = server_env(srv)
        env["IPOWNER_CACHE_DIR"] = str(Path(tmp) / "cache")
        env.setdefault("IPOWNER_DATA_DIR", str(Path(tmp) / "data"))
        # warm-up outside the measurement: unpack the embedded database, no RDAP
        subprocess.run(cmd + ["lookup", "--offline", "--format", "json", "192.0.2.1"], capture_output=True, env=env, timeout=300)
        srv.reset()
        wall1, rc1, recs1, err1 = run_lookup(cmd, addrs, env, a.arg)
        c1 = srv.counts()
        srv.reset()
        wall2, rc2, recs2, err2 = run_lookup(cmd, addrs, env, a.arg)
        c2 = srv.counts()
    holders = right = 0
    for addr, r in {r.get("address", ""): r for r in recs1}.items():
        want = expected_holder(addr)
        got = (r.get("holder") or {}).get("name")
        if want and got:
            holders += 1
            right += got == want
    doc.update(
        {
            "run1": {"wall_seconds": round(wall1, 3), "exit": rc1, "records": len(recs1), "requests": c1, **dict(zip(("stderr_last", "client_stats"), split_stderr(err1), strict=True))},
            "run2": {"wall_seconds": round(wall2, 3), "exit": rc2, "records": len(recs2), "requests": c2, **dict(zip(("stderr_last", "client_stats"), split_stderr(err2), strict=True))},
            "holders_named": holders,
            "holders_right": right,
            "expected_holders": sum(1 for x in set(addrs) if expected_holder(x)),
        }
    )
    print(json.dumps(doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
