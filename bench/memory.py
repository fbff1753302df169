#!/usr/bin/env python3
"""Peak memory of ``ipowner traffic --format jsonl`` as destinations grow (issue 11, item 8).

For each size it writes a synthetic capture with bench/gen_destinations.py (one UDP datagram per
destination, one device, flows going idle as in a long capture; optionally DNS answers for addresses never
contacted) and reads it in a child process, whose peak resident set comes from ``os.wait4``. The
reference in the same run is the smallest size: the figures are bytes per destination and the ratio of
each peak to the target (``--target-mb``, 1.5 GB by default for 2M destinations).

Usage: python bench/memory.py [--sizes 200000,2000000] [--dns-only 0] [--reader compiled|frame] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def peak_of(cmd: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """(peak resident MB, seconds, exit code) of one child."""
    t0 = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        child = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.PIPE, env=env)
        assert child.stderr is not None
        err = child.stderr.read()
        _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    for line in err.decode(errors="replace").splitlines():
        print(f"    {line[:160]}", file=sys.stderr)
    return usage.ru_maxrss / 1024, time.perf_counter() - t0, child.returncode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="200000,2000000", help="destinations per capture, comma-separated")
    ap.add_argument("--dns-only", type=int, default=0, help="DNS answers naming addresses never contacted")
    ap.add_argument("--reader", choices=["compiled", "frame"], default="compiled")
    ap.add_argument("--target-mb", type=float, default=1536.0)
    ap.add_argument("--keep", metavar="DIR", help="write the captures here (default: a temporary folder)")
    a = ap.parse_args()
    folder = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="ipowner-memory-"))
    folder.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    rows = []
    for n in (int(s) for s in a.sizes.split(",")):
        cap = folder / f"synthetic-destinations-{n}.pcap"
        if not cap.exists():
            subprocess.run([sys.executable, str(HERE / "gen_destinations.py"), str(cap), "--destinations", str(n),
                            "--dns-only", str(a.dns_only)], check=True)
        print(f"{n} destinations ({cap.stat().st_size >> 20} MB):", file=sys.stderr)
        ipowner = str(Path(sys.executable).with_name("ipowner"))  # the console script of this environment
        mb, secs, code = peak_of([ipowner, "traffic", "--format", "jsonl", "--reader", a.reader, str(cap)], env)
        rows.append((n, mb, secs, code))
        if not a.keep:
            cap.unlink()
    base_n, base_mb = rows[0][0], rows[0][1]
    print(f"| destinations | peak RSS (MB) | bytes/destination above the {base_n} run | peak / target "
          f"({a.target_mb:.0f} MB) | seconds | exit |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n, mb, secs, code in rows:
        slope = (mb - base_mb) * 2**20 / (n - base_n) if n != base_n else mb * 2**20 / n
        print(f"| {n} | {mb:.0f} | {slope:.0f} | {mb / a.target_mb:.2f} | {secs:.0f} | {code} |")


if __name__ == "__main__":
    main()
