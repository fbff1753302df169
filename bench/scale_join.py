#!/usr/bin/env python3
"""The range join at scale: DuckDB against ``enrich()`` and the raw maxminddb reader, same distinct addresses.

1. A flow table (synthetic): N flows over M distinct public addresses (IPv4 and IPv6, bench/enrich.py's mix),
   written as Parquet by DuckDB itself (``gen``; columns ts, src, dst, bytes; with ``--keyed`` also
   dst_family and dst_key, the keyed flow table of docs/ranges.md).
2. The range table: ``ipowner ranges export`` of the embedded database (timed once; reused when present).
3. On the M distinct addresses, CPU time, rounds rotated, medians compared:
   - raw: ``maxminddb`` ``Reader.get`` on the embedded database, nothing else (the reference);
   - enrich: ``ipowner.enrich()`` iterated to the end;
   - duckdb: the distinct addresses' text parsed (``inet_pton``, once each) and ASOF-joined
     (``engines.duck.join_facts``), wall time (DuckDB runs on every core) and CPU time;
   - duckdb_keyed: the same join given each address's (family, key), as a keyed flow table carries them.
4. The whole flow table through ``ipowner enrich --engine duckdb`` in a child process: wall time, flows/s and
   the child's peak RSS (``getrusage``); with ``--python-flows K`` the Python engine on the first K flows.

Prints one JSON object. Usage: scale_join.py OUT_DIR [--flows 10000000] [--distinct 1000000] [--memory-limit 1GB]
[--keyed]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from enrich import addresses, embedded_path  # noqa: E402


def keys_of(pool: list[str]) -> tuple[list[int], list[bytes]]:
    """(family, 16-byte big-endian key) of each address, as docs/ranges.md's keyed flow tables carry them."""
    fams, keys = [], []
    for a in pool:
        fam = socket.AF_INET6 if ":" in a else socket.AF_INET
        b = socket.inet_pton(fam, a)
        fams.append(6 if fam == socket.AF_INET6 else 4)
        keys.append(b.rjust(16, b"\0"))
    return fams, keys


def flows_path(out_dir: Path, flows: int, distinct: int, keyed: bool) -> Path:
    return out_dir / f"flows-{flows}-{distinct}{'-keyed' if keyed else ''}.parquet"


def gen(out: Path, flows: int, distinct: int, seed: int, keyed: bool = False) -> float:
    """N flows over M distinct addresses as Parquet (with ``dst_family``/``dst_key`` when ``keyed``); returns
    the seconds it took."""
    import duckdb
    import pyarrow as pa

    t = time.perf_counter()
    pool = addresses(distinct, seed)
    cols = {"id": pa.array(range(len(pool)), pa.int64()), "dst": pool}
    if keyed:
        fams, keys = keys_of(pool)
        cols |= {"dst_family": pa.array(fams, pa.int8()), "dst_key": pa.array(keys, pa.binary(16))}
    con = duckdb.connect()
    con.execute("SET memory_limit = '2GB'")  # the sort of N rows spills past it (the machine is shared)
    con.execute(f"SET temp_directory = '{out.parent / 'spill'}'")
    con.register("pool_arrow", pa.table(cols))
    con.execute("CREATE TABLE pool AS SELECT * FROM pool_arrow")
    tmp = out.with_name(out.name + ".part")
    key_cols = " p.dst_family, p.dst_key," if keyed else ""
    con.execute(f"""
        COPY (
          SELECT r.i AS ts, '192.168.1.' || CAST(r.i % 250 + 1 AS VARCHAR) AS src, p.dst,{key_cols}
                 CAST(hash(r.i * 31) % 150000 AS BIGINT) AS bytes
          FROM range({int(flows)}) r(i) JOIN pool p ON p.id = CAST(hash(r.i) % {len(pool)} AS BIGINT)
          ORDER BY r.i
        ) TO '{tmp}' (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)
    """)
    con.close()
    tmp.replace(out)
    return time.perf_counter() - t


def child_enrich(flows: Path, ranges: Path, out: Path, engine: str, memory: str, limit: int | None) -> dict:
    """``ipowner enrich`` in a child process: wall time and its peak RSS."""
    src = flows
    if limit is not None:
        import pyarrow.parquet as pq

        src = flows.with_name(f"flows-first-{limit}.parquet")
        if not src.exists():
            pf = pq.ParquetFile(flows)
            pq.write_table(pf.read_row_groups([0]).slice(0, limit), src)
    cmd = [sys.executable, "-c", "from ipowner.cli import main; main()", "enrich", str(src), "-o", str(out),
           "--engine", engine, "--memory-limit", memory, "--temp-dir", str(out.parent / "spill"),
           "--no-system-mmdb", "--no-rdap-cache"]
    if engine == "duckdb":
        cmd += ["--ranges", str(ranges)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    # The child's own peak: VmHWM of its process after exec (ru_maxrss of children would count the parent's
    # pages the fork shared before the exec), polled until it ends.
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            pass
        time.sleep(0.2)
    _out, err = proc.communicate()
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"engine": engine, "rc": proc.returncode, "stderr": err.strip()[-300:], "wall_s": round(wall, 2),
            "cpu_s": round((after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime), 2),
            "peak_rss_mb": round(peak / 1024, 1), "rows": limit}


def module_at(rev: str) -> types.ModuleType:
    """engines/duck.py as it was at a git revision, loaded beside the current one."""
    text = subprocess.run(["git", "-C", str(HERE.parent), "show", f"{rev}:src/ipowner/engines/duck.py"],
                          capture_output=True, text=True, check=True).stdout
    mod = types.ModuleType("duck_at_" + rev)
    sys.modules[mod.__name__] = mod  # dataclasses look their module up there
    exec(compile(text, f"{rev}:duck.py", "exec"), mod.__dict__)  # noqa: S102  (our own file, from our own history)
    return mod


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--flows", type=int, default=10_000_000)
    ap.add_argument("--distinct", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--memory-limit", default="1GB")
    ap.add_argument("--python-flows", type=int, default=0, help="also the Python engine on the first K flows")
    ap.add_argument("--skip-distinct", action="store_true", help="only the flow table runs")
    ap.add_argument("--compare-rev", metavar="GIT_REV",
                    help="also time engines/duck.py's join_facts as it was at that revision (before/after)")
    ap.add_argument("--keyed", action="store_true",
                    help="the flow table carries dst_family/dst_key (docs/ranges.md), so the join parses no text")
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("IPOWNER_NO_SYSTEM_MMDB", "1")

    import maxminddb

    import ipowner
    from ipowner.engines import duck
    from ipowner.engines.ranges import export_ranges

    doc: dict = {"flows": a.flows, "distinct": a.distinct, "memory_limit": a.memory_limit}
    flows = flows_path(a.out, a.flows, a.distinct, a.keyed)
    doc["keyed"] = a.keyed
    if not flows.exists():
        doc["gen_s"] = round(gen(flows, a.flows, a.distinct, a.seed, a.keyed), 1)
    doc["flows_mb"] = round(flows.stat().st_size / 1e6, 1)
    ranges = a.out / "ranges"
    if not (ranges / "ranges.parquet").exists():
        t = time.perf_counter()
        summary = export_ranges(ranges, discover=False, rdap_cache=False)
        doc["export_s"] = round(time.perf_counter() - t, 1)
        doc["export_rows"] = {k: v for k, v in summary.rows.items()}
    doc["export_peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)

    if not a.skip_distinct:
        addrs = addresses(a.distinct, a.seed)
        reader = maxminddb.open_database(str(embedded_path()))

        def raw() -> None:
            get = reader.get
            for x in addrs:
                get(x)

        def bulk() -> None:
            for e in ipowner.enrich(addrs, discover=False, rdap_cache=False):
                e.ranges  # noqa: B018  (each answer is looked at)

        import pyarrow as pa

        fams, keys = keys_of(addrs)
        table = pa.table({"address": addrs, "family": pa.array(fams, pa.int8()), "key": pa.array(keys, pa.binary())})
        wall: dict[str, list[float]] = {"duckdb": [], "duckdb_keyed": []}

        def sql(name: str, cols: str) -> None:
            con = duck.connect(a.memory_limit, a.out / "spill")
            con.register("given", table)
            con.execute(f"CREATE TEMP TABLE distinct_addr AS SELECT {cols} FROM given")
            t = time.perf_counter()
            duck.join_facts(con, ranges, summary=duck.JoinSummary())
            wall[name].append(time.perf_counter() - t)
            con.close()

        # duckdb: the address text parsed once per distinct address; duckdb_keyed: the keys given, as a keyed
        # flow table carries them
        sides = {"raw": raw, "enrich": bulk, "duckdb": lambda: sql("duckdb", "address"),
                 "duckdb_keyed": lambda: sql("duckdb_keyed", "address, family, key")}
        if a.compare_rev:
            before = module_at(a.compare_rev)
            wall["duckdb_before"] = []

            def sql_before() -> None:
                con = before.connect(a.memory_limit, a.out / "spill")
                con.register("given", table)
                con.execute("CREATE TEMP TABLE distinct_addr AS SELECT address FROM given")
                t = time.perf_counter()
                before.join_facts(con, ranges, summary=before.JoinSummary())
                wall["duckdb_before"].append(time.perf_counter() - t)
                con.close()

            sides["duckdb_before"] = sql_before
            doc["compare_rev"] = a.compare_rev
        times: dict[str, list[float]] = {k: [] for k in sides}
        order = list(sides)
        for i in range(a.repeats):
            for name in order[i % len(order):] + order[:i % len(order)]:
                t = time.process_time()
                sides[name]()
                times[name].append(time.process_time() - t)
        med = {k: statistics.median(v) for k, v in times.items()}
        n = len(addrs)
        doc["distinct_per_s_cpu"] = {k: round(n / v) for k, v in med.items()}
        for name, w in wall.items():
            doc[f"{name}_distinct_per_s_wall"] = round(n / statistics.median(w))
            doc[f"ratio_{name}_cpu_vs_raw"] = round(med["raw"] / med[name], 2)
            doc[f"ratio_{name}_wall_vs_raw_cpu"] = round(med["raw"] / statistics.median(w), 2)
        doc["ratio_enrich_vs_raw"] = round(med["raw"] / med["enrich"], 2)

    runs = [child_enrich(flows, ranges, a.out / "enriched-duckdb.parquet", "duckdb", a.memory_limit, None)]
    if a.python_flows:
        runs.append(child_enrich(flows, ranges, a.out / "enriched-python.parquet", "python", a.memory_limit,
                                 a.python_flows))
        runs.append(child_enrich(flows, ranges, a.out / "enriched-duckdb-k.parquet", "duckdb", a.memory_limit,
                                 a.python_flows))
    for r in runs:
        rows = r["rows"] or a.flows
        r["rows"] = rows
        r["flows_per_s"] = round(rows / r["wall_s"]) if r["rc"] == 0 else None
    doc["enrich_command"] = runs
    print(json.dumps(doc, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
