"""The Spark engine in local mode, a real Spark: address keys, the bucketed join against the ASOF join of
the flat table, translation blocks, the rollups and the spark-submit job.

The facts themselves are compared with ``lookup()``, ``enrich()`` and DuckDB in
tests/test_engines_differential.py; here the engine's own pieces are checked against plain Python.
"""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pyspark", reason="the Spark engine's tests need pyspark (the test extra installs it)")
pa = pytest.importorskip("pyarrow")
import pyarrow.parquet as pq  # noqa: E402

from ipowner._addr import parse_address  # noqa: E402
from ipowner.engines import ranges as rt  # noqa: E402
from ipowner.engines import spark as engine  # noqa: E402
from ipowner.engines.spark_submit import main as submit_main  # noqa: E402
from ranges_support import Asof, sample, synthetic_dbs  # noqa: E402
from spark_support import shared_session  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def spark() -> Any:
    return shared_session()

TEXTS = ["1.2.3.4", "0.0.0.0", "255.255.255.255", "::", "::1", "2001:db8::a", "2001:DB8::A", "::ffff:1.0.1.7",
         "::1.2.3.4", "64:ff9b::101:1", "1:2:3:4:5:6:7:8", "1::8", "fe80::1", "0:0:0:0:0:ffff:102:304",
         "2a00:1450:4001:80b::200e", "1:2:3:4:5:6:1.2.3.4", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8"]
# as enrich() reads them: spaces, brackets and zone ids go
LOOSE = {" 8.8.8.8 ": "8.8.8.8", "[2001:4860:4860::8888]": "2001:4860:4860::8888", "fe80::1%eth0": "fe80::1"}
NOT_ADDRESSES = ["", "not an address", "01.2.3.4", "1.0.1.256", "1::2::3", ":::", "1:2:3:4:5:6:7:8:9",
                 "1.2.3", "12345::", "1:2:3:4:5:6:7:8::", "::1.2.3.04"]


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A range export of the two overlapping synthetic databases and the IANA blocks."""
    root = tmp_path_factory.mktemp("spark-ranges")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IPOWNER_DATA_DIR", str(root / "data"))
        mp.setenv("IPOWNER_NO_SYSTEM_MMDB", "1")
        dbs = synthetic_dbs(root)
        rt.export_ranges(root / "ranges", mmdb=dbs, use_embedded=False, discover=False, rdap_cache=False)
    return root / "ranges"


def _ranges(spark: Any, tables: Path) -> tuple[Any, Any]:
    return (spark.read.parquet(str(tables / rt.BUCKETED_FILE)), spark.read.parquet(str(tables / rt.WIDE_FILE)))


def test_address_keys_from_text_match_the_codec(spark):
    df = spark.createDataFrame([(t,) for t in TEXTS + list(LOOSE) + NOT_ADDRESSES], "address string")
    got = {r["address"]: (r["family"], r["address_key"]) for r in engine.with_address_key(df).collect()}
    for t in TEXTS + list(LOOSE):
        _, version, value = parse_address(LOOSE.get(t, t))
        assert got[t] == (version, value.to_bytes(16, "big")), t
    for t in NOT_ADDRESSES:
        assert got[t] == (None, None), t


def test_buckets_are_the_tables(spark, tables):
    bucketed, _wide = _ranges(spark, tables)
    rows = bucketed.select("family", "start", "bucket", engine.bucket_of(bucketed["start"], bucketed["family"])
                           .alias("mine")).collect()
    assert rows and all(r["bucket"] == r["mine"] for r in rows)


def _reference(asof: Asof, text: str) -> dict[str, Any]:
    """The ASOF join of the flat table written out, translation blocks looked through (docs/ranges.md)."""
    ip = ipaddress.ip_address(text)
    row = asof.row(ip.version, int(ip))
    if row is None:
        return {}
    out = {c: row[c] for c in rt.OUTPUT_COLUMNS if row.get(c) is not None}
    if row["translation"]:
        behind = asof.row(4, rt.carried_ipv4(row["translation"], int(ip)))
        out = {c: v for c, v in out.items() if c.startswith("special")}
        if behind is not None and behind["special"] is None:
            out |= {c: behind[c] for c in rt.OUTPUT_COLUMNS if not c.startswith("special") and behind.get(c) is not None}
    return out


def test_the_bucketed_join_is_the_asof_join(spark, tables):
    texts = sample(31, 2500) + TEXTS
    flows = spark.createDataFrame([(t, i) for i, t in enumerate(texts)], "address string, n long")
    bucketed, wide = _ranges(spark, tables)
    rows = engine.enrich(flows, bucketed, wide).collect()
    assert [r["n"] for r in sorted(rows, key=lambda r: r["n"])] == list(range(len(texts)))  # every row, once
    asof = Asof(tables / rt.RANGES_FILE)
    through = wide_hits = 0
    wide_starts = {(r["family"], r["start"]) for r in pq.read_table(tables / rt.WIDE_FILE).to_pylist()}
    for r in rows:
        got = {c: r[c] for c in rt.OUTPUT_COLUMNS if r[c] is not None}
        assert got == _reference(asof, r["address"]), r["address"]
        ip = ipaddress.ip_address(r["address"])
        seg = asof.row(ip.version, int(ip))
        through += bool(seg and seg["translation"] and "location_country" in got)
        wide_hits += bool(seg and (seg["family"], seg["start"]) in wide_starts)
    assert through > 10 and wide_hits > 100


def test_translation_keys_follow_look_through(spark):
    v4 = [int(ipaddress.IPv4Address(a)) for a in ("1.0.1.7", "3.3.3.3", "74.125.225.229", "10.0.0.1")]
    cases = []
    for n in v4:
        cases += [("nat64", 0x64FF9B << 96 | n), ("ipv4-mapped", 0xFFFF << 32 | n),
                  ("6to4", 0x2002 << 112 | n << 80 | 0x1234), ("teredo", 0x20010000 << 96 | 0xABCD << 64 | (~n & 0xFFFFFFFF)),
                  ("nat64-local", 0x64FF9B0001 << 80 | (n >> 16) << 64 | (n & 0xFFFF) << 40)]
    df = spark.createDataFrame([(m, v.to_bytes(16, "big")) for m, v in cases], "translation string, k binary")
    got = [r[0] for r in df.select(engine.carried_ipv4_key(df["k"], df["translation"])).collect()]
    assert got == [rt.carried_ipv4(m, v).to_bytes(16, "big") for m, v in cases]


def test_rollups_weigh_destinations_by_bytes(spark, tables):
    texts = [t for t in sample(32, 600) if ":" not in t or not t.startswith("fe80")]
    rows = [(t, f"10.9.0.{i % 3}", "internet" if i % 7 else "lan", i * 10, i, 1) for i, t in enumerate(texts)]
    flows = spark.createDataFrame(rows, "address string, device string, scope string, bytes_sent long, "
                                        "bytes_received long, flows long")
    bucketed, wide = _ranges(spark, tables)
    enriched = engine.enrich(flows, bucketed, wide).cache()
    plain = [r.asDict() for r in enriched.collect() if r["scope"] == "internet"]
    got = engine.rollups(enriched)
    want: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    dests: dict[str, set[str]] = defaultdict(set)
    for r in plain:
        key = "anycast" if r["location_is_anycast"] else (r["location_country"] or "").upper()
        w = want[key]
        w[0] += r["bytes_sent"]
        w[1] += r["bytes_received"]
        w[2] += r["flows"]
        dests[key].add(r["address"])
    location = got["location"].collect()
    assert {r["key"]: [r["bytes_sent"], r["bytes_received"], r["flows"]] for r in location} == dict(want)
    assert {r["key"]: r["destinations"] for r in location} == {k: len(v) for k, v in dests.items()}
    order = [(-r["bytes_sent"], -r["bytes_received"], r["key"] == "", r["key"]) for r in location]
    assert order == sorted(order)
    labels = {r["key"]: r["label"] for r in location}
    assert labels.get("FR") == "France" and labels.get("", "unknown") == "unknown"
    by_dest = {r["address"]: r for r in got["destination"].collect()}
    assert set(by_dest) == {r["address"] for r in plain}
    for addr, r in by_dest.items():
        mine = [p for p in plain if p["address"] == addr]
        assert r["bytes_sent"] == sum(p["bytes_sent"] for p in mine)
        assert r["location_country"] == mine[0]["location_country"]
    asn = {r["key"]: r["label"] for r in got["asn"].collect()}
    assert asn.get("AS100") == "AS100 Hundred"
    enriched.unpersist()


def test_the_flow_table_goes_through_as_is(spark, tables, tmp_path):
    """ipowner's own flow table (family and address_key already there) needs no parsing."""
    from ipowner.model.kinds import ByteKind
    from ipowner.model.traffic import TrafficPair
    from ipowner.render.traffic_parquet import FlowTableWriter

    texts = ["1.0.1.7", "2a00:1::9", "64:ff9b::100:107", "10.0.0.1"]
    path = tmp_path / "flows.parquet"
    with FlowTableWriter(str(path), byte_kind=ByteKind.IP) as w:
        w.write([TrafficPair(device="192.168.1.2", address=t, bytes_sent=5, flows=1) for t in texts])
    bucketed, wide = _ranges(spark, tables)
    out = {r["address"]: r for r in engine.enrich(spark.read.parquet(str(path)), bucketed, wide).collect()}
    assert out["1.0.1.7"]["location_country"] == "FR" and out["64:ff9b::100:107"]["location_country"] == "FR"
    assert out["64:ff9b::100:107"]["special"] == "nat64" and out["10.0.0.1"]["special"] == "private"
    assert out["2a00:1::9"]["asn_number"] == 300 and out["2a00:1::9"]["location_country"] == "NL"


def test_the_job_reads_and_writes_parquet(spark, tables, tmp_path, capsys):
    flows = tmp_path / "flows.parquet"
    texts = sample(33, 200)
    pq.write_table(pa.table({"address": texts, "bytes_sent": list(range(200)), "bytes_received": [1] * 200,
                             "flows": [1] * 200}), flows)
    out = tmp_path / "out"
    assert submit_main(["--flows", str(flows), "--ranges", str(tables), "--out", str(out)]) == 0
    written = pq.read_table(out / "flows").to_pylist()
    assert sorted(r["address"] for r in written) == sorted(texts)
    assert set(pq.read_table(out / "rollup_location").column_names) == {
        "key", "label", "bytes_sent", "bytes_received", "flows", "destinations"}
    assert (out / "destinations").is_dir() and (out / "rollup_asn").is_dir()
    capsys.readouterr()
    # written once: a second run refuses to replace it, in one line
    assert submit_main(["--flows", str(flows), "--ranges", str(tables), "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("ipowner: ") and "\n" not in err
    assert submit_main(["--flows", str(tmp_path / "none.parquet"), "--ranges", str(tables), "--out",
                        str(tmp_path / "o2")]) == 1


def test_a_table_that_is_not_a_range_table_is_refused(spark):
    flows = spark.createDataFrame([("1.2.3.4",)], "address string")
    with pytest.raises(Exception, match="not an ipowner range table"):
        engine.enrich(flows, flows, flows)
