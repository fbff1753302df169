#!/usr/bin/env python3
"""How much of capture reading is payload inspection, and how that compares with another source tree.

Runs ``ipowner.traffic([CAPTURE], compiled=False)`` (the per-frame walker; ``--reader compiled`` for the
compiled core) in fresh processes: once plain for the wall time, once with ``Engine.inspect`` wrapped by a
timer for the time spent inspecting payloads (DNS answers, ClientHellos, HTTP heads, server
certificates, QUIC Initials). With ``--reference SRC`` (the ``src`` folder of another checkout, e.g.
a ``git worktree`` of an older commit) the two trees alternate, one process per run, so a busy
machine slows both alike, and the ratios reference/this are printed.

Usage: payload_share.py CAPTURE [--reader frame|compiled] [--rounds 5] [--reference OTHER/src] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

_CHILD = r"""
import json, sys
from time import perf_counter
import ipowner
from ipowner.capture import engine as _engine

path = sys.argv[1]
kw = {"frame": {"compiled": False}, "compiled": {"compiled": True}}[sys.argv[2]]
if sys.argv[2] == "frame" and "batch" in __import__("inspect").signature(ipowner.traffic).parameters:
    kw = {"batch": False}  # a tree from before the batch reader was removed
t = perf_counter()
ipowner.traffic([path], **kw)
wall = perf_counter() - t
spent = [0.0, 0, 0]  # seconds, outermost calls, nesting depth


def timer(method):
    def timed(*args):
        if spent[2]:
            return method(*args)  # inspect handing a DNS datagram to dns_payload: counted once
        spent[2] = 1
        t0 = perf_counter()
        try:
            return method(*args)
        finally:
            spent[0] += perf_counter() - t0
            spent[1] += 1
            spent[2] = 0
    return timed


# what the readers hand to Python for payloads: inspect, and from the compiled reader also DNS datagrams
# and ClientHellos it read itself (only their names are recorded in Python)
for name in ("inspect", "dns_payload", "core_hello"):
    if hasattr(_engine.Engine, name):
        setattr(_engine.Engine, name, timer(getattr(_engine.Engine, name)))
ipowner.traffic([path], **kw)
print(json.dumps({"wall": wall, "inspect": spent[0], "calls": spent[1], "module": ipowner.__file__}))
"""


def run_once(capture: str, src: str | None, reader: str = "frame") -> dict:
    env = dict(os.environ)
    if src:
        env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", _CHILD, capture, reader], env=env, capture_output=True, text=True,
                         check=True, timeout=3600)
    return json.loads(out.stdout.strip().splitlines()[-1])


def summary(runs: list[dict]) -> dict:
    walls = [r["wall"] for r in runs]
    spent = [r["inspect"] for r in runs]
    return {"wall_min": min(walls), "wall_median": statistics.median(walls), "inspect_min": min(spent),
            "inspect_median": statistics.median(spent), "inspect_calls": runs[0]["calls"],
            "inspect_share": statistics.median(spent) / statistics.median(walls), "module": runs[0]["module"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("capture")
    ap.add_argument("--reader", choices=("frame", "compiled"), default="frame")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reference", help="the src folder of the tree to compare with")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    if not Path(args.capture).is_file():
        print(f"payload_share: {args.capture}: no such file", file=sys.stderr)
        return 2
    this_src = str(Path(__file__).resolve().parents[1] / "src")
    runs: dict[str, list[dict]] = {"this": [], "reference": []}
    for _ in range(args.rounds):
        runs["this"].append(run_once(args.capture, this_src, args.reader))
        if args.reference:
            runs["reference"].append(run_once(args.capture, args.reference, args.reader))
    result = {k: summary(v) for k, v in runs.items() if v}
    if args.reference:
        this, ref = result["this"], result["reference"]
        result["ratio_reference_over_this"] = {
            "wall_median": ref["wall_median"] / this["wall_median"],
            "inspect_median": ref["inspect_median"] / this["inspect_median"],
        }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    for name, s in result.items():
        if name.startswith("ratio"):
            print(f"reference / this: wall {s['wall_median']:.2f}x, inspect {s['inspect_median']:.2f}x (medians)")
            continue
        print(f"{name:9} wall {s['wall_median']:.2f} s (min {s['wall_min']:.2f}); inspect {s['inspect_median']:.3f} s "
              f"(min {s['inspect_min']:.3f}) over {s['inspect_calls']} calls, {s['inspect_share']:.0%} of the wall "
              f"time  [{s['module']}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
