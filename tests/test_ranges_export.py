"""``ipowner ranges export``: disjoint segments whose facts are, address for address, what ``enrich()`` gives.

Synthetic overlapping user databases (tests/ranges_support.py) and a RDAP cache filled from the loopback
server; the embedded database is left out here (the bench exports it) except where its fast path is timed.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pyarrow")
import pyarrow.parquet as pq  # noqa: E402

import ipowner  # noqa: E402
from ipowner.engines import ranges as rt  # noqa: E402
from ranges_support import Asof, fill_rdap_cache, sample, synthetic_dbs  # noqa: E402


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("ranges")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("IPOWNER_DATA_DIR", str(root / "data"))
        mp.setenv("IPOWNER_NO_SYSTEM_MMDB", "1")
        mp.delenv("IPOWNER_MMDB_PATH", raising=False)
        server = fill_rdap_cache(root, mp)
        try:
            dbs = synthetic_dbs(root)
            summary = rt.export_ranges(root / "out", mmdb=dbs, use_embedded=False, discover=False)
            yield root / "out", dbs, summary, root / "rdap-cache"
        finally:
            server.close()


def _value(row: dict[str, Any], name: str) -> tuple[Any, str] | None:
    return None if row.get(name) is None else (row[name], row.get(f"{name}_source") or "")


def table_facts(asof: Asof, address: str) -> dict[str, tuple[Any, str]]:
    """The facts the table gives an address, translation blocks looked through (as engines do)."""
    ip = ipaddress.ip_address(address)
    row = asof.row(ip.version, int(ip))
    if row is None:
        return {}
    out = {name: v for name in (*rt.FACT_NAMES, *rt.EXTRA) if (v := _value(row, name)) is not None}
    if row["translation"] is not None:
        inner = asof.row(4, rt.carried_ipv4(row["translation"], int(ip)))
        if inner is not None and inner["special"] is None:
            for name in (*rt.FACT_NAMES, *rt.EXTRA):
                if not name.startswith("special") and (v := _value(inner, name)) is not None:
                    out[name] = v
    return {k: (v[0], v[1]) if k not in rt.EXTRA else (v[0], "") for k, v in out.items()}


def test_rows_are_disjoint_sorted_and_bucketed(exported) -> None:
    out, _dbs, summary, _cache = exported
    table = pq.read_table(out / rt.RANGES_FILE)
    assert table.schema.metadata[b"ipowner.table_version"] == str(rt.TABLE_VERSION).encode()
    rows = table.to_pylist()
    assert len(rows) == summary.total(rt.RANGES_FILE) > 50
    prev: dict[int, int] = {}
    for row in rows:
        start, end = int.from_bytes(row["start"], "big"), int.from_bytes(row["end"], "big")
        assert start <= end
        assert start > prev.get(row["family"], -1), row  # no two rows overlap, sorted by start
        prev[row["family"]] = end
        if row["family"] == 4:
            assert (row["start_v4"], row["end_v4"]) == (start, end)
            assert row["first"] == str(ipaddress.IPv4Address(start))
        else:
            assert row["start_v4"] is None and ipaddress.ip_address(row["first"]) == ipaddress.IPv6Address(start)
        if row["prefix"] is not None:
            net = ipaddress.ip_network(row["prefix"])
            assert (int(net.network_address), int(net.broadcast_address)) == (start, end)
    # bucketed pieces and wide rows cover exactly the same addresses as the flat table
    bucketed = pq.read_table(out / rt.BUCKETED_FILE).to_pylist()
    wide = pq.read_table(out / rt.WIDE_FILE).to_pylist()
    covered = sum(int.from_bytes(r["end"], "big") - int.from_bytes(r["start"], "big") + 1 for r in rows)
    pieces = 0
    for r in bucketed:
        start, end = int.from_bytes(r["start"], "big"), int.from_bytes(r["end"], "big")
        shift = rt.BITS[r["family"]] - rt.BUCKET_PREFIX[r["family"]]
        assert start >> shift == end >> shift == r["bucket"]
        pieces += end - start + 1
    for r in wide:
        shift = rt.BITS[r["family"]] - rt.BUCKET_PREFIX[r["family"]]
        assert int.from_bytes(r["end"], "big") - int.from_bytes(r["start"], "big") + 1 > 1 << shift
        pieces += int.from_bytes(r["end"], "big") - int.from_bytes(r["start"], "big") + 1
    assert pieces == covered
    assert summary.rows[rt.WIDE_FILE][6] > 0 and summary.rows[rt.BUCKETED_FILE][4] > 0
    sources = {r["id"]: r for r in pq.read_table(out / rt.SOURCES_FILE).to_pylist()}
    for row in rows:
        for name in rt.FACT_NAMES:
            if row[name] is not None:
                assert row[f"{name}_source"] in sources
                assert row[f"{name}_date"] == sources[row[f"{name}_source"]]["date"]


def test_asof_join_gives_what_enrich_gives(exported, monkeypatch: pytest.MonkeyPatch) -> None:
    out, dbs, _summary, cache = exported
    monkeypatch.setenv("IPOWNER_CACHE_DIR", str(cache))  # each test gets its own folders: this one is filled
    asof = Asof(out / rt.RANGES_FILE)
    inputs = sample(5, 3000)
    seen = {"holder": 0, "user": 0, "special": 0, "through": 0, "overlap": 0}
    with ipowner.enrich(inputs, mmdb=dbs, use_embedded=False, discover=False) as run:
        for e in run:
            want = rt.facts_row(e)
            assert table_facts(asof, e.query) == want, e.query
            seen["holder"] += "holder" in want
            seen["user"] += "location_country" in want
            seen["special"] += "special" in want
            seen["through"] += e.looked_through is not None and "location_country" in want
            seen["overlap"] += "location_country" in want and "asn_number" in want
    assert min(seen.values()) > 20, seen


def test_cli_writes_parquet_and_csv(exported, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from ipowner.cli import cli
    from ipowner.cli.commands import cli as registered

    assert registered is cli
    _out, dbs, summary, cache = exported
    monkeypatch.setenv("IPOWNER_CACHE_DIR", str(cache))
    res = CliRunner().invoke(cli, ["ranges", "export", "-o", str(tmp_path / "t"), "--csv", "--no-embedded",
                                   "--no-system-mmdb", *[a for d in dbs for a in ("--mmdb", str(d))]])
    assert res.exit_code == 0, res.output
    assert "ranges.parquet:" in res.output
    lines = (tmp_path / "t" / "ranges.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("family,start,end,start_v4,end_v4,first,last,prefix,translation,special,")
    assert len(lines) == summary.total(rt.RANGES_FILE) + 1
    assert (tmp_path / "t" / "sources.csv").exists()


def test_damaged_databases(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tree that cannot be walked to its end stops the export with one line naming it (a partial table would
    answer wrongly); a file that is no database is a problem line, the others are exported (exit 4)."""
    from ipowner.cli import main
    from mmdb_support import BAD

    monkeypatch.setenv("IPOWNER_NO_SYSTEM_MMDB", "1")
    with pytest.raises(ipowner.DatabaseError, match="cannot be walked to the end"):
        rt.export_ranges(tmp_path / "a", mmdb=[BAD / "libmaxminddb_libmaxminddb-oversized-map.mmdb"],
                         use_embedded=False, discover=False)
    with pytest.raises(SystemExit) as exc:
        main(["ranges", "export", "-o", str(tmp_path / "b"), "--no-embedded",
              "--mmdb", str(BAD / "libmaxminddb_libmaxminddb-separator-record-min-left.mmdb")])
    assert exc.value.code == 1
    with pytest.raises(SystemExit) as exc:
        main(["ranges", "export", "-o", str(tmp_path / "c"), "--no-embedded",
              "--mmdb", str(BAD / "maxminddb-golang_unexpected-bytes.mmdb")])
    assert exc.value.code == 4
    assert pq.read_table(tmp_path / "c" / rt.RANGES_FILE).num_rows > 10  # the special-purpose blocks
