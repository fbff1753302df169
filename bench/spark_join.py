#!/usr/bin/env python3
"""Spark in local mode against DuckDB on the same flow table and range tables, in the same run.

Uses bench/scale_join.py's flow generator (N flows over M distinct public IPv4/IPv6 addresses, Parquet) and
its range export of the embedded database (both reused from OUT_DIR when present), then times, each in a
child process, wall clock:

- duckdb: ``ipowner enrich FLOWS -o OUT --engine duckdb --ranges RANGES`` (the flows with their facts);
- spark: ``python -m ipowner.engines.spark_submit --master local[K]`` (the same flows with their facts,
  written, then read back for the destinations and the rollups: more work than the DuckDB side).

Both include their start-up (Spark's JVM, DuckDB's import). Prints one JSON object with flows/s and the ratio
spark/duckdb. Usage: spark_join.py OUT_DIR [--flows 10000000] [--distinct 1000000] [--cores 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from scale_join import child_enrich, gen  # noqa: E402


def child_spark(flows: Path, ranges: Path, out: Path, cores: int, memory: str) -> dict:
    if out.exists():
        shutil.rmtree(out)
    cmd = [sys.executable, "-m", "ipowner.engines.spark_submit", "--master", f"local[{cores}]", "--partitions",
           str(cores * 4), "--flows", str(flows), "--ranges", str(ranges), "--out", str(out), "--column", "dst"]
    env = {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_SUBMIT_ARGS": f"--driver-memory {memory} pyspark-shell"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"engine": "spark", "rc": proc.returncode, "stderr": proc.stderr.strip()[-300:], "wall_s": round(wall, 2),
            "cpu_s_python_side": round((after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), 2)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--flows", type=int, default=10_000_000)
    ap.add_argument("--distinct", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--driver-memory", default="4g")
    ap.add_argument("--memory-limit", default="1GB", help="DuckDB's")
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("IPOWNER_NO_SYSTEM_MMDB", "1")
    from ipowner.engines.ranges import export_ranges

    doc: dict = {"flows": a.flows, "distinct": a.distinct, "cores": a.cores, "load_before": os.getloadavg()[0]}
    flows = a.out / f"flows-{a.flows}-{a.distinct}.parquet"
    if not flows.exists():
        doc["gen_s"] = round(gen(flows, a.flows, a.distinct, a.seed), 1)
    ranges = a.out / "ranges"
    if not (ranges / "ranges.parquet").exists():
        t = time.perf_counter()
        export_ranges(ranges, discover=False, rdap_cache=False)
        doc["export_s"] = round(time.perf_counter() - t, 1)
    duck = child_enrich(flows, ranges, a.out / "enriched-duckdb.parquet", "duckdb", a.memory_limit, None)
    spark = child_spark(flows, ranges, a.out / "spark-out", a.cores, a.driver_memory)
    for r in (duck, spark):
        r["flows_per_s"] = round(a.flows / r["wall_s"]) if r["rc"] == 0 else None
    doc["runs"] = [duck, spark]
    if duck["rc"] == 0 and spark["rc"] == 0:
        doc["ratio_spark_wall_vs_duckdb"] = round(spark["wall_s"] / duck["wall_s"], 2)
    doc["load_after"] = os.getloadavg()[0]
    print(json.dumps(doc, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
