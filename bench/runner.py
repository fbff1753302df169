#!/usr/bin/env python3
"""ipowner's benchmarks in one run: prints a table and writes bench/RESULTS.md.

Every figure is a ratio against a reference measured in the same run on the same input, because
absolute times mean little on shared machines: timed commands alternate (A B C, B C A, ...) and the
medians are compared. Peak RSS comes from ``/usr/bin/time -f %M``.

1. capture ingest: ``ipowner traffic`` on a synthetic capture (bench/gen_capture.py) against
   ``tshark -n -q -z conv,ip`` and bench/struct_loop.py; peak RSS at 1M and 10M packets;
   correctness against the generator's truth.
2. offline enrichment: ``ipowner.enrich()`` (bulk) and ``ipowner.lookup(offline=True)`` against raw
   ``maxminddb`` reads, in CPU time (bench/enrich.py).
3. RDAP economy: requests and wall time against the loopback server's bounds (bench/rdap_economy.py),
   in a network namespace with only loopback when ``unshare -n`` is allowed.
4. end to end: ``ipowner report`` on a real capture from tests/data, offline and with the loopback server.

A feature that is not there yet gives a row "not measured: <reason>"; nothing is estimated.
Usage: bench/run [--packets 1000000] [--big 10000000] [--repeats 3] [--quick] [--budget 570]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
PY = sys.executable
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
T0 = time.perf_counter()


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def ipowner() -> list[str]:
    exe = Path(PY).with_name("ipowner")
    return [str(exe)] if exe.exists() else [PY, "-c", "from ipowner.cli import main; main()"]


@dataclass
class Run:
    wall: float
    rss_mb: float | None
    rc: int
    err: str = ""


def timed(cmd: list[str], *, stdout: Any = subprocess.DEVNULL, stdin: Any = None, env: dict[str, str] | None = None, timeout: float = 900) -> Run:
    """Run ``cmd``; wall time by perf_counter, peak RSS of the process by /usr/bin/time."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rssf:
        full = [GNU_TIME, "-f", "%M", "-o", rssf.name, *cmd] if GNU_TIME else cmd
        t = time.perf_counter()
        p = subprocess.run(full, stdout=stdout, stdin=stdin, stderr=subprocess.PIPE, env=env, timeout=timeout)
        wall = time.perf_counter() - t
        rss = None
        if GNU_TIME:
            lines = [x for x in rssf.read().split("\n") if x.strip()]
            if lines and lines[-1].strip().isdigit():
                rss = int(lines[-1]) / 1024
    err = p.stderr.decode(errors="replace").strip().splitlines()
    return Run(wall, rss, p.returncode, err[-1] if err else "")


def peak(runs: list[Run]) -> float | None:
    vals = [r.rss_mb for r in runs if r.rss_mb is not None]
    return max(vals) if vals else None


def mb(x: float | None) -> str:
    return f"{x:.0f} MB" if x is not None else "not measured: no /usr/bin/time"


def med(runs: list[Run]) -> float:
    return statistics.median(r.wall for r in runs)


def has_command(name: str) -> bool:
    try:
        return subprocess.run([*ipowner(), name, "--help"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@dataclass
class Row:
    section: str
    what: str
    result: str
    reference: str = ""
    ratio: str = ""
    target: str = ""
    met: str = ""  # "yes" | "no" | "" (no target) | "n/a"


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    def row(self, *a: Any, **k: Any) -> None:
        self.rows.append(Row(*a, **k))

    def note(self, section: str, text: str) -> None:
        self.notes.setdefault(section, []).append(text)

    def missing(self, section: str, what: str, reason: str, target: str = "") -> None:
        self.rows.append(Row(section, what, f"not measured: {reason}", target=target, met="n/a"))


def fmt_rate(x: float) -> str:
    return f"{x / 1e6:.2f}M" if x >= 1e6 else f"{x / 1e3:.0f}k"


# ---------------------------------------------------------------- machine


def machine() -> dict[str, str]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "unknown"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    tshark = "not installed"
    if shutil.which("tshark"):
        out = subprocess.run(["tshark", "--version"], capture_output=True, text=True).stdout
        tshark = out.splitlines()[0] if out else "unknown"
    try:
        import maxminddb

        mm = maxminddb.__version__
        try:
            import maxminddb.extension  # noqa: F401

            mm += " (C extension)"
        except ImportError:
            mm += " (pure Python)"
    except ImportError:
        mm = "not installed"
    try:
        import ipowner

        ipv = ipowner.__version__
    except ImportError:
        ipv = "not installed"
    rev = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": mem,
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "tshark": tshark,
        "ipowner": f"{ipv} (git {rev}{', uncommitted changes' if dirty else ''})",
        "maxminddb": mm,
    }


# ---------------------------------------------------------------- 1. ingest


def ingest(res: Results, work: Path, a: argparse.Namespace, deadline: float) -> None:
    S = "1. capture ingest"
    traffic = has_command("traffic")
    tshark = shutil.which("tshark")
    files: dict[str, dict[str, Any]] = {}
    for fmt in ("pcapng", "pcap"):
        path = work / f"synthetic-{a.packets}.{fmt}"
        truth = work / f"synthetic-{a.packets}.{fmt}.truth.json"
        r = timed([PY, str(BENCH / "gen_capture.py"), "--packets", str(a.packets), "--format", fmt, str(path), "--truth", str(truth), "--quiet"])
        if r.rc:
            raise SystemExit(f"gen_capture failed: {r.err}")
        files[fmt] = {"path": path, "truth": json.loads(truth.read_text()), "size": path.stat().st_size, "gen": r.wall}
        log(f"generated {path.name}: {path.stat().st_size / 1e6:.0f} MB in {r.wall:.1f} s")
    t0 = files["pcapng"]["truth"]
    res.note(
        S,
        f"Synthetic capture: {a.packets:,} packets, {sum(t0['flow_kinds'].values()):,} flows ({', '.join(f'{k} {v}' for k, v in t0['flow_kinds'].items())}), "
        f"{sum(1 for v in t0['remotes'].values() if v['scope'] == 'internet'):,} internet destinations; pcapng "
        f"{files['pcapng']['size'] / 1e6:.0f} MB (Ethernet with VLAN tags, SLL2 and a snaplen-128 interface), pcap "
        f"{files['pcap']['size'] / 1e6:.0f} MB (all Ethernet). Generated in {files['pcapng']['gen']:.1f} s and {files['pcap']['gen']:.1f} s.",
    )

    # correctness of the reference loop and of ipowner traffic against the generator's truth
    for fmt, f in files.items():
        out = subprocess.run([PY, str(BENCH / "struct_loop.py"), str(f["path"]), "--json"], capture_output=True, text=True)
        eps = json.loads(out.stdout)["endpoints"]
        ok = eps == f["truth"]["endpoints"]
        res.note(S, f"struct loop on the {fmt}: per-address frames and bytes {'equal' if ok else 'DIFFER from'} the generator's truth ({len(eps)} addresses).")

    tools: dict[str, list[str]] = {}
    compiled = False
    if traffic:
        tools["ipowner traffic"] = [*ipowner(), "traffic", "--format", "json"]
        probe = subprocess.run([*ipowner(), "traffic", "--reader", "compiled", os.devnull], capture_output=True, text=True)
        compiled = probe.returncode != 2  # 2: the compiled reader is not built, or disabled
        res.note(S, "ipowner traffic read the captures with "
                 + ("its compiled core (capture/_core.c); the row 'pure-Python readers' is the same command "
                    "with `--reader frame`, as installed without a C compiler." if compiled else
                    "its pure-Python reader: the compiled core is not built (or disabled) in this installation."))
        if compiled:
            tools["ipowner traffic, pure Python"] = [*ipowner(), "traffic", "--format", "json", "--reader", "frame"]
    if tshark:
        tools["tshark conv,ip"] = ["tshark", "-n", "-q", "-z", "conv,ip", "-r"]
    tools["struct loop"] = [PY, str(BENCH / "struct_loop.py")]
    runs: dict[str, dict[str, list[Run]]] = {fmt: {t: [] for t in tools} for fmt in files}
    names = list(tools)
    for fmt, f in files.items():
        for i in range(a.repeats):
            order = names[i % len(names) :] + names[: i % len(names)]
            for t in order:
                cmd = [*tools[t], str(f["path"])]
                if t == "ipowner traffic" and i == 0:
                    outp = work / f"traffic-{fmt}.json"
                    with open(outp, "wb") as fh:
                        r = timed(cmd, stdout=fh)
                    f["traffic_out"] = outp
                else:
                    r = timed(cmd)
                runs[fmt][t].append(r)
                log(f"{fmt} {t}: {r.wall:.2f} s, {r.rss_mb or 0:.0f} MB, exit {r.rc}")
    res.raw["ingest_runs"] = {fmt: {t: [(round(r.wall, 3), r.rss_mb, r.rc) for r in rs] for t, rs in v.items()} for fmt, v in runs.items()}

    for fmt, f in files.items():
        n, size = f["truth"]["packets"], f["size"]
        ref = {t: med(rs) for t, rs in runs[fmt].items()}
        if not traffic:
            res.missing(S, f"ipowner traffic, {fmt} {n / 1e6:g}M packets", "`ipowner traffic` is not in this build", "≥ 3x tshark")
        else:
            mine = ref["ipowner traffic"]
            bad = [r for r in runs[fmt]["ipowner traffic"] if r.rc not in (0,)]
            pps = n / mine
            if tshark:
                ratio = ref["tshark conv,ip"] / mine
                res.row(
                    S,
                    f"ipowner traffic, {fmt}, {n / 1e6:g}M packets",
                    f"{fmt_rate(pps)} pkt/s, {size / 1e6 / mine:.0f} MB/s",
                    f"tshark {fmt_rate(n / ref['tshark conv,ip'])} pkt/s",
                    f"{ratio:.2f}x tshark",
                    "≥ 3x tshark",
                    "yes" if ratio >= 3 else "no",
                )
            res.row(
                S,
                f"ipowner traffic vs the struct loop, {fmt}",
                f"{fmt_rate(pps)} pkt/s",
                f"struct loop {fmt_rate(n / ref['struct loop'])} pkt/s",
                f"{ref['struct loop'] / mine:.2f}x its speed",
                "",
                "",
            )
            if compiled and tshark:
                py = ref["ipowner traffic, pure Python"]
                res.row(S, f"ipowner traffic, pure-Python readers, {fmt}", f"{fmt_rate(n / py)} pkt/s",
                        f"tshark {fmt_rate(n / ref['tshark conv,ip'])} pkt/s", f"{ref['tshark conv,ip'] / py:.2f}x tshark",
                        "", "")
            if bad:
                res.note(S, f"ipowner traffic exited {bad[0].rc} on the {fmt} ({bad[0].err}).")
            if tshark:
                us = {t: v / n * 1e6 for t, v in ref.items()}
                res.note(
                    S,
                    f"{fmt}, wall time per packet (medians, process start included): ipowner traffic {us['ipowner traffic']:.1f} µs, "
                    f"tshark {us['tshark conv,ip']:.1f} µs, struct loop {us['struct loop']:.1f} µs. 3x tshark means at most "
                    f"{us['tshark conv,ip'] / 3:.1f} µs per packet, {us['tshark conv,ip'] / 3 / us['struct loop']:.1f}x the bare loop's cost.",
                )
            check_traffic(res, S, fmt, f)
        if tshark:
            tr = runs[fmt]["tshark conv,ip"]
            res.row(S, f"tshark conv,ip, {fmt}", f"{fmt_rate(n / ref['tshark conv,ip'])} pkt/s", f"struct loop {fmt_rate(n / ref['struct loop'])} pkt/s", f"{ref['struct loop'] / ref['tshark conv,ip']:.2f}x its speed")
            trss = peak(tr)
            res.row(S, f"peak RSS at {n / 1e6:g}M, {fmt}: tshark", mb(trss), "", f"{trss * 1024 / n:.2f} KB/packet" if trss is not None else "")
        if traffic:
            res.row(S, f"peak RSS at {n / 1e6:g}M, {fmt}: ipowner traffic", mb(peak(runs[fmt]["ipowner traffic"])), f"struct loop {mb(peak(runs[fmt]['struct loop']))}")
    if not tshark:
        res.note(S, "tshark is not installed: the ratio to tshark is not measured (install Debian's tshark package).")
    if traffic:
        res.note(S, "Where ipowner traffic's time goes (cProfile on the first 100,000 packets of the pcapng, own time): " + profile_traffic(work) + ".")

    # the big capture: memory must follow destinations, not packets
    if not traffic:
        res.missing(S, f"peak RSS at {a.big / 1e6:g}M packets", "`ipowner traffic` is not in this build", "< 300 MB")
        return
    # Streamed from the generator through a pipe (`ipowner traffic -`): no multi-GB file, and the two
    # run side by side, so the time is the slower of the two (plus sharing the CPU).
    per_pkt = max(files["pcapng"]["gen"], med(runs["pcapng"]["ipowner traffic"])) / a.packets
    left = deadline - time.perf_counter() - a.reserve
    big = a.big
    if big * per_pkt * 1.4 > left:
        big = max(a.packets, int(left / (per_pkt * 1.4) / 1e6) * 1_000_000)
        res.note(S, f"The big capture was scaled from {a.big:,} to {big:,} packets to fit the time budget (estimated {a.big * per_pkt * 1.4:.0f} s, {left:.0f} s left).")
    if big <= a.packets:
        res.missing(S, f"peak RSS at {a.big / 1e6:g}M packets", "no time left in the budget", "< 300 MB")
        return
    gen = subprocess.Popen([PY, str(BENCH / "gen_capture.py"), "--packets", str(big), "--format", "pcapng", "-", "--quiet"], stdout=subprocess.PIPE)
    try:
        r = timed([*ipowner(), "traffic", "--format", "jsonl", "-"], stdin=gen.stdout)
    finally:
        if gen.stdout:
            gen.stdout.close()
        gen.wait()
    log(f"big ipowner traffic: {r.wall:.1f} s, {r.rss_mb or 0:.0f} MB, exit {r.rc}")
    size = files["pcapng"]["size"] * big / a.packets  # same mix, so the same bytes per packet
    res.row(
        S,
        f"peak RSS at {big / 1e6:g}M, pcapng: ipowner traffic",
        mb(r.rss_mb) + (f" (exit {r.rc})" if r.rc else ""),
        f"streamed from the generator: ~{size / 1e9:.1f} GB in {r.wall:.0f} s",
        "",
        "< 300 MB",
        ("yes" if r.rss_mb < 300 else "no") if r.rss_mb is not None else "n/a",
    )
    if r.rc:
        res.note(S, f"ipowner traffic exited {r.rc} on the {big / 1e6:g}M capture: {r.err}")
    res.note(S, f"tshark is not run on the {big / 1e6:g}M capture: at the KB/packet measured above it would need several GB.")


def profile_traffic(work: Path) -> str:
    cap = work / "profile-100000.pcapng"
    prof = work / "traffic.prof"
    subprocess.run([PY, str(BENCH / "gen_capture.py"), "--packets", "100000", str(cap), "--quiet"], check=True)
    exe = Path(PY).with_name("ipowner")
    target = [str(exe)] if exe.exists() else ["-c", "from ipowner.cli import main; main()"]
    subprocess.run([PY, "-m", "cProfile", "-o", str(prof), *target, "traffic", "--format", "json", str(cap)], capture_output=True)
    import pstats

    st = pstats.Stats(str(prof))
    total = sum(v[2] for v in st.stats.values()) or 1.0  # type: ignore[attr-defined]
    rows = sorted(st.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:8]  # type: ignore[attr-defined]
    cap.unlink(missing_ok=True)
    return ", ".join(f"{Path(f).name}:{line}({name}) {v[2] / total * 100:.0f} %" for (f, line, name), v in rows)


def check_traffic(res: Results, S: str, fmt: str, f: dict[str, Any]) -> None:
    """ipowner traffic's per-destination totals and hostnames against the generator's truth."""
    try:
        doc = json.loads(Path(f["traffic_out"]).read_text())
    except (OSError, ValueError, KeyError) as exc:
        res.note(S, f"ipowner traffic output on the {fmt} is not JSON ({exc}); no correctness check.")
        return
    dests = {d["address"]: d for d in doc.get("destinations", [])}
    truth = {k: v for k, v in f["truth"]["remotes"].items() if v["scope"] == "internet"}
    keys = ("packets_sent", "packets_received", "bytes_sent", "bytes_received")
    same = sum(1 for a, v in truth.items() if a in dests and all(dests[a].get(k) == v[k] for k in keys))
    names_want = names_got = 0
    for a, v in truth.items():
        want = {(h["name"], h["source"]) for h in v["hostnames"]}
        got = {(h.get("name"), h.get("source")) for h in dests.get(a, {}).get("hostnames", [])}
        names_want += len(want)
        names_got += len(want & got)
    missing = len([a for a in truth if a not in dests])
    diff = [a for a, v in truth.items() if a in dests and not all(dests[a].get(k) == v[k] for k in keys)]
    for a in diff[:3]:
        want = {k: truth[a][k] for k in keys}
        got = {k: dests[a].get(k) for k in keys}
        res.note(S, f"{fmt}: {a} differs: truth {want}, ipowner {got}.")
    extra = [(a, d.get("scope"), d.get("ports")) for a, d in dests.items() if a not in f["truth"]["remotes"]]
    if extra:
        res.note(S, f"{fmt}: destinations ipowner lists that the truth does not have: {extra[:5]}.")
    res.note(
        S,
        f"ipowner traffic on the {fmt}: {same}/{len(truth)} internet destinations with packet and byte totals (sent and received) equal "
        f"to the generator's truth, {missing} missing; hostnames: {names_got}/{names_want} (name, source) pairs found.",
    )
    res.raw[f"traffic_check_{fmt}"] = {"equal": same, "destinations": len(truth), "missing": missing, "names": [names_got, names_want]}


# ---------------------------------------------------------------- 2. enrichment


def enrichment(res: Results, a: argparse.Namespace, deadline: float) -> None:
    S = "2. offline enrichment"
    try:
        import ipowner

        if not hasattr(ipowner, "lookup"):
            raise ImportError("ipowner.lookup is not in this build")
        from ipowner.providers.mmdb import embedded  # noqa: F401
    except ImportError as exc:
        res.missing(S, "distinct addresses/s, full offline lookup", str(exc), "≥ 0.5x raw maxminddb")
        return
    p = subprocess.run([PY, str(BENCH / "enrich.py"), "--addresses", str(a.addresses), "--repeats", str(a.repeats), "--profile"], capture_output=True, text=True, timeout=600)
    if p.returncode:
        res.missing(S, "distinct addresses/s, full offline lookup", f"bench/enrich.py failed: {p.stderr.strip().splitlines()[-1:]}", "≥ 0.5x raw maxminddb")
        return
    d = json.loads(p.stdout)
    res.raw["enrichment"] = d
    if d.get("bulk_ratio") is not None:
        ratio = d["bulk_ratio"]
        res.row(
            S,
            f"ipowner.enrich() (bulk), {d['addresses']:,} distinct addresses",
            f"{fmt_rate(d['bulk_per_s'])} addresses/s",
            f"maxminddb get {fmt_rate(d['raw_per_s'])}/s",
            f"{ratio:.2f}x raw",
            "≥ 0.5x raw",
            "yes" if ratio >= 0.5 else "no",
        )
    else:
        res.missing(S, "ipowner.enrich() (bulk)", "ipowner.enrich is not in this build", "≥ 0.5x raw maxminddb")
    ratio = d["full_per_s"] / d["raw_per_s"]
    res.row(
        S,
        f"ipowner.lookup(offline=True), one record per address, {d['addresses']:,} distinct addresses",
        f"{fmt_rate(d['full_per_s'])} addresses/s",
        f"maxminddb get {fmt_rate(d['raw_per_s'])}/s",
        f"{ratio:.2f}x raw",
        "",
        "",
    )
    res.note(
        S,
        f"Database: the embedded {d['database']} ({d['database_bytes'] / 1e6:.0f} MB), read by maxminddb's {d['maxminddb_mode']}; "
        f"raw found {d['raw_found']:,} addresses, ipowner answered {d['full_answered']:,} with an AS or a country. "
        f"Addresses: ~78 % public IPv4, ~20 % public IPv6, ~2 % special-purpose (synthetic, seeded).",
    )
    if d.get("rdap_cache"):
        c = d["rdap_cache"]
        res.note(S, f"The RDAP cache was consulted for {c['addresses']:,} addresses: {c['from_cache']:,} answered from it, {c['not_cached']:,} not in it (a fresh cache: the figure is for cache misses).")
    bulk_us = f"enrich() {1e6 / d['bulk_per_s']:.2f} µs, " if d.get("bulk_per_s") else ""
    res.note(
        S,
        f"Per address (CPU time, medians of {a.repeats} rotating rounds): {bulk_us}lookup() {1e6 / d['full_per_s']:.1f} µs, "
        f"raw get {1e6 / d['raw_per_s']:.2f} µs; 0.5x means at most {2e6 / d['raw_per_s']:.1f} µs per address for everything ipowner does. "
        f"enrich() answered {d.get('bulk_answered') or 0:,} addresses from a database or the cache.",
    )
    if d.get("bulk_warm_ratio"):
        res.note(
            S,
            f"enrich() with its per-range facts already built (the same run object again: every address in a range met before, "
            f"as in traffic that keeps to a few networks): {1e6 / d['bulk_warm_per_s']:.2f} µs per address, "
            f"{d['bulk_warm_ratio']:.2f}x raw. The random addresses above meet a new range at {d.get('new_ranges_share', 0) * 100:.0f} % of addresses.",
        )
    if d.get("bulk_profile"):
        res.note(S, "Where enrich()'s time goes (cProfile, own time): " + ", ".join(f"{x['function']} {x['share'] * 100:.0f} %" for x in d["bulk_profile"]) + ".")
    if d.get("profile"):
        res.note(S, "Where lookup()'s time goes (cProfile, own time): " + ", ".join(f"{x['function']} {x['share'] * 100:.0f} %" for x in d["profile"]) + ".")
    user_db(res, a, deadline)


def user_db(res: Results, a: argparse.Namespace, deadline: float) -> None:
    """The same comparison with a synthetic City-sized user database added to both sides."""
    S = "2. offline enrichment"
    what = f"ipowner.lookup(offline=True) with a City-sized user database ({a.city_networks / 1e6:g}M networks)"
    if a.city_networks <= 0:
        return
    try:
        import mmdb_writer  # noqa: F401
    except ImportError:
        res.missing(S, what, "mmdb-writer is not installed (pip install -e '.[test]')", "≥ 0.5x raw maxminddb")
        return
    cache = BENCH / "out"
    db = cache / f"synthetic-city-{a.city_networks}.mmdb"
    if not db.exists():
        need = 40e-6 * a.city_networks * 1.3 + 60
        if time.perf_counter() + need > deadline - 60:
            res.missing(S, what, f"no time left in the budget to build it (~{need:.0f} s; it is kept in bench/out/ once built)", "≥ 0.5x raw maxminddb")
            return
        cache.mkdir(parents=True, exist_ok=True)
        r = timed([PY, str(BENCH / "make_city_db.py"), str(db) + ".tmp", "--networks", str(a.city_networks)])
        if r.rc:
            res.missing(S, what, f"make_city_db.py failed: {r.err}", "≥ 0.5x raw maxminddb")
            return
        os.replace(str(db) + ".tmp", db)
        res.note(S, f"The synthetic City-sized database was built in {r.wall:.0f} s by bench/make_city_db.py (kept in bench/out/ for later runs).")
    p = subprocess.run([PY, str(BENCH / "enrich.py"), "--addresses", str(a.addresses), "--repeats", str(a.repeats), "--user-db", str(db)], capture_output=True, text=True, timeout=600)
    if p.returncode:
        res.missing(S, what, f"bench/enrich.py failed: {p.stderr.strip().splitlines()[-1:]}", "≥ 0.5x raw maxminddb")
        return
    d = json.loads(p.stdout)
    res.raw["enrichment_user_db"] = d
    sized = f"with a City-sized user database ({a.city_networks / 1e6:g}M networks)"
    if d.get("bulk_ratio") is not None:
        ratio = d["bulk_ratio"]
        res.row(S, f"ipowner.enrich() (bulk) {sized}", f"{fmt_rate(d['bulk_per_s'])} addresses/s",
                f"maxminddb get on both {fmt_rate(d['raw_per_s'])}/s", f"{ratio:.2f}x raw", "≥ 0.5x raw", "yes" if ratio >= 0.5 else "no")
    ratio = d["full_per_s"] / d["raw_per_s"]
    res.row(S, f"ipowner.lookup(offline=True), one record per address, {sized}", f"{fmt_rate(d['full_per_s'])} addresses/s",
            f"maxminddb get on both {fmt_rate(d['raw_per_s'])}/s", f"{ratio:.2f}x raw", "", "")
    bulk_us = f"enrich() {1e6 / d['bulk_per_s']:.2f} µs, " if d.get("bulk_per_s") else ""
    res.note(
        S,
        f"With the user database ({db.stat().st_size / 1e6:.0f} MB, synthetic, City-shaped): raw reads both databases per address "
        f"({d['raw_found']:,} answers); per address {bulk_us}lookup() {1e6 / d['full_per_s']:.1f} µs, raw {1e6 / d['raw_per_s']:.2f} µs.",
    )


# ---------------------------------------------------------------- 3. RDAP economy


def netns_prefix() -> tuple[list[str], str]:
    """A command prefix that runs in a new network namespace with only loopback up, if allowed."""
    if shutil.which("unshare") and shutil.which("ip"):
        ok = subprocess.run(["unshare", "-n", "--", "sh", "-c", "ip link set lo up"], capture_output=True).returncode == 0
        if ok:
            return ["unshare", "-n", "--", "sh", "-c", 'ip link set lo up && exec "$0" "$@"'], "a network namespace with only loopback (unshare -n)"
    return [], "the host's network (unshare -n not allowed here); the server logs every peer"


def rdap_supported() -> str | None:
    """None if this build has the RDAP client, else the reason."""
    import importlib.util

    if importlib.util.find_spec("ipowner.providers.rdap") is None:
        return "the RDAP client (ipowner.providers.rdap) is not in this build"
    return None


def rdap(res: Results, a: argparse.Namespace) -> None:
    S = "3. RDAP economy"
    why = rdap_supported()
    if why:
        res.missing(S, "network queries vs the cache-rule lower bound", why, "equal")
        res.missing(S, "wall time vs the rate-limit bound", why, "≤ 1.25x")
        return
    prefix, iso = netns_prefix()
    cmd = [*prefix, PY, str(BENCH / "rdap_economy.py"), "--clusters", str(a.clusters)]
    for x in a.rdap_arg:
        cmd += ["--arg", x]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode or not p.stdout.strip():
        res.missing(S, "network queries vs the cache-rule lower bound", f"bench/rdap_economy.py failed: {p.stderr.strip().splitlines()[-1:]}", "equal")
        return
    d = json.loads(p.stdout)
    res.raw["rdap"] = d
    lb, r1, r2 = d["lower_bound"], d["run1"], d["run2"]
    t1, t2 = r1["requests"]["total"], r2["requests"]["total"]
    ip1 = t1.get("ip", 0)
    res.row(S, f"network queries, {d['distinct']} distinct addresses (cold cache)", f"{ip1}", f"lower bound {lb['ip']}", f"{ip1 / lb['ip']:.2f}x" if lb["ip"] else "", "equal", "yes" if ip1 == lb["ip"] else "no")
    others = ", ".join(f"{k} {v}" for k, v in t1.items() if k != "ip") or "none"
    res.row(S, "other requests (cold cache)", others, f"needed: referral {lb['referrals']}, entity {lb['entities']}")
    res.row(S, "wall time (cold cache)", f"{r1['wall_seconds']:.1f} s", f"rate-limit bound {d['time_bound_seconds']:.1f} s", f"{r1['wall_seconds'] / d['time_bound_seconds']:.2f}x", "≤ 1.25x", "yes" if r1["wall_seconds"] <= 1.25 * d["time_bound_seconds"] else "no")
    res.row(S, "network queries, second run (warm cache)", f"{t2.get('ip', 0)}", "", "", "0", "yes" if t2.get("ip", 0) == 0 else "no")
    peers = sorted(set(r1["requests"]["peers"]) | set(r2["requests"]["peers"]))
    res.note(
        S,
        f"Ran in {iso}; peers the server saw: {', '.join(peers) or 'none'}. Exit codes {r1['exit']} and {r2['exit']}; records {r1['records']} and {r2['records']}"
        + (f"; last stderr line: {r1['stderr_last']}" if r1["stderr_last"] else "")
        + ".",
    )
    res.note(S, "Rate limits (scaled down from the real ones so the run fits): " + "; ".join(f"{k} {v}" for k, v in d["limits"].items()) + f"; {d['latency'] * 1000:.0f} ms added to every answer.")
    res.note(S, f"Measured through {d['via']}, configured with the server's limits (IPOWNER_RDAP_LIMITS) and URL rewrites (IPOWNER_RDAP_REWRITE).")
    res.note(S, f"Lower bound per registry: {lb['per_registry']}; the server's per-registry counts (cold): {r1['requests']['per_registry']}.")
    if r1.get("client_stats"):
        cs = r1["client_stats"]
        res.note(S, f"ipowner's own count (cold): {cs['requests']}, retries {cs['retries']}, rate-limited {cs['rate_limited']}, deduplicated {cs['deduplicated']}, elapsed {cs['elapsed_seconds']} s; warm: {r2['client_stats']['from_cache'] if r2.get('client_stats') else '?'} addresses from the cache.")
    res.note(S, f"Holders: {d['holders_right']}/{d['holders_named']} holder names equal the server's synthetic registrants ({d['expected_holders']} distinct addresses have one).")


# ---------------------------------------------------------------- 4. end to end


def find_captures() -> list[Path]:
    """WeChat's capture (the seed case) and the largest real capture in tests/data, if present."""
    data = ROOT / "tests" / "data"
    real = [p for p in data.glob("**/*.pcap*") if p.is_file() and p.stat().st_size > 10_000 and "synthetic" not in p.name and "crash" not in p.name]
    out = sorted(p for p in real if "wechat" in p.name.lower())[:1]
    if real:
        big = max(real, key=lambda p: p.stat().st_size)
        if big not in out:
            out.append(big)
    return out


def end_to_end(res: Results, a: argparse.Namespace, work: Path) -> None:
    S = "4. end to end"
    caps = find_captures()
    if not caps:
        res.missing(S, "ipowner report on a real capture", "no real capture in tests/data in this build")
        return
    if not has_command("report"):
        res.missing(S, "ipowner report on a real capture", "`ipowner report` is not in this build")
        return
    for cap in caps:
        report_one(res, a, work, cap)


def report_one(res: Results, a: argparse.Namespace, work: Path, cap: Path) -> None:
    S = "4. end to end"
    out = work / "report-offline.html"
    args = shlex.split(a.report_args.format(out=out))
    runs: list[Run] = []
    ts: list[Run] = []
    for i in range(a.repeats):
        pair = [("report", [*ipowner(), "report", *args, "--offline", str(cap)]), ("tshark", ["tshark", "-n", "-q", "-r", str(cap), "-z", "endpoints,ip"])]
        for name, cmd in pair if i % 2 == 0 else pair[::-1]:
            if name == "tshark" and not shutil.which("tshark"):
                continue
            r = timed(cmd)
            (runs if name == "report" else ts).append(r)
    ok = all(r.rc in (0, 3, 4) for r in runs)
    size = f"{cap.stat().st_size / 1e6:.1f} MB"
    ref = f"tshark -z endpoints,ip {med(ts):.2f} s" if ts else ""
    res.row(S, f"ipowner report --offline, {cap.name} ({size})", f"{med(runs):.2f} s" + ("" if ok else f" (exit {runs[0].rc}: {runs[0].err})"), ref, f"{med(runs) / med(ts):.1f}x tshark's time" if ts else "")
    why = rdap_supported()
    if why:
        res.missing(S, f"ipowner report with the loopback RDAP server, {cap.name}", why)
        return
    prefix, iso = netns_prefix()
    out2 = work / "report-rdap.html"
    cmd = [*prefix, PY, str(BENCH / "rdap_economy.py"), "--run", shlex.join(["report", *shlex.split(a.report_args.format(out=out2)), str(cap)])]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode or not p.stdout.strip():
        res.missing(S, f"ipowner report with the loopback RDAP server, {cap.name}", f"failed: {p.stderr.strip().splitlines()[-1:]}")
        return
    d = json.loads(p.stdout)
    t = d["requests"]["total"]
    res.row(
        S,
        f"ipowner report with the loopback RDAP server, {cap.name}",
        f"{d['wall_seconds']:.2f} s (exit {d['exit']})",
        f"offline {med(runs):.2f} s",
        f"{d['wall_seconds'] / med(runs):.1f}x offline",
    )
    sys.path.insert(0, str(BENCH))
    import rdap_server

    tr = subprocess.run([*ipowner(), "traffic", "--format", "json", str(cap)], capture_output=True, text=True)
    try:
        dests = [x["address"] for x in json.loads(tr.stdout)["destinations"] if x.get("scope") == "internet"]
        lb = rdap_server.lower_bound(dests)
        res.row(S, f"network queries for {cap.name}'s {len(dests)} internet destinations", f"{t.get('ip', 0)}", f"lower bound {lb['ip']}", "", "equal", "yes" if t.get("ip", 0) == lb["ip"] else "no")
        res.note(S, f"{cap.name}: the rate limits alone allow its RDAP requests in {rdap_server.time_bound(lb['requests_per_registry'], 0.03):.2f} s; the report took {d['wall_seconds']:.2f} s with them, {med(runs):.2f} s offline.")
    except (ValueError, KeyError) as exc:
        res.note(S, f"no lower bound for the report's queries: `ipowner traffic` output unreadable ({exc})")
    res.note(S, f"{cap.name} with the RDAP server: all requests: {', '.join(f'{k} {v}' for k, v in t.items()) or 'none'}; ran in {iso}; peers the server saw: {', '.join(d['requests']['peers']) or 'none'}.")


# ---------------------------------------------------------------- output


def table(res: Results) -> str:
    head = ["section", "measurement", "result", "reference (same run)", "ratio", "target", "met"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in res.rows:
        cells = [r.section, r.what, r.result, r.reference, r.ratio, r.target, r.met]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def write_results(res: Results, m: dict[str, str], a: argparse.Namespace, total: float) -> str:
    out = [
        "# Benchmark results",
        "",
        f"Written by `bench/run` on {m['date']} in {total:.0f} s ({'quick' if a.quick else 'full'} run). Every ratio compares two "
        "measurements made in the same run on the same input; timed commands alternate and medians are compared "
        f"({a.repeats} runs each).",
        "",
        "| machine | |",
        "|---|---|",
        f"| CPU | {m['cpu']}, {m['cores']} cores |",
        f"| RAM | {m['ram']} |",
        f"| load average at start | {m['load']} (the machine may be shared: absolute times are noisy, ratios less so) |",
        f"| OS | {m['os']} |",
        f"| Python | {m['python']} |",
        f"| tshark | {m['tshark']} |",
        f"| ipowner | {m['ipowner']} |",
        f"| maxminddb | {m['maxminddb']} |",
        "",
        table(res),
        "",
    ]
    for section in sorted(res.notes):
        out += [f"## {section}", ""]
        out += [f"- {n}" for n in res.notes[section]]
        out.append("")
    extra = BENCH / "ANALYSIS.md"
    if extra.exists():
        out += [extra.read_text().rstrip(), ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--packets", type=int, default=1_000_000, help="packets in the main synthetic capture (default 1M)")
    ap.add_argument("--big", type=int, default=10_000_000, help="packets in the memory capture (default 10M)")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per command (default 3)")
    ap.add_argument("--addresses", type=int, default=100_000, help="distinct addresses for the enrichment benchmark")
    ap.add_argument("--clusters", type=int, default=240, help="address clusters for the RDAP benchmark")
    ap.add_argument("--city-networks", type=int, default=3_000_000, help="networks in the synthetic City-sized user database (0: skip)")
    ap.add_argument("--budget", type=float, default=570, help="seconds the whole run may take (default 570)")
    ap.add_argument("--reserve", type=float, default=200, help="seconds kept for sections 2-4 when sizing the big capture")
    ap.add_argument("--report-args", default="--output {out}", help="arguments for `ipowner report` ({out}: an output file)")
    ap.add_argument("--rdap-arg", action="append", default=[], help="extra argument for `ipowner lookup` in the RDAP benchmark")
    ap.add_argument("--only", choices=["ingest", "enrich", "rdap", "e2e"], action="append", help="run only these sections")
    ap.add_argument("--quick", action="store_true", help="small sizes, to check the benchmark itself (results not for RESULTS.md)")
    ap.add_argument("--out", default=str(BENCH / "RESULTS.md"), help="where to write the results (default bench/RESULTS.md)")
    ap.add_argument("--workdir", help="scratch folder (default: a temporary folder, removed afterwards)")
    a = ap.parse_args(argv)
    if a.quick:
        a.packets, a.big, a.repeats, a.addresses, a.clusters, a.city_networks = 100_000, 300_000, 1, 10_000, 40, 100_000
        if a.out == str(BENCH / "RESULTS.md"):
            a.out = str(Path(tempfile.gettempdir()) / "ipowner-bench-RESULTS.md")
    deadline = T0 + a.budget
    m = machine()
    log(f"{m['cpu']}, {m['cores']} cores, {m['ram']}, load {m['load']}")
    if not GNU_TIME:
        log("/usr/bin/time not found: peak RSS is not measured")
    res = Results()
    work = Path(a.workdir) if a.workdir else Path(tempfile.mkdtemp(prefix="ipowner-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    # Keep the user's data dir and cache out of it: the embedded database is unpacked once into the scratch folder.
    os.environ.setdefault("IPOWNER_DATA_DIR", str(work / "data"))
    os.environ.setdefault("IPOWNER_CACHE_DIR", str(work / "cache"))
    subprocess.run([*ipowner(), "lookup", "--offline", "--format", "json", "192.0.2.1"], capture_output=True, timeout=300)
    only = set(a.only or ["ingest", "enrich", "rdap", "e2e"])
    try:
        if "ingest" in only:
            ingest(res, work, a, deadline)
        if "enrich" in only:
            log("offline enrichment")
            enrichment(res, a, deadline)
        if "rdap" in only:
            log("RDAP economy")
            rdap(res, a)
        if "e2e" in only:
            log("end to end")
            end_to_end(res, a, work)
    finally:
        if not a.workdir:
            shutil.rmtree(work, ignore_errors=True)
    total = time.perf_counter() - T0
    text = write_results(res, m, a, total)
    Path(a.out).write_text(text + "\n")
    print(table(res))
    print(f"\n{total:.0f} s in all; written to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
