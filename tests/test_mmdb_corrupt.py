"""Every corrupt test database: which fail on open, which on lookup (and for which addresses), which
read fine. A broken database never stops the others from answering, and every failure is one line."""

from __future__ import annotations

from pathlib import Path

import maxminddb
import pytest

from ipowner.model import AddressRecord
from ipowner.providers.mmdb.reader import MmdbProvider
from mmdb_support import BAD, DATA, isolate

PROBES = ["1.1.1.1", "1.1.1.3", "1.1.1.32", "81.2.69.160", "0.0.0.0", "255.255.255.255"]
ALL = set(PROBES)

# name -> "open" (fails on open) | set of probe addresses whose lookup fails (empty: reads fine)
EXPECTED: dict[str, str | set[str]] = {
    "bad/libmaxminddb_libmaxminddb-metadata-marker-only.mmdb": "open",
    "bad/libmaxminddb_libmaxminddb-offset-integer-overflow.mmdb": "open",
    "bad/maxminddb-golang_cyclic-data-structure.mmdb": "open",
    "bad/maxminddb-golang_invalid-bytes-length.mmdb": "open",
    "bad/maxminddb-golang_invalid-data-record-offset.mmdb": "open",
    "bad/maxminddb-golang_invalid-map-key-length.mmdb": "open",
    "bad/maxminddb-golang_invalid-string-length.mmdb": "open",
    "bad/maxminddb-golang_metadata-is-an-uint128.mmdb": "open",
    "bad/maxminddb-golang_unexpected-bytes.mmdb": "open",
    "GeoIP2-City-Test-Invalid-Node-Count.mmdb": "open",
    "bad/libmaxminddb_libmaxminddb-deep-array-nesting.mmdb": {"1.1.1.1", "1.1.1.3", "1.1.1.32", "81.2.69.160"},
    "bad/libmaxminddb_libmaxminddb-deep-nesting.mmdb": {"1.1.1.1", "1.1.1.3", "1.1.1.32", "81.2.69.160"},
    "bad/libmaxminddb_libmaxminddb-oversized-array.mmdb": ALL,
    "bad/libmaxminddb_libmaxminddb-oversized-map.mmdb": ALL,
    "bad/libmaxminddb_libmaxminddb-separator-record-max-left.mmdb": ALL - {"255.255.255.255"},
    "bad/libmaxminddb_libmaxminddb-separator-record-min-left.mmdb": ALL - {"255.255.255.255"},
    "bad/libmaxminddb_libmaxminddb-separator-record-min-right.mmdb": {"255.255.255.255"},
    "bad/maxminddb-python_bad-unicode-in-map-key.mmdb": ALL - {"81.2.69.160"},
    "GeoIP2-City-Test-Broken-Double-Format.mmdb": {"81.2.69.160"},
    "MaxMind-DB-test-broken-pointers-24.mmdb": {"1.1.1.32"},
    "MaxMind-DB-test-broken-search-tree-24.mmdb": {"255.255.255.255"},
    "bad/libmaxminddb_libmaxminddb-corrupt-search-tree.mmdb": set(),
    "bad/libmaxminddb_libmaxminddb-empty-array-last-in-metadata.mmdb": set(),
    "bad/libmaxminddb_libmaxminddb-empty-map-last-in-metadata.mmdb": set(),
    "bad/libmaxminddb_libmaxminddb-uint64-max-epoch.mmdb": set(),
}


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate(monkeypatch, tmp_path / "data")


def test_every_corrupt_database_is_listed() -> None:
    on_disk = {f"bad/{p.name}" for p in BAD.glob("*.mmdb")}
    assert len(on_disk) == 21
    assert on_disk <= set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corrupt_database(name: str) -> None:
    path = DATA / name
    city = DATA / "GeoIP2-City-Test.mmdb"
    p = MmdbProvider([path, city], use_embedded=False, discover=False)
    recs = [AddressRecord(query=a, address=a) for a in PROBES]
    p.enrich(recs)
    infos = p.databases()
    p.close()
    want = EXPECTED[name]
    if want == "open":
        assert p.problems == [f"{path}: not a valid MaxMind DB file"]
        assert [d.path for d in infos] == [str(city)]
        assert all(r.errors == [] for r in recs)
    else:
        assert p.problems == []
        failed = {r.address for r in recs if r.errors}
        assert failed == want
        for r in recs:
            for err in r.errors:
                assert err.startswith(f"{path}: lookup of {r.address} failed (") and "\n" not in err
            assert len(r.errors) <= 1
    # The good database answers whatever the broken one did.
    london = next(r for r in recs if r.address == "81.2.69.160")
    assert london.location.country == "GB" and london.location.city == "London"


@pytest.mark.parametrize("name", sorted(n for n, w in EXPECTED.items() if w == set()))
def test_fine_databases_really_answer(name: str) -> None:
    """"Reads fine" means data for every probe, not an empty answer taken for success."""
    with maxminddb.open_database(str(DATA / name)) as r:
        assert all(r.get(a) is not None for a in PROBES)


def test_uint64_max_build_epoch_is_an_unknown_date() -> None:
    p = MmdbProvider([BAD / "libmaxminddb_libmaxminddb-uint64-max-epoch.mmdb"], use_embedded=False, discover=False)
    (info,) = p.databases()
    p.close()
    assert info.build_date is None and info.age_days is None
