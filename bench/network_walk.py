#!/usr/bin/env python3
"""A network summary's cost per block, against ``ipowner.enrich`` of as many addresses, in CPU time.

``ipowner lookup 8.0.0.0/8`` walks the network block by block (special-purpose segments, each database's
tree, facts joined); the reference is the bulk offline path over the same number of addresses (the first
address of each block the walk found), in the same process, rounds alternating, medians compared. Both use
the embedded database and no RDAP cache. The ratio says what one block of a summary costs next to one
address of a bulk enrichment.

Prints one JSON object. Usage: network_walk.py [--network 8.0.0.0/8] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import ipowner
from ipowner.lookups.queries import parse_item


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--network", default="8.0.0.0/8")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    query = parse_item(args.network)
    first = ipowner.lookup(query, offline=True, discover=False, rdap=False)
    net = first.networks[0]
    starts = [b.first for b in net.blocks]
    walk: list[float] = []
    bulk: list[float] = []
    for r in range(args.rounds):
        for side in (("walk", "bulk") if r % 2 == 0 else ("bulk", "walk")):
            t0 = time.process_time()
            if side == "walk":
                ipowner.lookup(query, offline=True, discover=False, rdap=False)
                walk.append(time.process_time() - t0)
            else:
                with ipowner.enrich(starts, discover=False, rdap_cache=False) as run:
                    for e in run:
                        e.country  # noqa: B018 - read each answer, as a caller would
                bulk.append(time.process_time() - t0)
    w, b = statistics.median(walk), statistics.median(bulk)
    print(json.dumps({
        "network": net.network, "blocks": len(net.blocks), "complete": net.complete, "rounds": args.rounds,
        "walk_cpu_s": round(w, 4), "enrich_same_count_cpu_s": round(b, 4),
        "walk_over_enrich": round(w / b, 2) if b else None,
    }))


if __name__ == "__main__":
    main()
