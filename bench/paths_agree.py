#!/usr/bin/env python3
"""Check that the capture readers agree: `ipowner.traffic` with the batch reader and with the per-frame
reader (and, with --dpkt, the slow dpkt reader) give identical results on each capture given.

Usage: paths_agree.py CAPTURE... [--dpkt]     (exit 1 when any capture differs)
"""

from __future__ import annotations

import argparse
import sys
import time

from ipowner import traffic


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("captures", nargs="+")
    ap.add_argument("--dpkt", action="store_true", help="also the slow dpkt reader (much slower)")
    a = ap.parse_args(argv)
    bad = 0
    for cap in a.captures:
        runs = {"batch": {"batch": True}, "frame": {"batch": False}}
        if a.dpkt:
            runs["dpkt"] = {"fast": False}
        out = {}
        for name, kw in runs.items():
            t = time.process_time()
            out[name] = traffic([cap], **kw).to_dict()
            print(f"{cap}: {name} reader {time.process_time() - t:.2f} s CPU", file=sys.stderr)
        same = all(v == out["batch"] for v in out.values())
        bad += not same
        doc = out["batch"]
        print(f"{cap}: {'identical' if same else 'DIFFERENT'} ({', '.join(runs)}); "
              f"{doc['inputs'][0]['records']} records, {len(doc['destinations'])} destinations")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
