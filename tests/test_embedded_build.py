"""The embedded database's build code path (ipowner.datasets.embedded_build, shared by the build script and
`ipowner data update`), run on a small synthetic input set (no npm needed): input checks, what is dropped
and recorded, and answers checked against the inputs; then the script end to end with a synthetic npm."""

from __future__ import annotations

import importlib.util
import ipaddress
import random
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import maxminddb
import pytest

from ipowner.datasets import embedded_build as build

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "build_embedded_db.py"


def _load_build() -> Any:
    spec = importlib.util.spec_from_file_location("build_embedded_db", SCRIPT)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["build_embedded_db"] = mod  # dataclasses need the module registered
    spec.loader.exec_module(mod)
    return mod


script = _load_build()


def v4(a: str) -> str:
    return str(int(ipaddress.IPv4Address(a)))


def v6(a: str) -> str:
    return str(int(ipaddress.IPv6Address(a)))


# Synthetic inputs in the packages' numeric CSV layout (start, end, value...).
SYNTHETIC: dict[str, dict[int, list[list[str]]]] = {
    "asn": {
        4: [
            [v4("1.0.0.0"), v4("1.0.0.255"), "13335", "Cloudflare, Inc."],
            [v4("8.8.8.0"), v4("8.8.8.255"), "15169", "Google LLC"],
            [v4("8.8.8.128"), v4("8.8.9.255"), "99", "Overlapping Org"],  # cut to 8.8.9.0-8.8.9.255
            [v4("8.8.8.16"), v4("8.8.8.31"), "98", "Contained Org"],  # inside 8.8.8.0/24: dropped
            [v4("9.0.0.10"), v4("9.0.0.5"), "1", "Backwards"],  # start > end
            [v4("10.0.0.0"), v4("10.255.255.255"), "1", "Private"],  # private space: dropped
            [v4("100.63.255.0"), v4("100.64.0.255"), "2", "Half CGNAT"],  # cut at 100.64.0.0/10
            [v4("11.0.0.0"), v4("11.0.0.255"), "0", "AS zero"],  # invalid ASN
            ["not-a-number", "x", "1", "junk"],
        ],
        6: [
            [v6("2001:4860::"), v6("2001:4860:ffff:ffff:ffff:ffff:ffff:ffff"), "15169", "Google LLC"],
            [v6("2001::"), v6("2001:0:ffff:ffff:ffff:ffff:ffff:ffff"), "6939", "Teredo"],  # looked through
            [v6("fe80::"), v6("febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), "7", "Link-local"],
        ],
    },
    "dbip-country": {
        4: [
            [v4("1.0.0.0"), v4("1.0.0.127"), "AU"],
            [v4("1.0.0.128"), v4("1.0.0.255"), "AU"],  # equal neighbour: joins into one /24
            [v4("8.8.8.0"), v4("8.8.8.255"), "US"],
            [v4("8.8.9.0"), v4("8.8.9.255"), "ZZ"],  # not a country
            [v4("100.63.255.0"), v4("100.63.255.255"), "EU"],  # a region, not a country
            [v4("200.0.0.0"), v4("200.0.0.255"), "br"],  # lower case is still BR
        ],
        6: [[v6("2001:4860::"), v6("2001:4860:ffff:ffff:ffff:ffff:ffff:ffff"), "US"]],
    },
    "asn-country": {
        4: [
            [v4("1.0.0.0"), v4("1.0.0.255"), "AU"],
            [v4("8.0.0.0"), v4("8.255.255.255"), "US"],
        ],
        6: [[v6("2001:4800::"), v6("2001:4bff:ffff:ffff:ffff:ffff:ffff:ffff"), "US"]],
    },
}
VERSIONS = {"asn": "2.3.2026061719", "dbip-country": "2.3.2026060120", "asn-country": "2.3.2026061719"}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    sources = [
        build.LoadedSource(spec, VERSIONS[spec.key], build.version_date(VERSIONS[spec.key]), SYNTHETIC[spec.key])
        for spec in build.SOURCES
    ]
    path = tmp_path_factory.mktemp("synthetic-embedded") / "synthetic-embedded.mmdb"
    meta = build.build(sources, path, build_time=datetime(2026, 11, 1, 12, 0, tzinfo=UTC))
    return meta, path


def test_answers(built: tuple[dict[str, Any], Path]) -> None:
    _, path = built
    with maxminddb.open_database(str(path)) as r:
        assert r.get("8.8.8.8") == {
            "country": {"iso_code": "US"},
            "registered_country": {"iso_code": "US"},
            "autonomous_system_number": 15169,
            "autonomous_system_organization": "Google LLC",
        }
        assert r.get_with_prefix_len("1.0.0.1") == (
            {"country": {"iso_code": "AU"}, "registered_country": {"iso_code": "AU"},
             "autonomous_system_number": 13335, "autonomous_system_organization": "Cloudflare, Inc."},
            24,
        )
        # The overlapping range kept only its own part; the invalid country left no country.
        assert r.get("8.8.9.1") == {"registered_country": {"iso_code": "US"}, "autonomous_system_number": 99,
                                    "autonomous_system_organization": "Overlapping Org"}
        assert r.get("8.1.2.3") == {"registered_country": {"iso_code": "US"}}
        assert r.get("200.0.0.1") == {"country": {"iso_code": "BR"}}
        assert r.get("100.63.255.1") == {"autonomous_system_number": 2, "autonomous_system_organization": "Half CGNAT"}
        for nothing in ("10.1.2.3", "100.64.0.1", "9.0.0.7", "11.0.0.1", "2001::1", "fe80::1", "7.7.7.7"):
            assert r.get(nothing) is None, nothing
        assert r.get("2001:4860:4860::8888") == {
            "country": {"iso_code": "US"}, "registered_country": {"iso_code": "US"},
            "autonomous_system_number": 15169, "autonomous_system_organization": "Google LLC",
        }
        assert r.get("2001:4900::1") == {"registered_country": {"iso_code": "US"}}
        m = r.metadata()
        assert m.database_type == "ipowner-embedded" and m.ip_version == 6
        assert m.build_epoch == int(datetime(2026, 11, 1, 12, 0, tzinfo=UTC).timestamp())
        assert "built 2026-11-01" in m.description["en"] and "@ip-location-db/asn 2.3.2026061719" in m.description["en"]


def test_random_answers_match_the_cleaned_inputs(built: tuple[dict[str, Any], Path]) -> None:
    """Merging, CIDR splitting and writing lose nothing: every address answers its input ranges."""
    _, path = built
    layers = {}
    for spec in build.SOURCES:
        layers[spec.key] = build.parse_rows(SYNTHETIC[spec.key][4], spec.kind, 4, build.DropLog())
    rng = random.Random(7)
    probes = [rng.randrange(int(ipaddress.IPv4Address("0.255.255.0")), int(ipaddress.IPv4Address("12.0.0.0")))
              for _ in range(3000)]
    probes += [s + d for rs in layers.values() for s, e, _ in rs for d in (0, e - s)]
    with maxminddb.open_database(str(path)) as r:
        for n in probes:
            val = {k: v for k, rs in layers.items() for s, e, v in rs if s <= n <= e}
            want = build.record_for(val, build.SOURCES) or None
            assert r.get(str(ipaddress.IPv4Address(n))) == want, ipaddress.IPv4Address(n)


def test_drops_are_recorded(built: tuple[dict[str, Any], Path]) -> None:
    meta, _ = built
    asn4 = meta["dropped"]["asn"]["ipv4"]
    assert asn4["start > end"]["count"] == 1
    assert asn4["overlap: cut to the part after the earlier range"]["examples"] == [
        "8.8.8.128-8.8.9.255 AS99 Overlapping Org overlaps 8.8.8.0-8.8.8.255 AS15169 Google LLC"
    ]
    assert asn4["overlap: contained in an earlier range, dropped"]["count"] == 1
    assert asn4["invalid ASN"]["count"] == 1
    assert asn4["unparsable row"]["count"] == 1
    assert asn4["special or non-global space (private): dropped"]["count"] == 1
    assert asn4["special or non-global space (shared (CGNAT)): cut"]["count"] == 1
    asn6 = meta["dropped"]["asn"]["ipv6"]
    assert asn6["special or non-global space (Teredo (looked through)): dropped"]["count"] == 1
    assert asn6["special or non-global space (outside global unicast 2000::/3): dropped"]["count"] == 1
    dbip4 = meta["dropped"]["dbip-country"]["ipv4"]
    assert dbip4["invalid country code"]["count"] == 2
    assert "asn-country" not in meta["dropped"]


def test_metadata_document(built: tuple[dict[str, Any], Path]) -> None:
    meta, path = built
    import hashlib

    assert meta["build_date"] == "2026-11-01T12:00:00Z"
    assert meta["mmdb_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert meta["mmdb_size"] == path.stat().st_size
    by_key = {s["key"]: s for s in meta["sources"]}
    assert by_key["dbip-country"]["data_date"] == "2026-06-01"
    assert by_key["asn"]["data_date"] == "2026-06-17"
    assert all(s["licence"] == "CC BY 4.0" and s["credit"] and s["url"].startswith("https://") for s in meta["sources"])
    assert "db-ip.com" in by_key["dbip-country"]["credit"]
    assert meta["fields"]["location.country"] == "dbip-country"
    assert meta["counts"]["asn"]["ipv4_rows"] == 9
    assert meta["counts"]["ipv4_segments"] >= 5


def test_version_date() -> None:
    assert build.version_date("2.3.2026061719") == date(2026, 6, 17)
    assert build.version_date("1.0.0") is None
    assert build.version_date("2.3.2026139919") is None


def test_range_to_cidrs_matches_ipaddress() -> None:
    rng = random.Random(3)
    for bits, cls in ((32, ipaddress.IPv4Address), (128, ipaddress.IPv6Address)):
        for _ in range(300):
            a = rng.randrange(1 << bits)
            b = min(a + rng.randrange(1 << rng.randrange(1, 40)), (1 << bits) - 1)
            got = [f"{cls(n)}/{p}" for n, p in build.range_to_cidrs(a, b, bits)]
            want = [str(n) for n in ipaddress.summarize_address_range(cls(a), cls(b))]
            assert got == want
    assert list(build.range_to_cidrs(0, (1 << 32) - 1, 32)) == [(0, 0)]


FAKE_NPM = r'''#!{python}
"""Synthetic stand-in for `npm pack PKG@VER --json --pack-destination DIR` (tests only)."""
import io, json, sys, tarfile
from pathlib import Path

args = sys.argv[1:]
spec, dest = args[1], Path(args[args.index("--pack-destination") + 1])
name, _, version = spec.rpartition("@") if spec.count("@") > 1 else (spec, "", "2.3.2026061719")
files = json.loads(Path({fixture!r}).read_text())[name]
out = dest / (name.strip("@").replace("/", "-") + f"-{{version}}.tgz")
with tarfile.open(out, "w:gz") as tf:
    for fname, text in [("package.json", json.dumps({{"name": name, "version": version}}))] + list(files.items()):
        data = text.encode()
        info = tarfile.TarInfo(f"package/{{fname}}")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
print(json.dumps([{{"filename": out.name}}]))
'''


@pytest.mark.slow  # the embedded-data build script
def test_build_script_end_to_end_with_a_synthetic_npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """fetch (npm pack) -> read the tarballs -> build -> xz + JSON, then the provider reads the result."""
    import hashlib
    import json
    import lzma
    import os

    fixture = tmp_path / "synthetic-npm-packages.json"
    packages = {}
    for spec in build.SOURCES:
        packages[spec.package] = {
            f"{spec.stem}-ipv{v}-num.csv": "".join(",".join(f'"{c}"' if "," in c else c for c in row) + "\n"
                                                   for row in SYNTHETIC[spec.key][v])
            for v in (4, 6)
        }
    fixture.write_text(json.dumps(packages))
    bindir = tmp_path / "bin"
    bindir.mkdir()
    npm = bindir / "npm"
    npm.write_text(FAKE_NPM.format(python=sys.executable, fixture=str(fixture)))
    npm.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    out = tmp_path / "out"
    out.mkdir()
    rc = script.main(["--cache", str(tmp_path / "cache"), "--out", str(out),
                     "--version", "@ip-location-db/dbip-country=2.3.2026060120"])
    assert rc == 0
    meta = json.loads((out / "ipowner-embedded.json").read_text())
    raw = lzma.decompress((out / "ipowner-embedded.mmdb.xz").read_bytes())
    assert hashlib.sha256(raw).hexdigest() == meta["mmdb_sha256"] and len(raw) == meta["mmdb_size"]
    assert meta["xz_size"] == (out / "ipowner-embedded.mmdb.xz").stat().st_size
    versions = {s["package"]: (s["package_version"], s["data_date"]) for s in meta["sources"]}
    assert versions["@ip-location-db/dbip-country"] == ("2.3.2026060120", "2026-06-01")
    assert versions["@ip-location-db/asn"] == ("2.3.2026061719", "2026-06-17")
    assert meta["dropped"]["asn"]["ipv4"]["start > end"]["count"] == 1
    assert not list(out.glob("*.tmp"))

    from ipowner.model import AddressRecord
    from ipowner.providers.mmdb import embedded
    from ipowner.providers.mmdb.reader import MmdbProvider

    monkeypatch.setenv("IPOWNER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IPOWNER_NO_SYSTEM_MMDB", "1")
    monkeypatch.setattr("ipowner.paths.shipped_data_dir", lambda: out)
    assert embedded.embedded().source.date is not None
    p = MmdbProvider([], discover=False)
    rec = AddressRecord(query="1.0.0.1", address="1.0.0.1")
    p.enrich([rec])
    p.close()
    assert (rec.location.country, rec.registered_country, rec.asn.number, rec.asn.name) == (
        "AU", "AU", 13335, "Cloudflare, Inc.")
    assert rec.sources["embedded:dbip-country"].date.isoformat().startswith("2026-06-01")
