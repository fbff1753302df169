#!/usr/bin/env python3
"""The registry table's cost, against the embedded database's in the same run, in CPU time.

- load: reading the shipped registry table (xz, parsed into sorted bounds) against opening the embedded
  .mmdb and reading its metadata (both once per process);
- answers: ``DelegationProvider.facts_many`` against the embedded ``MmdbProvider.facts_many`` over the same
  distinct addresses (the addresses of bench/enrich.py), medians over rotating rounds.

Prints one JSON object. Usage: registry_table.py [--addresses 100000] [--repeats 3] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from enrich import addresses  # noqa: E402
from ipowner._addr import parse_all  # noqa: E402
from ipowner.providers.delegations import DelegationProvider  # noqa: E402
from ipowner.providers.mmdb.reader import MmdbProvider  # noqa: E402
from ipowner.reference import delegation_table  # noqa: E402


def cpu(fn: object) -> float:
    t0 = time.process_time()
    fn()  # type: ignore[operator]
    return time.process_time() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--addresses", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    batch = parse_all(addresses(args.addresses, args.seed))
    loads: dict[str, list[float]] = {"table": [], "mmdb": []}
    runs: dict[str, list[float]] = {"delegations": [], "mmdb": []}
    for _ in range(args.repeats):
        delegation_table._cached.cache_clear()
        loads["table"].append(cpu(lambda: delegation_table.load_table(delegation_table.shipped_table_path())))
        loads["mmdb"].append(cpu(lambda: MmdbProvider((), use_embedded=True, discover=False).close()))
        deleg = DelegationProvider()
        mmdb = MmdbProvider((), use_embedded=True, discover=False)
        runs["delegations"].append(cpu(lambda: deleg.facts_many(batch)))  # noqa: B023
        runs["mmdb"].append(cpu(lambda: mmdb.facts_many(batch)))  # noqa: B023
        mmdb.close()
    med = {k: statistics.median(v) for k, v in {**{f"load_{k}": v for k, v in loads.items()},
                                                 **{f"answers_{k}": v for k, v in runs.items()}}.items()}
    print(json.dumps({
        "addresses": args.addresses, "repeats": args.repeats, "cpu_seconds": {k: round(v, 4) for k, v in med.items()},
        "load_table_vs_mmdb_open": round(med["load_table"] / med["load_mmdb"], 2),
        "answers_delegations_vs_mmdb": round(med["answers_delegations"] / med["answers_mmdb"], 2),
    }, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
