#!/usr/bin/env python3
"""Check that the capture readers agree: `ipowner.traffic` with the compiled core and with the per-frame
walker (and, with --dpkt, the tests' dpkt oracle) give identical results on each capture given.

Usage: paths_agree.py CAPTURE... [--dpkt]     (exit 1 when any capture differs)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from ipowner import traffic
from ipowner.capture.core import core_available


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("captures", nargs="+")
    ap.add_argument("--dpkt", action="store_true", help="also the tests' dpkt oracle (much slower; needs dpkt)")
    a = ap.parse_args(argv)
    readers: dict[str, Any] = {"frame": lambda cap: traffic([cap], compiled=False)}
    if core_available():
        readers["compiled"] = lambda cap: traffic([cap], compiled=True)
    if a.dpkt:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        from dpkt_oracle import oracle_traffic

        readers["dpkt"] = lambda cap: oracle_traffic([cap])
    bad = 0
    for cap in a.captures:
        out = {}
        for name, read in readers.items():
            t = time.process_time()
            out[name] = read(cap).to_dict()
            print(f"{cap}: {name} reader {time.process_time() - t:.2f} s CPU", file=sys.stderr)
        same = all(v == out["frame"] for v in out.values())
        bad += not same
        doc = out["frame"]
        print(f"{cap}: {'identical' if same else 'DIFFERENT'} ({', '.join(readers)}); "
              f"{doc['inputs'][0]['records']} records, {len(doc['destinations'])} destinations")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
