#!/usr/bin/env python3
"""Peak memory of ``ipowner report --offline`` with the DuckDB engine against the Python engine (issue 16, item 3).

For each size it writes a synthetic capture with bench/gen_destinations.py (one UDP datagram per public IPv4
destination, one device; ``--names`` DNS names per destination) and runs, each in a child process whose peak
resident set comes from ``os.wait4``:

- ``ipowner traffic --format jsonl``: the capture reader alone, the floor any report of the capture pays;
- ``ipowner report --offline --format jsonl --engine python`` (sizes up to ``--python-up-to``);
- ``ipowner report --offline --format jsonl --engine duckdb --memory-limit 512MB``.

The reference in the same run is the Python engine at the same size (ratio duckdb/python) and the issue's
target (2 GB at 2M destinations); the reader's share says where the DuckDB engine's peak comes from. Output
goes to /dev/null; the RDAP cache is an empty folder of the run's own.

Usage: python bench/report_memory.py [--sizes 200000,2000000] [--python-up-to 200000] [--names 0] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from memory import peak_of

HERE = Path(__file__).resolve().parent
TARGET_MB = 2048.0  # issue 16: report on a 2M-destination capture within 2 GB


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="200000,2000000", help="destinations per capture, comma-separated")
    ap.add_argument("--python-up-to", type=int, default=200_000,
                    help="largest size the Python engine runs at (13.8 GB and climbing at 2M, issue 16)")
    ap.add_argument("--names", type=int, default=0, help="DNS names per destination")
    ap.add_argument("--memory-limit", default="512MB")
    ap.add_argument("--keep", metavar="DIR", help="write the captures here (default: a temporary folder)")
    a = ap.parse_args()
    folder = Path(a.keep) if a.keep else Path(tempfile.mkdtemp(prefix="ipowner-report-memory-"))
    folder.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, IPOWNER_CACHE_DIR=str(folder / "cache"))
    ipowner = str(Path(sys.executable).with_name("ipowner"))  # the console script of this environment
    print("| destinations | capture reader MB | python engine MB (s) | duckdb engine MB (s) | duckdb/python | "
          "duckdb/target | reader/duckdb |")
    print("|---|---|---|---|---|---|---|")
    for n in (int(s) for s in a.sizes.split(",")):
        cap = folder / f"synthetic-destinations-{n}-{a.names}.pcap"
        if not cap.exists():
            subprocess.run([sys.executable, str(HERE / "gen_destinations.py"), str(cap), "--destinations", str(n),
                            "--names", str(a.names)], check=True)
        print(f"{n} destinations ({cap.stat().st_size >> 20} MB):", file=sys.stderr)
        reader, _, code = peak_of([ipowner, "traffic", "--format", "jsonl", str(cap)], env)
        assert code == 0, code
        py = None
        if n <= a.python_up_to:
            mb, secs, code = peak_of([ipowner, "report", "--offline", "--format", "jsonl", "--engine", "python",
                                      "-q", str(cap)], env)
            assert code in (0, 4), code
            py = (mb, secs)
        mb, secs, code = peak_of([ipowner, "report", "--offline", "--format", "jsonl", "--engine", "duckdb",
                                  "--memory-limit", a.memory_limit, "--temp-dir", str(folder), "-q", str(cap)], env)
        assert code in (0, 4), code
        ratio = f"{mb / py[0]:.2f}" if py else "-"
        pys = f"{py[0]:.0f} ({py[1]:.0f})" if py else "not run"
        print(f"| {n} | {reader:.0f} | {pys} | {mb:.0f} ({secs:.0f}) | {ratio} | {mb / TARGET_MB:.2f} | "
              f"{reader / mb:.2f} |", flush=True)


if __name__ == "__main__":
    main()
