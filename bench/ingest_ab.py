#!/usr/bin/env python3
"""Capture ingest, A/B: CPU time (user + system, all threads) of `ipowner traffic --format json` with each
capture reader (the compiled core, the per-frame walker), against `tshark -n -q -z conv,ip`, on the same
capture; with --reference, the same readers of another source tree (e.g. a `git worktree` of main) too.

CPU time rather than wall time because the machine may be shared; the commands alternate (A B C, B C A,
C A B, ...) and medians are compared. Peak RSS comes from the same wait4() call.

Usage: ingest_ab.py CAPTURE [CAPTURE...] [--rounds 3] [--reference OTHER/src] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

PY = sys.executable


def ipowner(src: str | None = None) -> list[str]:
    """The ipowner command of this installation, or of the source tree ``src``."""
    if src is not None:
        return [PY, "-c", f"import sys; sys.path.insert(0, {src!r}); from ipowner.cli import main; main()"]
    exe = Path(PY).with_name("ipowner")
    return [str(exe)] if exe.exists() else [PY, "-c", "from ipowner.cli import main; main()"]


def run(cmd: list[str]) -> tuple[float, float]:
    """(CPU seconds, peak RSS in MB) of one run of ``cmd``."""
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode not in (0, 4):
        raise SystemExit(f"{cmd[0]} exited {p.returncode}")
    return ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("captures", nargs="+")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--reference", metavar="SRC", help="another source tree whose readers alternate with these")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    tools = {r: [*ipowner(), "traffic", "--format", "json", "--reader", r] for r in ("compiled", "frame")}
    if a.reference:
        for r in ("compiled", "frame"):
            tools[f"{r}@ref"] = [*ipowner(a.reference), "traffic", "--format", "json", "--reader", r]
    for t in [t for t in tools if t.startswith("compiled")]:
        probe = subprocess.run([*tools[t], os.devnull], capture_output=True, text=True)
        if probe.returncode == 2:  # not built, or disabled
            del tools[t]
    if shutil.which("tshark"):
        tools["tshark"] = ["tshark", "-n", "-q", "-z", "conv,ip", "-r"]
    out = {}
    for cap in a.captures:
        doc = json.loads(subprocess.run([*ipowner(), "traffic", "--format", "json", "--no-timeline", cap],
                                        capture_output=True, text=True).stdout)
        packets = doc["inputs"][0]["records"]
        names = list(tools)
        runs: dict[str, list[tuple[float, float]]] = {t: [] for t in names}
        for i in range(a.rounds):
            for t in names[i % len(names) :] + names[: i % len(names)]:
                runs[t].append(run([*tools[t], cap]))
        cpu = {t: statistics.median(c for c, _ in r) for t, r in runs.items()}
        res = {
            "packets": packets,
            "cpu_s": {t: round(v, 3) for t, v in cpu.items()},
            "pkt_per_s": {t: round(packets / v) for t, v in cpu.items()},
            "peak_rss_mb": {t: round(max(m for _, m in r)) for t, r in runs.items()},
            "vs_frame": {t: round(cpu["frame"] / cpu[t], 2) for t in names if t != "tshark"},
        }
        if a.reference:
            res["vs_reference"] = {r: round(cpu[r + "@ref"] / cpu[r], 3) for r in ("compiled", "frame")
                                   if r in cpu and r + "@ref" in cpu}
        if "tshark" in cpu:
            res["vs_tshark"] = {t: round(cpu["tshark"] / cpu[t], 2) for t in names if t != "tshark"}
        out[cap] = res
        if not a.json:
            print(f"{cap}: {packets:,} packets, {a.rounds} rounds, medians of CPU time")
            for t in names:
                print(f"  {t:12s} {cpu[t]:6.2f} s  {packets / cpu[t] / 1e3:7.0f}k pkt/s  peak RSS {res['peak_rss_mb'][t]} MB")
            if a.reference:
                print("  this tree vs the reference (>1: this one is faster): "
                      + ", ".join(f"{r} {cpu[r + '@ref'] / cpu[r]:.3f}x" for r in ("compiled", "frame")
                                  if r in cpu and r + "@ref" in cpu))
            print("  speed-up over the per-frame reader: "
                  + ", ".join(f"{t} {v}x" for t, v in res["vs_frame"].items() if t != "frame")
                  + ("; vs tshark: " + ", ".join(f"{t} {v}x" for t, v in res["vs_tshark"].items())
                     if "tshark" in cpu else ""))
    if a.json:
        print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
