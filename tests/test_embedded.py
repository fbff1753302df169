"""The shipped embedded database (answers, dates, size) and how it is unpacked into the user data
folder: once, atomically, again when the shipped sha256 changes, safely when processes race."""

from __future__ import annotations

import hashlib
import json
import lzma
import os
import subprocess
import sys
import time
from pathlib import Path

import maxminddb
import pytest

from ipowner import paths
from ipowner.errors import DatabaseError
from ipowner.model import AddressRecord
from ipowner.providers.mmdb import embedded
from ipowner.providers.mmdb.reader import MmdbProvider
from mmdb_support import isolate, write_mmdb


@pytest.fixture
def data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    isolate(monkeypatch, tmp_path / "data")
    return tmp_path / "data"


def make_shipped(folder: Path, country: str = "US") -> dict[str, object]:
    """A tiny stand-in for data/ (synthetic database, same file names and JSON keys)."""
    folder.mkdir(parents=True, exist_ok=True)
    mmdb = write_mmdb(folder / "synthetic.mmdb", {"8.8.8.0/24": {"country": {"iso_code": country},
                                                                 "autonomous_system_number": 15169}},
                      "ipowner-embedded")
    raw = mmdb.read_bytes()
    mmdb.unlink()
    (folder / embedded.XZ_NAME).write_bytes(lzma.compress(raw))
    meta = {
        "build_date": "2026-11-01T12:00:00Z",
        "mmdb_sha256": hashlib.sha256(raw).hexdigest(),
        "mmdb_size": len(raw),
        "sources": [{"id": "embedded:dbip-country", "key": "dbip-country", "name": "synthetic country",
                     "package": "synthetic", "package_version": "1", "data_date": "2026-06-01",
                     "licence": "CC BY 4.0", "credit": "synthetic credit"}],
        "fields": {"location.country": "dbip-country"},
    }
    (folder / embedded.META_NAME).write_text(json.dumps(meta))
    return meta


# -- the shipped database --------------------------------------------------------------------------


def test_shipped_answers(data_dir: Path) -> None:
    p = MmdbProvider([], discover=False)
    recs = [AddressRecord(query=a, address=a) for a in ("8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "10.0.0.1")]
    p.enrich(recs)
    (info,) = p.databases()
    p.close()
    google, cloudflare, google6, private = recs
    assert google.location.country == "US" and google.registered_country == "US"
    assert (google.asn.number, google.asn.name) == (15169, "Google LLC")
    assert google.provenance == {
        "location.country": "embedded:dbip-country",
        "registered_country": "embedded:asn-country",
        "asn.number": "embedded:asn",
        "asn.name": "embedded:asn",
        "asn.network": "embedded:asn",
    }
    assert cloudflare.asn.number == 13335
    assert google6.asn.number == 15169 and google6.asn.network.startswith("2001:4860:")
    assert private.provenance == {}  # no data for private space
    assert google.sources["embedded:dbip-country"].date is not None
    assert "db-ip.com" in google.sources["embedded:dbip-country"].credit
    assert info.origin == "embedded" and info.database_type == "ipowner-embedded"
    assert info.build_date is not None and {s.id for s in info.sources} == {
        "embedded:asn", "embedded:dbip-country", "embedded:asn-country"}
    assert all(s.date is not None and s.licence == "CC BY 4.0" for s in info.sources)


def test_shipped_metadata_and_size(data_dir: Path) -> None:
    shipped = paths.shipped_data_dir()
    meta = embedded.load_metadata()
    assert (shipped / embedded.XZ_NAME).stat().st_size < 8_000_000
    assert meta["build_date"].endswith("Z")
    assert {s["key"] for s in meta["sources"]} == {"asn", "dbip-country", "asn-country"}
    assert all(s["data_date"] and s["package_version"] for s in meta["sources"])
    path = embedded.ensure_unpacked(meta)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == meta["mmdb_sha256"]
    with maxminddb.open_database(str(path)) as r:
        m = r.metadata()
        assert m.database_type == "ipowner-embedded" and m.ip_version == 6
        assert meta["build_date"][:10] in m.description["en"]
        assert r.get("8.8.8.8")["autonomous_system_number"] == 15169
        assert r.get("1.1.1.1")["autonomous_system_number"] == 13335


# -- unpacking -------------------------------------------------------------------------------------


def test_unpacks_once_then_reuses(data_dir: Path, tmp_path: Path) -> None:
    shipped = tmp_path / "shipped"
    meta = make_shipped(shipped)
    path = embedded.ensure_unpacked(data_dir=shipped)
    assert path.parent == data_dir / "embedded"
    assert path.name == f"ipowner-embedded-{str(meta['mmdb_sha256'])[:16]}.mmdb"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == meta["mmdb_sha256"]
    inode = path.stat().st_ino
    (shipped / embedded.XZ_NAME).unlink()  # a second call must not need the archive
    assert embedded.ensure_unpacked(data_dir=shipped) == path
    assert path.stat().st_ino == inode
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_new_sha_unpacks_again_and_removes_the_old(data_dir: Path, tmp_path: Path) -> None:
    shipped = tmp_path / "shipped"
    make_shipped(shipped, "US")
    old = embedded.ensure_unpacked(data_dir=shipped)
    make_shipped(shipped, "FR")
    new = embedded.ensure_unpacked(data_dir=shipped)
    assert new != old and not old.exists()
    with maxminddb.open_database(str(new)) as r:
        assert r.get("8.8.8.8")["country"]["iso_code"] == "FR"


def test_truncated_copy_is_replaced(data_dir: Path, tmp_path: Path) -> None:
    shipped = tmp_path / "shipped"
    meta = make_shipped(shipped)
    path = embedded.ensure_unpacked(data_dir=shipped)
    path.write_bytes(path.read_bytes()[:100])  # e.g. a disk that filled up behind our back
    again = embedded.ensure_unpacked(data_dir=shipped)
    assert again == path and hashlib.sha256(path.read_bytes()).hexdigest() == meta["mmdb_sha256"]


def test_leftovers_of_killed_processes(data_dir: Path, tmp_path: Path) -> None:
    shipped = tmp_path / "shipped"
    make_shipped(shipped)
    folder = data_dir / "embedded"
    folder.mkdir(parents=True)
    stale = folder / ".ipowner-embedded-0000.mmdb.abc.tmp"
    stale.write_bytes(b"half a database")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    fresh = folder / ".ipowner-embedded-0000.mmdb.def.tmp"  # another process may still be writing it
    fresh.write_bytes(b"being written")
    path = embedded.ensure_unpacked(data_dir=shipped)
    assert not stale.exists() and fresh.exists() and path.exists()


def test_corrupt_or_missing_archive_is_a_database_error(data_dir: Path, tmp_path: Path) -> None:
    shipped = tmp_path / "shipped"
    make_shipped(shipped)
    (shipped / embedded.XZ_NAME).write_bytes(b"not xz at all")
    with pytest.raises(DatabaseError, match="cannot unpack the embedded database"):
        embedded.ensure_unpacked(data_dir=shipped)
    meta = json.loads((shipped / embedded.META_NAME).read_text())
    meta["mmdb_sha256"] = "0" * 64
    (shipped / embedded.META_NAME).write_text(json.dumps(meta))
    make_shipped(tmp_path / "other")
    (shipped / embedded.XZ_NAME).write_bytes((tmp_path / "other" / embedded.XZ_NAME).read_bytes())
    with pytest.raises(DatabaseError, match="does not match its sha256"):
        embedded.ensure_unpacked(data_dir=shipped)
    (shipped / embedded.XZ_NAME).unlink()
    with pytest.raises(DatabaseError, match="missing"):
        embedded.ensure_unpacked(data_dir=shipped)
    assert not any((data_dir / "embedded").glob("*.tmp"))
    with pytest.raises(DatabaseError, match="metadata is missing"):
        embedded.load_metadata(tmp_path / "nowhere")


def test_unwritable_data_dir_falls_back_to_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    blocker = tmp_path / "data-is-a-file"
    blocker.write_text("")
    isolate(monkeypatch, blocker)  # user data dir cannot hold folders
    monkeypatch.setenv("IPOWNER_CACHE_DIR", str(tmp_path / "cache"))
    shipped = tmp_path / "shipped"
    make_shipped(shipped)
    path = embedded.ensure_unpacked(data_dir=shipped)
    assert path.parent == tmp_path / "cache" / "embedded"


def test_provider_reports_missing_embedded_data(data_dir: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(paths, "shipped_data_dir", lambda: tmp_path / "empty")
    p = MmdbProvider([], discover=False)
    assert p.databases() == []
    assert len(p.problems) == 1 and "embedded database metadata is missing" in p.problems[0]


def test_racing_processes_get_one_complete_copy(data_dir: Path, tmp_path: Path) -> None:
    shipped = tmp_path / "shipped"
    meta = make_shipped(shipped)
    code = (
        "import sys, pathlib; from ipowner.providers.mmdb import embedded; "
        "print(embedded.ensure_unpacked(data_dir=pathlib.Path(sys.argv[1])))"
    )
    env = {**os.environ, "IPOWNER_DATA_DIR": str(data_dir)}
    procs = [subprocess.Popen([sys.executable, "-c", code, str(shipped)], env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(4)]
    outs = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    (path,) = outs
    assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == meta["mmdb_sha256"]
    assert [p.name for p in (data_dir / "embedded").iterdir()] == [Path(path).name]


def test_embedded_sources(data_dir: Path, tmp_path: Path) -> None:
    shipped = tmp_path / "shipped"
    make_shipped(shipped)
    emb = embedded.embedded(shipped)
    assert emb.source.id == "embedded" and emb.source.kind == "mmdb"
    assert emb.source.date is not None and emb.source.date.isoformat() == "2026-11-01T12:00:00+00:00"
    assert emb.source.licence == "CC BY 4.0" and emb.source.credit == "synthetic credit"
    comp = emb.components["location.country"]
    assert comp.id == "embedded:dbip-country" and comp.date is not None and comp.date.year == 2026


def test_unexpected_values_in_the_embedded_database_are_filtered(data_dir: Path, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path trusts the layout, not the values: a record of the wrong types is mapped the slow way."""
    shipped = tmp_path / "shipped"
    make_shipped(shipped)
    raw_path = write_mmdb(tmp_path / "odd.mmdb", {
        "8.8.8.0/24": {"country": {"iso_code": 5}, "registered_country": {"iso_code": "FR"},
                       "autonomous_system_number": "not a number"},
        "9.9.9.0/24": {"country": "flat", "autonomous_system_number": 19281},
    }, "ipowner-embedded")
    raw = raw_path.read_bytes()
    (shipped / embedded.XZ_NAME).write_bytes(lzma.compress(raw))
    meta = json.loads((shipped / embedded.META_NAME).read_text())
    meta.update(mmdb_sha256=hashlib.sha256(raw).hexdigest(), mmdb_size=len(raw))
    (shipped / embedded.META_NAME).write_text(json.dumps(meta))
    monkeypatch.setattr(paths, "shipped_data_dir", lambda: shipped)
    p = MmdbProvider([], discover=False)
    odd, flat = (AddressRecord(query=a, address=a) for a in ("8.8.8.8", "9.9.9.9"))
    p.enrich([odd, flat])
    p.close()
    assert p.problems == []
    assert odd.location.country is None and odd.asn is None and odd.registered_country == "FR"
    assert odd.provenance == {"registered_country": "embedded"}
    assert flat.location.country is None and flat.asn is not None and flat.asn.number == 19281
    assert flat.asn.network == "9.9.9.0/24" and flat.errors == []
