"""`ipowner data update` against a loopback mirror serving the publishers' file formats (synthetic files).

The mirror is a plain HTTP server on 127.0.0.1 laid out as ``<host>/<path>`` of each publisher's URL, with
each file's ``.md5`` beside it, as the RIRs publish them.
"""

from __future__ import annotations

import hashlib
import json
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
from ipowner.datasets import update
from ipowner.datasets.delegations import PUBLISHERS
from ipowner.datasets.update import mirrored
from ipowner.model import Registration
from ipowner.paths import user_data_dir
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

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


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
    assert len(mirror.requests) == 10 + len(CLOUD)  # five files and their checksums, the cloud range files
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
    assert doc["schema"] == "ipowner.data/2"
    assert {s["registry"]: s["due"] for s in doc["registry_sources"]} == dict.fromkeys(
        ["AFRINIC", "APNIC", "ARIN", "LACNIC", "RIPE NCC"], False)

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
    assert not user_table_path().exists()


def test_a_mirror_that_is_not_an_http_url_is_a_usage_error(capsys):
    code, _out, err = run(capsys, "data", "update", "--mirror", "ftp://example.invalid/")
    assert code == 2 and "not an http(s) URL" in err
