"""`ipowner data update` against a loopback mirror serving the publishers' file formats (synthetic files).

The mirror is a plain HTTP server on 127.0.0.1 laid out as ``<host>/<path>`` of each publisher's URL, with
each file's ``.md5`` beside it, as the RIRs publish them, and the npm registry's version documents and
tarballs of the embedded database's inputs (synthetic packages at the shipped versions unless a test
publishes new ones).
"""

from __future__ import annotations

import base64
import hashlib
import io
import ipaddress
import json
import random
import tarfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import ipowner
from ipowner.cli._common import run_guarded
from ipowner.cli.commands import cli
from ipowner.datasets import embedded_build, npm, update
from ipowner.datasets.delegations import PUBLISHERS
from ipowner.datasets.update import mirrored
from ipowner.model import Registration
from ipowner.model.data import SCHEMA_DATA
from ipowner.paths import shipped, user_data_dir
from ipowner.reference.delegation_table import user_table_path

TODAY = datetime.now(UTC).strftime("%Y%m%d")

RECORDS = {
    "afrinic": ["afrinic|ZA|ipv4|196.11.0.0|65536|19930101|allocated|F36A4B7B"],
    "apnic": ["apnic|AU|ipv4|139.130.0.0|65536|20001218|allocated|A91872ED",
              "apnic|SG|ipv4|161.117.0.0|65536|19920709|allocated|A92E1062"],
    "arin": ["arin|US|ipv4|8.8.8.0|256|20140303|assigned|7f7e1f1b"],
    "lacnic": ["lacnic|BR|ipv4|200.160.0.0|4096|19980101|allocated|2a5e7a43"],
    "ripencc": ["ripencc|FR|ipv4|149.202.0.0|65536|19990426|assigned|9d5c7ed7",
                "ripencc|RO|ipv4|192.162.16.0|256|19930901|assigned|5f0a8c2e"],
}


def delegation_file(registry: str, records: list[str], end: str = TODAY) -> bytes:
    lines = ["# synthetic test data for ipowner, not a registry's file",
             f"2.3|{registry}|{end}|{len(records)}|19830101|{end}|+0000",
             f"{registry}|*|ipv4|*|{len(records)}|summary", *records]
    return ("\n".join(lines) + "\n").encode()


class Mirror:
    """A loopback server of a folder; counts the requests it answered."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.requests: list[str] = []
        mirror = self

        class Handler(SimpleHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return None

            def do_GET(self) -> None:
                mirror.requests.append(self.path)
                super().do_GET()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(root)))
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def put(self, url: str, body: bytes, *, md5: str | None = None) -> None:
        parts = urlsplit(url)
        target = self.root / parts.netloc / parts.path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
        digest = md5 if md5 is not None else hashlib.md5(body).hexdigest()
        (target.parent / (target.name + ".md5")).write_text(f"MD5 ({target.name}) = {digest}\n")

    def publish(self, records: dict[str, list[str]] = RECORDS, **overrides: bytes) -> None:
        for p in PUBLISHERS:
            key = p.filename.split("-")[1]
            self.put(p.url, overrides.get(key, delegation_file(key, records[key])))
        for c in CLOUD:
            self.put(c.url, (CLOUD_FILES / CLOUD_FIXTURES[c.name]).read_bytes())
        for spec in embedded_build.SOURCES:  # the versions the shipped database was built from: nothing to do
            self.put_npm(spec.package, SHIPPED_VERSIONS[spec.package], b"")

    def put_npm(self, package: str, version: str, tarball: bytes, *, integrity: str | None = None,
                shasum_only: bool = False) -> str:
        """A package version on the mirror's npm registry: its version document and its tarball."""
        url = f"{NPM}/{package}/-/{package.rsplit('/', 1)[-1]}-{version}.tgz"
        dist = {"tarball": url, "shasum": hashlib.sha1(tarball).hexdigest()}
        if not shasum_only:
            dist["integrity"] = integrity or "sha512-" + base64.b64encode(hashlib.sha512(tarball).digest()).decode()
        self.put(f"{NPM}/{package}/latest", json.dumps({"name": package, "version": version, "dist": dist}).encode())
        self.put(url, tarball)
        return url

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


NPM = "https://registry.npmjs.org"
SHIPPED_VERSIONS = {s["package"]: s["package_version"]
                    for s in json.loads(shipped("ipowner-embedded.json").read_text())["sources"]}


# The cloud range files the mirror serves: the providers with a synthetic fixture in tests/data/cloud.
CLOUD_FILES = Path(__file__).parent / "data" / "cloud"
CLOUD_FIXTURES = {"aws": "aws-ip-ranges-synthetic.json", "google-cloud": "google-cloud-synthetic.json"}
CLOUD = [i for i in update.cloud_inputs() if i.name in CLOUD_FIXTURES]


@pytest.fixture(autouse=True)
def cloud_inputs_with_fixtures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(update, "cloud_inputs", lambda: list(CLOUD))


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[Mirror]:
    m = Mirror(tmp_path / "mirror")
    m.root.mkdir()
    yield m
    m.close()


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run_guarded(cli, list(args))
    out = capsys.readouterr()
    return int(code), out.out, out.err


def registry_of(address: str) -> Registration:
    [rec] = ipowner.lookup(address, offline=True, discover=False).records
    assert rec.registry is not None
    return rec.registry


def test_mirror_urls_keep_the_publishers_host_and_path():
    assert mirrored("https://ftp.apnic.net/stats/apnic/x", "http://127.0.0.1:8/m") == "http://127.0.0.1:8/m/ftp.apnic.net/stats/apnic/x"
    assert mirrored("https://ftp.apnic.net/stats/apnic/x", None) == "https://ftp.apnic.net/stats/apnic/x"


def test_update_from_a_loopback_mirror_rebuilds_and_swaps_the_table(mirror, capsys, monkeypatch):
    assert registry_of("139.130.4.5").basis_date.date().isoformat() == "2026-06-17"  # the shipped table
    mirror.publish()
    code, out, err = run(capsys, "data", "update", "--mirror", mirror.base)
    assert code == 0, err
    # five files and their checksums, the cloud range files, the embedded database's three version documents
    assert len(mirror.requests) == 10 + len(CLOUD) + 3
    assert "embedded database: up to date" in out and not (user_data_dir() / "embedded-db").exists()
    assert (user_data_dir() / "cloud-ranges.json.xz").is_file()  # the rebuilt cloud snapshot, used from now on
    [rec] = ipowner.lookup("54.183.1.1", offline=True, discover=False).records
    assert (rec.traits["cloud_provider"], rec.traits["cloud_region"]) == ("aws", "us-west-1")
    assert out.count("MD5 matches the published checksum") == 5
    assert f"APNIC: 2026-06-17 -> {TODAY[:4]}-{TODAY[4:6]}-{TODAY[6:]}" in out
    assert "ARIN: none -> " in out and "ranges: " in out and "removed" in out
    assert user_table_path().is_file()
    reg = registry_of("139.130.4.5")
    assert (reg.registry, reg.opaque_id, reg.stale) == ("APNIC", "A91872ED", False)
    assert reg.basis_date.strftime("%Y%m%d") == TODAY
    assert registry_of("8.8.8.8").registry == "ARIN" and registry_of("8.8.8.8").basis == "delegation statistics"
    # `ipowner data` lists the new inputs: dated today, none due
    doc = json.loads(run(capsys, "data", "--format", "json")[1])
    assert doc["schema"] == SCHEMA_DATA
    assert {s["registry"]: s["due"] for s in doc["registry_sources"]} == dict.fromkeys(
        ["AFRINIC", "APNIC", "ARIN", "LACNIC", "RIPE NCC"], False)
    assert doc["cloud_sources"] and {c["path"] for c in doc["cloud_sources"]} == {
        str(user_data_dir() / "cloud-ranges.json.xz")}  # the rebuilt snapshot's files

    # A second update: one more block at APNIC; the table it replaces is kept
    more = {**RECORDS, "apnic": [*RECORDS["apnic"], "apnic|JP|ipv4|133.0.0.0|65536|19970101|allocated|B0"]}
    mirror.publish(more)
    monkeypatch.setenv("IPOWNER_DATA_MIRROR", mirror.base)  # the mirror from the environment this time
    code, out, err = run(capsys, "data", "update")
    assert code == 0, err
    assert "ranges: 1 added, 0 removed" in out and "previous kept as" in out
    assert (user_table_path().parent / "ipowner-delegations.previous.tsv.xz").is_file()
    assert registry_of("133.1.2.3").registry == "APNIC"


def test_a_bad_checksum_or_a_truncated_file_keeps_that_registrys_previous_input(mirror, capsys):
    mirror.publish()
    assert run(capsys, "data", "update", "--mirror", mirror.base)[0] == 0
    changed = {**RECORDS, "ripencc": ["ripencc|DE|ipv4|149.202.0.0|65536|19990426|assigned|9d5c7ed7"]}
    mirror.publish(changed)
    ripe = next(p for p in PUBLISHERS if p.registry == "RIPE NCC")
    mirror.put(ripe.url, delegation_file("ripencc", changed["ripencc"]), md5="0" * 32)
    afrinic = next(p for p in PUBLISHERS if p.registry == "AFRINIC")
    mirror.put(afrinic.url, delegation_file("afrinic", RECORDS["afrinic"])[:-12])  # cut inside the last line
    code, out, err = run(capsys, "data", "update", "--mirror", mirror.base)
    assert code == 4, err
    assert "FAILED RIPE NCC delegation statistics" in out and "differs from the published" in out
    assert "FAILED AFRINIC delegation statistics" in out and "truncated" in out
    assert registry_of("149.202.95.241").country == "FR"  # the previous RIPE NCC input stayed
    assert registry_of("196.11.240.215").registry == "AFRINIC"


def test_an_update_that_would_lose_a_registry_is_refused_and_changes_nothing(mirror, capsys):
    mirror.publish()
    ripe = next(p for p in PUBLISHERS if p.registry == "RIPE NCC")
    (mirror.root / urlsplit(ripe.url).netloc / urlsplit(ripe.url).path.lstrip("/")).unlink()
    code, _out, err = run(capsys, "data", "update", "--mirror", mirror.base)
    assert code == 1
    assert "would know nothing of RIPE NCC" in err and "the data is as it was" in err
    assert not user_table_path().exists()
    assert registry_of("149.202.95.241").basis_date.date().isoformat() == "2014-06-30"


def test_offline_never_updates(mirror, capsys):
    mirror.publish()
    code, _out, err = run(capsys, "data", "update", "--offline", "--mirror", mirror.base)
    assert code == 0 and mirror.requests == []
    assert "offline: nothing fetched; due: " in err and "ARIN delegation statistics (none in the table)" in err
    # the shipped cloud snapshot's files and the embedded database are all older than the due age
    assert "AWS ip-ranges.json" in err and "embedded database (" in err
    assert not user_table_path().exists() and not (user_data_dir() / "embedded-db").exists()


def test_a_mirror_that_is_not_an_http_url_is_a_usage_error(capsys):
    code, _out, err = run(capsys, "data", "update", "--mirror", "ftp://example.invalid/")
    assert code == 2 and "not an http(s) URL" in err


# -- the embedded database's npm inputs ---------------------------------------------------------------------

NEW = "2.3.2026113012"  # a version newer than the shipped ones (data of 2026-11-30)


def v4(a: str) -> str:
    return str(int(ipaddress.IPv4Address(a)))


def v6(a: str) -> str:
    return str(int(ipaddress.IPv6Address(a)))


def synthetic_rows(country: str = "SE", asn: str = "64500") -> dict[str, dict[int, list[list[str]]]]:
    """Small inputs in the packages' numeric CSV layout (start, end, value...)."""
    return {
        "asn": {4: [[v4("1.0.0.0"), v4("1.0.0.255"), asn, "Synthetic Org"],
                    [v4("9.9.9.0"), v4("9.9.9.255"), "64501", "Synthetic Other Org"]],
                6: [[v6("2001:4860::"), v6("2001:4860:ffff:ffff:ffff:ffff:ffff:ffff"), "64500", "Synthetic Org"]]},
        "dbip-country": {4: [[v4("1.0.0.0"), v4("1.0.0.255"), country]],
                         6: [[v6("2001:4860::"), v6("2001:4860:ffff:ffff:ffff:ffff:ffff:ffff"), "SE"]]},
        "asn-country": {4: [[v4("1.0.0.0"), v4("1.0.0.255"), "AU"]], 6: []},
    }


def tarball(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tf:
        for info, data in members:
            info.size = len(data) if info.isfile() else 0
            tf.addfile(info, io.BytesIO(data) if info.isfile() else None)
    return out.getvalue()


def synthetic_package(spec: embedded_build.SourceSpec, version: str, rows: dict[int, list[list[str]]],
                      extra: list[tuple[tarfile.TarInfo, bytes]] = ()) -> bytes:
    """An npm tarball laid out like the ip-location-db packages (synthetic data)."""
    pkg = {"name": spec.package, "version": version, "description": "synthetic test package for ipowner"}
    files = [(tarfile.TarInfo("package/package.json"), json.dumps(pkg).encode())]
    for n in (4, 6):
        text = "".join(",".join(f'"{c}"' if "," in c else c for c in row) + "\n" for row in rows[n])
        files.append((tarfile.TarInfo(f"package/{spec.stem}-ipv{n}-num.csv"), text.encode()))
    return tarball(files + list(extra))


def publish_packages(mirror: Mirror, version: str = NEW, only: str | None = None, **kw: str) -> None:
    rows = synthetic_rows(**kw)
    for spec in embedded_build.SOURCES:
        if only is None or spec.key == only:
            mirror.put_npm(spec.package, version, synthetic_package(spec, version, rows[spec.key]))


def location(address: str) -> tuple[str | None, int | None, str | None]:
    [rec] = ipowner.lookup(address, offline=True, discover=False).records
    return rec.location.country, rec.asn.number, rec.asn.name


def embedded_in_use(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    code, out, err = run(capsys, "data", "--format", "json")
    assert code == 0, err
    return next(d for d in json.loads(out)["databases"] if d["origin"] == "embedded")


def test_update_rebuilds_the_embedded_database_when_a_package_changed(mirror, capsys):
    shipped_answer = location("1.0.0.1")
    mirror.publish()
    publish_packages(mirror)
    code, out, err = run(capsys, "data", "update", "--mirror", mirror.base)
    assert code == 0, err
    assert out.count("sha512 matches the registry's integrity") == 3
    assert f"@ip-location-db/asn: 2.3.2026061719 (2026-06-17) -> {NEW} (2026-11-30)" in out
    assert "embedded ranges kept: asn " in out and "networks " in out
    assert "embedded database: rebuilt" in out and "the shipped database stays as it was" in out
    folder = user_data_dir() / "embedded-db"
    [db] = folder.glob("ipowner-embedded-*.mmdb")
    assert sorted(p.name for p in (folder / "inputs").iterdir()) == [
        f"ip-location-db-asn-{NEW}.tgz", f"ip-location-db-asn-country-{NEW}.tgz",
        f"ip-location-db-dbip-country-{NEW}.tgz"]
    # lookups use the rebuild; `ipowner data` shows it, its date and its inputs
    assert location("1.0.0.1") == ("SE", 64500, "Synthetic Org") != shipped_answer
    emb = embedded_in_use(capsys)
    assert emb["path"] == str(db) and emb["age_days"] == 0
    assert emb["build_date"][:10] == datetime.now(UTC).date().isoformat()
    assert "rebuilt by ipowner data update" in emb["description"]
    assert all(NEW in s["name"] for s in emb["sources"])
    assert {s["date"][:10] for s in emb["sources"]} == {"2026-11-30"}
    table = run(capsys, "data")[1]
    assert str(db) in table and f"@ip-location-db/asn {NEW}" in table

    # One package moves on: only its tarball is fetched, the others' kept tarballs are reused
    newer = "2.3.2026120100"
    publish_packages(mirror, newer, only="dbip-country", country="NO")
    mirror.requests.clear()
    code, out, err = run(capsys, "data", "update", "--mirror", mirror.base)
    assert code == 0, err
    tarballs = [r for r in mirror.requests if r.endswith(".tgz")]
    assert tarballs == [f"/registry.npmjs.org/@ip-location-db/dbip-country/-/dbip-country-{newer}.tgz"]
    assert f"@ip-location-db/dbip-country: {NEW} (2026-11-30) -> {newer} (2026-12-01)" in out
    assert f"@ip-location-db/asn: unchanged, {NEW} (2026-11-30)" in out
    assert "previous kept as" in out and "dbip-country 2 -> 2 (+0)" in out
    assert location("1.0.0.1") == ("NO", 64500, "Synthetic Org")
    previous = json.loads((folder / "ipowner-embedded.previous.json").read_text())
    assert (folder / previous["mmdb_file"]).is_file() and len(list(folder.glob("ipowner-embedded-*.mmdb"))) == 2

    # Nothing new: nothing is fetched but the version documents, nothing rebuilt
    mirror.requests.clear()
    code, out, _err = run(capsys, "data", "update", "--mirror", mirror.base)
    assert code == 0 and "embedded database: up to date" in out
    assert not [r for r in mirror.requests if r.endswith(".tgz")]


def test_a_tarball_that_differs_from_the_registrys_integrity_is_refused(mirror, capsys):
    shipped_answer = location("1.0.0.1")
    mirror.publish()
    publish_packages(mirror)
    asn = embedded_build.SOURCES[0]
    body = synthetic_package(asn, NEW, synthetic_rows()["asn"])
    mirror.put_npm(asn.package, NEW, body, integrity="sha512-" + base64.b64encode(hashlib.sha512(b"x").digest()).decode())
    code, out, err = run(capsys, "data", "update", "--mirror", mirror.base)
    assert code == 4, err
    [line] = [ln for ln in out.splitlines() if ln.startswith("FAILED")]
    assert line.startswith("FAILED @ip-location-db/asn (npm)") and "differs from the registry's integrity" in line
    assert "embedded database not rebuilt: no checked input of @ip-location-db/asn" in err
    assert location("1.0.0.1") == shipped_answer
    assert not (user_data_dir() / "embedded-db" / "ipowner-embedded.json").exists()

    # After a good rebuild, a bad tarball of a newer version keeps the previous input and the build in use
    mirror.put_npm(asn.package, NEW, body)
    assert run(capsys, "data", "update", "--mirror", mirror.base)[0] == 0
    assert location("1.0.0.1") == ("SE", 64500, "Synthetic Org")
    dbip = embedded_build.SOURCES[1]
    mirror.put_npm(dbip.package, "2.3.2026120100", synthetic_package(dbip, "2.3.2026120100", synthetic_rows("NO")["dbip-country"]),
                   integrity="sha512-" + base64.b64encode(hashlib.sha512(b"x").digest()).decode())
    code, out, err = run(capsys, "data", "update", "--mirror", mirror.base)
    assert code == 4 and "FAILED @ip-location-db/dbip-country (npm)" in out, err
    assert "embedded database: up to date (the previous inputs stay)" in out
    assert location("1.0.0.1") == ("SE", 64500, "Synthetic Org")


def test_only_a_shasum_published_is_checked_too(mirror, capsys):
    mirror.publish()
    for spec in embedded_build.SOURCES:
        mirror.put_npm(spec.package, NEW, synthetic_package(spec, NEW, synthetic_rows()[spec.key]), shasum_only=True)
    code, out, err = run(capsys, "data", "update", "--mirror", mirror.base)
    assert code == 0, err
    assert out.count("sha1 matches the registry's shasum") == 3 and location("1.0.0.1")[0] == "SE"


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


@pytest.mark.parametrize(("extra", "limits", "reason"), [
    ([(_member("package/../../../synthetic-escape"), b"x")], {}, "leaves the package folder"),
    ([(_member("/etc/synthetic-absolute"), b"x")], {}, "leaves the package folder"),
    ([(_member("package/synthetic-link", tarfile.SYMTYPE, "/etc/passwd"), b"")], {}, "is a link or a special file"),
    ([(_member("package/synthetic-hardlink", tarfile.LNKTYPE, "package/package.json"), b"")], {},
     "is a link or a special file"),
    ([(_member("package/synthetic-zeros"), bytes(3 << 20))], {"MAX_UNPACKED_BYTES": 1 << 20}, "1 MiB"),
    ([(_member("package/synthetic-noise"), random.Random(7).randbytes(3 << 20))], {"MAX_TARBALL_BYTES": 1 << 20},
     "larger than 1 MiB; refused"),
    ([], {"MAX_MEMBER_BYTES": 8 << 10}, "asn-country-ipv4-num.csv larger than 8 KiB; refused"),
], ids=["traversal", "absolute", "symlink", "hardlink", "gzip-bomb", "oversized-tarball", "oversized-member"])
def test_a_hostile_tarball_is_refused_and_changes_nothing(mirror, capsys, monkeypatch, extra, limits, reason):
    for name, value in limits.items():
        monkeypatch.setattr(npm, name, value)
    shipped_answer = location("1.0.0.1")
    mirror.publish()
    publish_packages(mirror)
    spec = embedded_build.SOURCES[2]
    rows = synthetic_rows()[spec.key]
    if "MAX_MEMBER_BYTES" in limits:  # only this package's CSV is over the limit
        rows = {4: rows[4] + [[str(n), str(n), "AU"] for n in range(1 << 24, (1 << 24) + 1000)], 6: rows[6]}
    mirror.put_npm(spec.package, NEW, synthetic_package(spec, NEW, rows, extra))
    code, out, err = run(capsys, "data", "update", "--mirror", mirror.base)
    assert code == 4, err
    failed = [ln for ln in out.splitlines() if ln.startswith("FAILED")]
    assert len(failed) == 1 and failed[0].startswith("FAILED @ip-location-db/asn-country (npm)"), out
    assert reason in failed[0] and "refused" in failed[0]
    assert location("1.0.0.1") == shipped_answer
    assert not (user_data_dir() / "embedded-db" / "ipowner-embedded.json").exists()
    assert not list((user_data_dir() / "embedded-db" / "inputs").glob("ip-location-db-asn-country-*"))


def test_a_version_document_naming_a_tarball_elsewhere_is_refused():
    doc = {"name": "@ip-location-db/asn", "version": NEW,
           "dist": {"tarball": "https://example.invalid/asn.tgz", "integrity": "sha512-AAAA"}}
    with pytest.raises(npm.NpmError, match="not on registry.npmjs.org"):
        npm.check_manifest(json.dumps(doc).encode(), "@ip-location-db/asn")
    with pytest.raises(npm.NpmError, match="where @ip-location-db/asn's was expected"):
        npm.check_manifest(json.dumps({**doc, "name": "synthetic-other"}).encode(), "@ip-location-db/asn")
    with pytest.raises(npm.NpmError, match="not JSON"):
        npm.check_manifest(b"[" * 200_000, "@ip-location-db/asn")
    no_digest = {**doc, "dist": {"tarball": f"{NPM}/@ip-location-db/asn/-/asn-{NEW}.tgz"}}
    with pytest.raises(npm.NpmError, match="no integrity or shasum"):
        npm.check_manifest(json.dumps(no_digest).encode(), "@ip-location-db/asn")


def test_a_damaged_rebuild_falls_back_to_the_shipped_database(capsys):
    folder = user_data_dir() / "embedded-db"
    folder.mkdir(parents=True)
    (folder / "ipowner-embedded.json").write_text(json.dumps(
        {"database_type": "ipowner-embedded", "mmdb_sha256": "ab" * 32, "mmdb_size": 10,
         "mmdb_file": "ipowner-embedded-abababababababab.mmdb"}))
    code, out, err = run(capsys, "data", "--format", "json")
    assert code == 4
    assert "ipowner-embedded-abababababababab.mmdb: missing" in err and "using the shipped embedded database" in err
    emb = next(d for d in json.loads(out)["databases"] if d["origin"] == "embedded")
    assert "embedded-db" not in emb["path"]


def test_packages_older_than_the_shipped_ones_are_not_built(mirror, capsys):
    shipped_answer = location("1.0.0.1")
    mirror.publish()
    publish_packages(mirror, "2.3.2026010100")  # a stale mirror: data of 2026-01-01
    code, out, err = run(capsys, "data", "update", "--mirror", mirror.base)
    assert code == 0, err
    assert "embedded database: not rebuilt: the shipped database's inputs are newer than the registry's" in out
    assert location("1.0.0.1") == shipped_answer
    assert not (user_data_dir() / "embedded-db" / "ipowner-embedded.json").exists()


def test_an_upgrade_shipping_newer_data_than_the_rebuild_wins(mirror, capsys, monkeypatch, tmp_path):
    mirror.publish()
    publish_packages(mirror)
    assert run(capsys, "data", "update", "--mirror", mirror.base)[0] == 0
    assert location("1.0.0.1")[0] == "SE"
    # the next ipowner release ships data of 2027: its database is used, the rebuild stays where it is
    upgraded = tmp_path / "upgraded-shipped-data"
    upgraded.mkdir()
    for f in shipped("ipowner-embedded.json").parent.iterdir():
        (upgraded / f.name).symlink_to(f)
    meta = json.loads(shipped("ipowner-embedded.json").read_text())
    for s in meta["sources"]:
        s["data_date"] = "2027-01-01"
    (upgraded / "ipowner-embedded.json").unlink()
    (upgraded / "ipowner-embedded.json").write_text(json.dumps(meta))
    monkeypatch.setattr("ipowner.paths.shipped_data_dir", lambda: upgraded)
    emb = embedded_in_use(capsys)
    assert "embedded-db" not in emb["path"] and "rebuilt" not in emb["description"]
    assert (user_data_dir() / "embedded-db" / "ipowner-embedded.json").is_file()
