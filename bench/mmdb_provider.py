#!/usr/bin/env python3
"""MmdbProvider.enrich throughput against raw ``maxminddb`` ``get`` on the same database.

Same random public addresses (80 % IPv4, 20 % IPv6), same database (the embedded default unless
``--db``), same process; median of alternating rounds. Records are built before timing, so the
figure is the provider's own cost: lookup, mapping, provenance. Prints one JSON object.

Usage: mmdb_provider.py [--addresses 200000] [--repeats 3] [--db PATH]
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import random
import statistics
import sys
import time


def addresses(n: int, seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    out: list[str] = []
    while len(out) < n:
        if rnd.random() < 0.8:
            ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.IPv4Address(rnd.getrandbits(32))
        else:
            ip = ipaddress.IPv6Address((rnd.choice([0x2001, 0x2400, 0x2600, 0x2A00, 0x2A01]) << 112) | rnd.getrandbits(112))
        if ip.is_global:
            out.append(str(ip))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--addresses", type=int, default=200_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--db", help="a MaxMind-format database (default: the embedded one)")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="cpu",
                    help="cpu (process time) is steadier on a shared machine; wall for an idle one")
    a = ap.parse_args(argv)

    import maxminddb

    from ipowner.model import AddressRecord
    from ipowner.providers.mmdb.embedded import ensure_unpacked
    from ipowner.providers.mmdb.reader import MmdbProvider

    path = a.db or str(ensure_unpacked())
    addrs = addresses(a.addresses)
    reader = maxminddb.open_database(path, maxminddb.MODE_AUTO)
    provider = MmdbProvider([path] if a.db else [], use_embedded=not a.db, discover=False)

    clock = time.process_time if a.clock == "cpu" else time.perf_counter

    def raw() -> float:
        get = reader.get
        t = clock()
        for x in addrs:
            get(x)
        return clock() - t

    def via_provider() -> float:
        recs = [AddressRecord(query=x, address=x) for x in addrs]
        t = clock()
        provider.enrich(recs)
        return clock() - t

    raw(), via_provider()  # warm the page cache
    t_raw, t_prov = [], []
    for i in range(a.repeats):
        order = (raw, via_provider) if i % 2 == 0 else (via_provider, raw)
        for fn in order:
            (t_raw if fn is raw else t_prov).append(fn())
    m_raw, m_prov = statistics.median(t_raw), statistics.median(t_prov)
    print(json.dumps({
        "database": path,
        "reader": type(reader).__module__ + "." + type(reader).__name__,
        "addresses": len(addrs),
        "clock": a.clock,
        "raw_get_per_s": round(len(addrs) / m_raw),
        "provider_enrich_per_s": round(len(addrs) / m_prov),
        "ratio": round(m_raw / m_prov, 3),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
