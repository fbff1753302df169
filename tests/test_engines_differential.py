"""Same answers everywhere: one sample through ``lookup()``, ``enrich()``, the range table's ASOF join in
DuckDB, and ``ipowner enrich`` with each engine, fact for fact with its source.

The sample (tests/ranges_support.py) has IPv4 and IPv6, special-purpose and translation addresses, the
networks of two overlapping synthetic user databases, the RDAP cache's networks and inputs that are not
plain addresses.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("duckdb")
pa = pytest.importorskip("pyarrow")
import pyarrow.parquet as pq  # noqa: E402

import ipowner  # noqa: E402
from ipowner.engines import duck  # noqa: E402
from ipowner.engines import ranges as rt  # noqa: E402
from ipowner.lookups.enrich import Enrichment  # noqa: E402
from ipowner.model.serialize import plain  # noqa: E402
from ranges_support import fill_rdap_cache, sample, synthetic_dbs  # noqa: E402

ODD = [" 8.8.8.8 ", "not an address", "", "::1.2.3.4", "2001:DB8::A", "::ffff:1.0.1.7", "1::2::3", "01.2.3.4",
       "[2001:4860:4860::8888]", "fe80::1%eth0", "0:0:0:0:0:ffff:102:304", "1.0.1.256", ":::", "1:2:3:4:5:6:7:8:9"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("differential")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IPOWNER_DATA_DIR", str(root / "data"))
        mp.setenv("IPOWNER_NO_SYSTEM_MMDB", "1")
        mp.delenv("IPOWNER_MMDB_PATH", raising=False)
        server = fill_rdap_cache(root, mp)
        try:
            dbs = synthetic_dbs(root)
            rt.export_ranges(root / "ranges", mmdb=dbs, use_embedded=False, discover=False)
            yield root, dbs
        finally:
            server.close()


@pytest.fixture()
def env(world, monkeypatch: pytest.MonkeyPatch):
    root, dbs = world
    monkeypatch.setenv("IPOWNER_CACHE_DIR", str(root / "rdap-cache"))  # each test gets its own: use the filled one
    return root, dbs


def from_record(rec: Any) -> dict[str, Any]:
    """A lookup() record as the output columns (value and source per fact)."""
    out: dict[str, Any] = {}
    prov = rec.provenance

    def put(name: str, value: Any, path: str) -> None:
        if value is not None:
            out[name], out[f"{name}_source"] = value, prov[path]

    if rec.special is not None:
        s = rec.special
        for name, value in (("special", s.label), ("special_name", s.name), ("special_prefix", s.prefix),
                            ("special_rfc", s.rfc), ("special_globally_reachable", s.globally_reachable)):
            put(name, value, "special")
    for f, v in plain(rec.location).items():
        put(f"location_{f}", v, f"location.{f}")
    put("registered_country", rec.registered_country, "registered_country")
    if rec.asn is not None:
        for f, v in plain(rec.asn).items():
            put(f"asn_{f}", v, f"asn.{f}")
    if rec.holder is not None:
        put("holder", rec.holder.name, "holder")
        put("holder_country", rec.holder.country, "holder")
    if rec.network is not None:
        put("network_registry", rec.network.registry, "network")
        put("network_handle", rec.network.handle, "network")
        put("network_name", rec.network.name, "network")
    if rec.registry_chain:
        put("registry_chain", json.dumps([[str(link.role), link.name, link.handle] for link in rec.registry_chain],
                                         ensure_ascii=False), "registry_chain")
    if rec.traits:
        out["traits"] = json.dumps({f"traits.{k}": [v, prov[f"traits.{k}"]] for k, v in sorted(rec.traits.items())},
                                   ensure_ascii=False, sort_keys=True)
        for name in ("cloud_provider", "cloud_region", "cloud_service"):  # the cloud range snapshot's answer
            put(name, rec.traits.get(name), f"traits.{name}")
    if rec.errors:
        out["errors"] = json.dumps(list(rec.errors), ensure_ascii=False)
    return out


def test_lookup_enrich_and_duckdb_agree(env) -> None:
    root, dbs = env
    kw: dict[str, Any] = {"mmdb": dbs, "use_embedded": False, "discover": False}
    inputs = sample(21, 4000)
    res = ipowner.lookup(inputs, offline=True, **kw)
    records = {r.query: r for r in res.records}
    with Enrichment(**kw) as fallback:
        joined = duck.facts_of(inputs + ODD, root / "ranges", fallback=fallback)
    seen = {"v6": 0, "special": 0, "through": 0, "holder": 0, "both_dbs": 0, "chain": 0}
    with ipowner.enrich(inputs + ODD, **kw) as run:
        for q, e in zip(inputs + ODD, run, strict=True):
            via_enrich = duck.output_row(rt.facts_row(e))
            assert joined.get(q, {}) == via_enrich, q
            if q in records:
                assert from_record(records[q]) == via_enrich, q
            seen["v6"] += ":" in q and bool(via_enrich)
            seen["special"] += "special" in via_enrich
            seen["through"] += e.looked_through is not None and "location_country" in via_enrich
            seen["holder"] += "holder" in via_enrich
            seen["both_dbs"] += "location_country" in via_enrich and "asn_number" in via_enrich
            seen["chain"] += "registry_chain" in via_enrich
    assert min(seen.values()) > 20, seen


def _table(path: Path) -> list[dict[str, Any]]:
    return pq.read_table(path).to_pylist()


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_enrich_command_engines_write_the_same_rows(env, tmp_path: Path, suffix: str) -> None:
    from click.testing import CliRunner

    from ipowner.cli import cli
    from ipowner.cli.commands import cli as registered

    assert registered is cli
    root, dbs = env
    addrs = sample(22, 1500) + ODD
    flows = {"ts": list(range(len(addrs) * 2)), "dst": [*addrs, *reversed(addrs)],
             "bytes": [i * 7 for i in range(len(addrs) * 2)]}
    src = tmp_path / f"flows{suffix}"
    if suffix == ".parquet":
        pq.write_table(pa.table(flows), src)
    else:
        import csv

        with src.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(flows)
            w.writerows(zip(*flows.values(), strict=True))
    common = ["--no-embedded", "--no-system-mmdb", *[a for d in dbs for a in ("--mmdb", str(d))]]
    outs = {}
    for engine in ("python", "duckdb"):
        out = tmp_path / f"out-{engine}.parquet"
        args = ["enrich", str(src), "-o", str(out), "--engine", engine, *common]
        if engine == "duckdb":
            args += ["--ranges", str(root / "ranges"), "--memory-limit", "200MB", "--temp-dir", str(tmp_path / "spill")]
        res = CliRunner().invoke(cli, args)
        assert res.exit_code == 0, res.output
        assert f"({engine} engine)" in res.output
        outs[engine] = _table(out)
    assert outs["python"] == outs["duckdb"]
    rows = outs["duckdb"]
    # every row, in input order (an empty CSV cell is no value)
    assert [r["dst"] for r in rows] == [d if d or suffix == ".parquet" else None for d in flows["dst"]]
    assert sum(r["location_country"] is not None for r in rows) > 500
    assert any(r["errors"] and "not an address" in r["errors"] for r in rows)
    # CSV out: the same cells, spreadsheet-safe
    res = CliRunner().invoke(cli, ["enrich", str(src), "-o", str(tmp_path / "out.csv"), "--engine", "duckdb",
                                   "--ranges", str(root / "ranges"), *common])
    assert res.exit_code == 0, res.output
    lines = (tmp_path / "out.csv").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(rows) + 1 and lines[0].startswith("ts,dst,bytes,special,special_source,")


def _key(text: str) -> tuple[int | None, bytes | None]:
    import socket

    for fam, n in ((socket.AF_INET, 4), (socket.AF_INET6, 6)):
        try:
            return n, socket.inet_pton(fam, text).rjust(16, b"\0")
        except (OSError, ValueError):
            pass
    return None, None


def test_keyed_flow_table_joins_without_parsing_and_agrees(env, tmp_path: Path) -> None:
    """A flow table carrying ``dst_family``/``dst_key`` (docs/ranges.md): the DuckDB engine joins the given
    keys; keys that are not valid (wrong family, width, an IPv4 key past 32 bits, null) are parsed from the
    text instead. Either way the rows are those of the Python engine, which reads only the text."""
    from ipowner.cli import main

    root, dbs = env
    addrs = sample(25, 1500) + ODD
    fams, keys = zip(*(_key(a) for a in addrs), strict=True)
    fams_l, keys_l = list(fams), list(keys)
    # hostile keys on addresses that are plain: each must fall back to the text, not answer wrongly
    plain_at = [i for i, k in enumerate(keys_l) if k is not None and fams_l[i] == 4][:40]
    for j, i in enumerate(plain_at):
        kind = j % 4
        if kind == 0:
            fams_l[i] = 5
        elif kind == 1:
            keys_l[i] = keys_l[i][4:]  # type: ignore[index]
        elif kind == 2:
            keys_l[i] = b"\1" + keys_l[i][1:]  # type: ignore[index]  # an IPv4 key past 32 bits
        else:
            keys_l[i] = None
    src = tmp_path / "keyed.parquet"
    pq.write_table(pa.table({"dst": addrs, "dst_family": pa.array(fams_l, pa.int8()),
                             "dst_key": pa.array(keys_l, pa.binary()), "n": list(range(len(addrs)))}), src)
    common = ["--no-embedded", "--no-system-mmdb", *[a for d in dbs for a in ("--mmdb", str(d))]]
    outs = {}
    for engine in ("python", "duckdb"):
        out = tmp_path / f"keyed-{engine}.parquet"
        args = ["enrich", str(src), "-o", str(out), "--engine", engine, *common]
        if engine == "duckdb":
            args += ["--ranges", str(root / "ranges")]
        with pytest.raises(SystemExit) as exc:
            main(args)
        assert exc.value.code == 0
        outs[engine] = _table(out)
    assert outs["python"] == outs["duckdb"]
    assert sum(r["location_country"] is not None for r in outs["duckdb"]) > 500
    # the keys are what the join used: a key that names another (valid) address answers for that address
    moved = list(keys)
    donor = next(i for i, r in enumerate(outs["python"]) if r["location_country"] and fams[i] == 4)
    target = next(i for i, r in enumerate(outs["python"]) if fams[i] == 4 and i != donor
                  and r["location_country"] != outs["python"][donor]["location_country"])
    moved[target] = keys[donor]
    # both namings, the key as fixed_size_binary(16) as the writers store it
    for column, names in (("dst", ("dst_family", "dst_key")), ("address", ("family", "address_key"))):
        pq.write_table(pa.table({column: addrs, names[0]: pa.array(fams, pa.int8()),
                                 names[1]: pa.array(moved, pa.binary(16))}), src)
        with pytest.raises(SystemExit) as exc:
            main(["enrich", str(src), "-o", str(tmp_path / "moved.parquet"), "--engine", "duckdb", *common,
                  "--ranges", str(root / "ranges"), "--column", column])
        assert exc.value.code == 0
        got = _table(tmp_path / "moved.parquet")
        assert got[target]["location_country"] == outs["python"][donor]["location_country"], column
        assert [r["location_country"] for i, r in enumerate(got) if i != target] == \
            [r["location_country"] for i, r in enumerate(outs["python"]) if i != target]


def test_hostile_tables_are_one_line_errors(env, tmp_path: Path) -> None:
    from ipowner.cli import main

    root, dbs = env
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(b"PAR1" + b"\x00" * 64)
    for engine in ("python", "duckdb"):
        with pytest.raises(SystemExit) as exc:
            main(["enrich", str(bad), "-o", str(tmp_path / "o.parquet"), "--engine", engine, "--no-embedded",
                  "--ranges", str(root / "ranges")])
        assert exc.value.code == 1
    long = tmp_path / "long.csv"
    long.write_text("dst\n" + "=1+2," * 10 + "\n" + "8" * (3 << 20) + "\n", encoding="utf-8")
    for engine in ("python", "duckdb"):
        with pytest.raises(SystemExit) as exc:
            main(["enrich", str(long), "-o", str(tmp_path / "o.csv"), "--engine", engine, "--no-embedded",
                  "--ranges", str(root / "ranges")])
        assert exc.value.code == 1
    # a formula in a cell does not reach a spreadsheet as one
    evil = tmp_path / "evil.csv"
    evil.write_text("dst,note\n=HYPERLINK(1),x\n8.8.8.8,=cmd\n", encoding="utf-8")
    with pytest.raises(SystemExit) as exc:
        main(["enrich", str(evil), "-o", str(tmp_path / "e.csv"), "--engine", "duckdb", "--no-embedded",
              "--ranges", str(root / "ranges")])
    assert exc.value.code == 0
    text = (tmp_path / "e.csv").read_text(encoding="utf-8")
    assert "\n=" not in text and ",=" not in text


def test_cloud_ranges_through_the_table_and_both_engines(env, tmp_path: Path) -> None:
    from ipowner.cli import main
    from ipowner.providers.cloud import load_cloud_ranges

    root, dbs = env
    files = [Path(__file__).parent / "data" / "cloud" / n for n in
             ("aws-ip-ranges-synthetic.json", "google-cloud-synthetic.json", "azure-service-tags-synthetic.json")]
    out = tmp_path / "ranges"
    rt.export_ranges(out, mmdb=dbs, use_embedded=False, discover=False, cloud_ranges=files)
    cloud = load_cloud_ranges(files, snapshot=True)  # the user's files before the shipped snapshot, as enrich has
    import ipaddress
    import random

    rnd = random.Random(3)
    inputs = []
    for f in list(cloud.ranges())[:200]:  # the user's files' ranges come first
        inputs += [str(ipaddress.ip_address(f.start) + rnd.randrange(f.end - f.start + 1)) for _ in range(3)]
    inputs += sample(23, 300)
    kw: dict[str, Any] = {"mmdb": dbs, "use_embedded": False, "discover": False}
    with Enrichment(**kw) as fb:
        joined = duck.facts_of(inputs, out, fallback=fb)
    hits = 0
    with ipowner.enrich(inputs, **kw) as run:
        for q, e in zip(inputs, run, strict=True):
            hit = rt.cloud_answer(cloud, e)
            want = duck.output_row(rt.facts_row(e, hit, cloud_asked=True))
            assert joined.get(q, {}) == want, q
            hits += "cloud_provider" in want
    assert hits > 20
    src = tmp_path / "flows.csv"
    src.write_text("dst\n" + "\n".join(inputs) + "\n", encoding="utf-8")
    tables = {}
    for engine in ("python", "duckdb"):
        with pytest.raises(SystemExit) as exc:
            main(["enrich", str(src), "-o", str(tmp_path / f"{engine}.parquet"), "--engine", engine, "--no-embedded",
                  "--no-system-mmdb", "--ranges", str(out), *[a for d in dbs for a in ("--mmdb", str(d))],
                  *[a for f in files for a in ("--cloud-ranges", str(f))]])
        assert exc.value.code == 0
        tables[engine] = _table(tmp_path / f"{engine}.parquet")
    assert tables["python"] == tables["duckdb"]
    assert sum(r["cloud_provider"] is not None for r in tables["duckdb"]) > 20


@pytest.mark.slow
def test_spark_agrees_with_enrich_and_duckdb(env) -> None:
    """The Spark engine (local mode, a real Spark) on the same kind of sample: identical facts and sources."""
    pytest.importorskip("pyspark", reason="the Spark engine's tests need pyspark (the test extra installs it)")
    from ipowner.engines import spark as engine
    from spark_support import shared_session

    root, dbs = env
    spark = shared_session()
    kw: dict[str, Any] = {"mmdb": dbs, "use_embedded": False, "discover": False}
    inputs = sample(24, 1500) + ODD
    flows = spark.createDataFrame([(q, i) for i, q in enumerate(inputs)], "address string, n long")
    tables = root / "ranges"
    got = engine.enrich(flows, spark.read.parquet(str(tables / rt.BUCKETED_FILE)),
                        spark.read.parquet(str(tables / rt.WIDE_FILE))).collect()
    by_row = {r["n"]: {c: r[c] for c in rt.OUTPUT_COLUMNS if r[c] is not None} for r in got}
    assert sorted(by_row) == list(range(len(inputs)))
    with Enrichment(**kw) as fallback:
        joined = duck.facts_of(inputs, tables, fallback=fallback)
    seen = {"v6": 0, "special": 0, "through": 0, "holder": 0, "both_dbs": 0}
    with ipowner.enrich(inputs, **kw) as run:
        for i, (q, e) in enumerate(zip(inputs, run, strict=True)):
            if e.address is None:  # not an address: Spark joins nothing, the Python engines say why
                assert by_row[i] == {}, q
                continue
            want = duck.output_row(rt.facts_row(e))
            assert by_row[i] == want == joined.get(q, {}), q
            seen["v6"] += ":" in q and bool(want)
            seen["special"] += "special" in want
            seen["through"] += e.looked_through is not None and "location_country" in want
            seen["holder"] += "holder" in want
            seen["both_dbs"] += "location_country" in want and "asn_number" in want
    assert min(seen.values()) > 10, seen


def test_range_table_kept_in_the_cache_until_a_source_changes(env, tmp_path: Path) -> None:
    from ipowner.engines import tables

    root, dbs = env
    kw: dict[str, Any] = {"mmdb": dbs, "use_embedded": False, "discover": False}
    first, built = tables.range_table(**kw)
    assert built and (first / rt.RANGES_FILE).is_file()
    again, built = tables.range_table(**kw)
    assert again == first and not built
    changed = tmp_path / "more.mmdb"
    changed.write_bytes(dbs[1].read_bytes())
    other, built = tables.range_table(mmdb=[dbs[0], changed], use_embedded=False, discover=False)
    assert built and other != first and not first.exists()  # the older export is removed
