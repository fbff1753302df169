"""Where databases are found: IPOWNER_MMDB_PATH, the user data folder, the system GeoIP folders."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ipowner.model import AddressRecord
from ipowner.providers.mmdb import discovery
from ipowner.providers.mmdb.reader import MmdbProvider
from mmdb_support import DATA, isolate


@pytest.fixture
def data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    isolate(monkeypatch, tmp_path / "data")
    return tmp_path / "data"


def test_system_folders_are_searched_unless_turned_off(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert discovery.search_locations() == [data_dir / "mmdb"]
    monkeypatch.delenv("IPOWNER_NO_SYSTEM_MMDB")
    locs = discovery.search_locations()
    assert locs[0] == data_dir / "mmdb"
    assert [str(p) for p in locs[1:]] == ["/usr/share/GeoIP", "/var/lib/GeoIP", "/usr/local/share/GeoIP"]
    assert discovery.search_locations(system=False) == [data_dir / "mmdb"]


def test_env_path_files_and_folders_then_data_dir(data_dir: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "geoip"
    folder.mkdir()
    shutil.copy(DATA / "GeoLite2-ASN-Test.mmdb", folder / "b-asn.mmdb")
    shutil.copy(DATA / "GeoIP2-Country-Test.mmdb", folder / "a-country.mmdb")
    (folder / "notes.txt").write_text("not a database")
    (data_dir / "mmdb").mkdir(parents=True)
    shutil.copy(DATA / "GeoIP2-Domain-Test.mmdb", data_dir / "mmdb" / "domain.mmdb")
    single = DATA / "GeoIP2-City-Test.mmdb"
    monkeypatch.setenv("IPOWNER_MMDB_PATH", os.pathsep.join([str(single), str(folder), str(single)]))
    found = discovery.discover()
    assert found == [single, folder / "a-country.mmdb", folder / "b-asn.mmdb", data_dir / "mmdb" / "domain.mmdb"]


def test_missing_env_file_becomes_a_problem(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "gone.mmdb"
    monkeypatch.setenv("IPOWNER_MMDB_PATH", os.pathsep.join([str(missing), str(tmp_path / "no-such-folder")]))
    assert discovery.discover() == [missing]
    p = MmdbProvider(use_embedded=False)
    assert p.problems == [f"{missing}: no such file"]
    p.close()


def test_given_before_discovered_and_no_duplicates(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    city = DATA / "GeoIP2-City-Test.mmdb"
    country = DATA / "GeoIP2-Country-Test.mmdb"
    monkeypatch.setenv("IPOWNER_MMDB_PATH", os.pathsep.join([str(city), str(country)]))
    p = MmdbProvider([country], use_embedded=False)
    infos = p.databases()
    assert [(d.path, d.origin) for d in infos] == [(str(country), "given"), (str(city), "discovered")]
    # Equal prefixes: the database given first answers.
    rec = AddressRecord(query="81.2.69.160", address="81.2.69.160")
    p.enrich([rec])
    p.close()
    assert rec.provenance["location.country"] == "mmdb:GeoIP2-Country"
    assert rec.provenance["location.city"] == "mmdb:GeoIP2-City"


def test_discover_false_ignores_everything_found(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IPOWNER_MMDB_PATH", str(DATA / "GeoIP2-City-Test.mmdb"))
    p = MmdbProvider(use_embedded=False, discover=False)
    assert p.databases() == []
    p.close()
