#!/usr/bin/env python3
"""Offline enrichment throughput: ipowner against raw ``maxminddb`` reads, in CPU time.

All sides get the same list of distinct addresses (synthetic: random public IPv4 and IPv6 with a
share of special-purpose ones) and the same database(s), in the same process, rotating rounds
(raw, bulk, lookup; then bulk, lookup, raw; ...); the medians are compared.

- raw: ``maxminddb.open_database(db).get(address)`` for every address on every database (the C
  extension when installed), nothing else.
- bulk: ``ipowner.enrich(addresses)`` iterated to the end, each answer read (the target path):
  parsing, special-purpose ranges, every database with its facts shared per network, the RDAP cache.
- lookup: ``ipowner.lookup(addresses, offline=True)``: the same sources, one ``AddressRecord`` with
  provenance per address (kept as an informative row).

The RDAP cache is ``IPOWNER_CACHE_DIR`` (offline both answer from the cache only). ``--user-db`` adds a
MaxMind-format user database to all sides (raw then reads both databases per address).

Prints one JSON object. Usage: enrich.py [--addresses 100000] [--repeats 3] [--seed 7] [--user-db PATH]
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import random
import statistics
import sys
import time
from pathlib import Path


def addresses(n: int, seed: int) -> list[str]:
    """``n`` distinct addresses: ~78 % public IPv4, ~20 % public IPv6, ~2 % special-purpose."""
    rnd = random.Random(seed)
    out: dict[str, None] = {}
    specials = ["10.", "192.168.", "172.16.", "100.64.", "169.254.", "192.0.2.", "198.51.100.", "fe80::", "fd00::"]
    while len(out) < n:
        r = rnd.random()
        if r < 0.02:
            p = rnd.choice(specials)
            a = p + ".".join(str(rnd.randrange(1, 255)) for _ in range(4 - p.count("."))) if "." in p else p + f"{rnd.getrandbits(16):x}"
        elif r < 0.80:
            ip4 = ipaddress.IPv4Address(rnd.getrandbits(32))
            if not ip4.is_global:
                continue
            a = str(ip4)
        else:
            ip6 = ipaddress.IPv6Address((rnd.choice([0x2001, 0x2400, 0x2600, 0x2800, 0x2A00, 0x2A01, 0x2C0F]) << 112) | rnd.getrandbits(112))
            if not ip6.is_global:
                continue
            a = str(ip6)
        out[a] = None
    return list(out)


def embedded_path() -> Path:
    from ipowner.providers.mmdb.embedded import ensure_unpacked

    return Path(ensure_unpacked())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--addresses", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--user-db", help="a MaxMind-format database added to both sides")
    ap.add_argument("--profile", action="store_true", help="also profile one full run and list where its time goes")
    a = ap.parse_args(argv)

    import maxminddb

    import ipowner

    db = embedded_path()
    addrs = addresses(a.addresses, a.seed)
    dbs = [db] + ([Path(a.user_db)] if a.user_db else [])
    readers = [maxminddb.open_database(str(p)) for p in dbs]
    extra = [a.user_db] if a.user_db else []

    def raw() -> int:
        found = 0
        for r in readers:
            get = r.get
            for x in addrs:
                if get(x) is not None:
                    found += 1
        return found

    rdap_stats: dict = {}

    def full() -> int:
        res = ipowner.lookup(addrs, offline=True, mmdb=extra, discover=False)
        if res.rdap is not None:  # the typed RDAP run (ipowner.model.lookup.RdapRun)
            rdap_stats.update(res.rdap.to_dict())
        return sum(1 for rec in res.records if rec.asn or rec.location.country)

    bulk_api = getattr(ipowner, "enrich", None)

    def bulk() -> int:
        # Every answer is looked at (its ranges and the cache's), as a consumer would.
        found = 0
        for e in bulk_api(addrs, mmdb=extra, discover=False):
            if e.ranges or e.registration is not None:
                found += 1
        return found

    warm_run = None

    def bulk_warm() -> int:
        # The same run object again: every range already met, as in traffic that keeps to a few networks.
        found = 0
        for e in warm_run.run(addrs):
            if e.ranges or e.registration is not None:
                found += 1
        return found

    sides = {"raw": raw, "lookup": full}
    if bulk_api is not None:
        sides["bulk"] = bulk
        warm_run = bulk_api([], mmdb=extra, discover=False)
        sides["bulk_warm"] = bulk_warm
    for fn in sides.values():
        fn()  # warm: unpack check, imports, page cache
    times: dict[str, list[float]] = {k: [] for k in sides}
    found: dict[str, int] = {}
    order = list(sides)
    clock = time.process_time  # CPU time: the machine may be shared
    for i in range(a.repeats):
        for name in order[i % len(order):] + order[: i % len(order)]:
            t = clock()
            found[name] = sides[name]()
            times[name].append(clock() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    n = len(addrs)
    # distinct database ranges met (facts are shared per range, so identities count them)
    new_ranges = len({id(r) for e in warm_run.run(addrs) for r in e.ranges}) if warm_run is not None else 0
    doc = {
        "addresses": n,
        "database": db.name,
        "database_bytes": db.stat().st_size,
        "user_db": a.user_db,
        "maxminddb_mode": type(readers[0]).__module__,
        "clock": "process CPU time",
        "raw_seconds": times["raw"],
        "full_seconds": times["lookup"],
        "bulk_seconds": times.get("bulk"),
        "raw_per_s": n / med["raw"],
        "full_per_s": n / med["lookup"],
        "bulk_per_s": n / med["bulk"] if "bulk" in med else None,
        "ratio": med["raw"] / med["lookup"],  # lookup throughput as a fraction of raw
        "bulk_ratio": med["raw"] / med["bulk"] if "bulk" in med else None,
        "raw_found": found["raw"],
        "full_answered": found["lookup"],
        "bulk_answered": found.get("bulk"),
        "bulk_warm_seconds": times.get("bulk_warm"),
        "new_ranges_share": new_ranges / n,
        "bulk_warm_per_s": n / med["bulk_warm"] if "bulk_warm" in med else None,
        "bulk_warm_ratio": med["raw"] / med["bulk_warm"] if "bulk_warm" in med else None,
        "rdap_cache": {k: rdap_stats.get(k) for k in ("addresses", "from_cache", "not_cached")} if rdap_stats else None,
    }
    if a.profile:
        doc["profile"] = profile_top(full)
        if "bulk" in sides:
            doc["bulk_profile"] = profile_top(bulk)
    print(json.dumps(doc))
    return 0


def profile_top(fn, n: int = 8) -> list[dict]:
    """The functions with the most own time in one call of ``fn`` (cProfile), as shares of the total."""
    import cProfile
    import pstats

    prof = cProfile.Profile()
    prof.runcall(fn)
    st = pstats.Stats(prof)
    total = sum(v[2] for v in st.stats.values()) or 1.0  # type: ignore[attr-defined]
    rows = sorted(st.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:n]  # type: ignore[attr-defined]
    return [{"function": f"{Path(f).name}:{line}({name})", "share": round(v[2] / total, 3), "calls": v[1]} for (f, line, name), v in rows]


if __name__ == "__main__":
    sys.exit(main())
