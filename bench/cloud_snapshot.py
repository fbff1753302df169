#!/usr/bin/env python3
"""What the shipped cloud snapshot costs a lookup, in CPU time, as ratios in one run.

- load: indexing the snapshot once (``CloudRangeProvider(snapshot=True)``, its ~71,000 prefixes), against
  opening the embedded database once (``MmdbProvider``), the reference.
- bulk: ``ipowner.enrich(addresses)`` with the snapshot (the default chain) against the same without it
  (``cloud_snapshot=False``), over the same distinct random public addresses, rotating rounds; medians.

Prints one JSON object. Usage: cloud_snapshot.py [--addresses 50000] [--repeats 3] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time


def addresses(n: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    out: dict[str, None] = {}
    while len(out) < n:
        a = rnd.randrange(1 << 24, 224 << 24)
        out[f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}"] = None
    return list(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--addresses", type=int, default=50_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()

    from ipowner.lookups import enrich as enrich_mod
    from ipowner.lookups.lookup import default_chain
    from ipowner.providers import cloud as cloud_mod
    from ipowner.providers.mmdb.reader import MmdbProvider

    t = time.process_time()
    MmdbProvider((), use_embedded=True, discover=False).close()
    mmdb_open = time.process_time() - t
    cloud_mod._snapshot.cache_clear()
    t = time.process_time()
    with cloud_mod.CloudRangeProvider(snapshot=True) as p:
        prefixes = len(p)
    snapshot_load = time.process_time() - t

    addrs = addresses(args.addresses, args.seed)
    chains = {"with": {}, "without": {"cloud_snapshot": False}}
    times: dict[str, list[float]] = {k: [] for k in chains}
    hits = 0
    original = enrich_mod.default_chain
    for r in range(args.repeats):
        for side in (list(chains) if r % 2 == 0 else list(reversed(chains))):
            extra = chains[side]
            enrich_mod.default_chain = lambda *a, _e=extra, **k: default_chain(*a, **{**k, **_e})  # type: ignore[assignment]
            t = time.process_time()
            with enrich_mod.Enrichment(addrs, discover=False, rdap_cache=False) as run:
                n = sum(1 for e in run if any(f.provider for f in e.ranges))
            times[side].append(time.process_time() - t)
            if side == "with":
                hits = n
    enrich_mod.default_chain = original
    med = {k: statistics.median(v) for k, v in times.items()}
    print(json.dumps({
        "addresses": len(addrs), "snapshot_prefixes": prefixes, "addresses_in_a_cloud_prefix": hits,
        "load_ratio_snapshot_vs_mmdb_open": round(snapshot_load / mmdb_open, 2) if mmdb_open else None,
        "snapshot_load_s": round(snapshot_load, 3), "mmdb_open_s": round(mmdb_open, 3),
        "bulk_ratio_with_vs_without": round(med["with"] / med["without"], 3),
        "bulk_with_s": round(med["with"], 3), "bulk_without_s": round(med["without"], 3),
    }, indent=1))


if __name__ == "__main__":
    main()
