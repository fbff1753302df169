"""Compressed captures and logs (gzip, bzip2, xz, zstd): found by content, streamed, hashed as given."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import ipaddress
import json
import lzma
import shutil
import subprocess
from pathlib import Path

import pytest
import zstandard
from click.testing import CliRunner

from capture_support import DATA, all_readers
from dpkt_oracle import oracle_traffic
from ipowner import traffic
from ipowner.capture import traffic as traffic_module
from ipowner.capture.core import core_available
from ipowner.cli import cli
from ipowner.cli.commands import cli as _registered  # noqa: F401 - registers the subcommands

COMPRESS = {
    "gzip": gzip.compress,
    "bzip2": lambda data: bz2.compress(data, 1),  # 100 kB blocks: a cut file still holds whole ones
    "xz": lzma.compress,
    "zstd": lambda data: zstandard.ZstdCompressor(write_checksum=True).compress(data),  # as the zstd tool writes
}
ZSTD_PCAPNG = DATA / "pcpp--pcapng-example.pcapng.zst"
TSHARK = shutil.which("tshark")


def _copy(tmp_path: Path, source: Path, kind: str, data: bytes | None = None) -> Path:
    # a misleading name on purpose: the content decides
    out = tmp_path / f"{source.stem}-{kind}.capture"
    out.write_bytes(COMPRESS[kind](source.read_bytes() if data is None else data))
    return out


def _without_inputs(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k not in ("inputs",)}


@pytest.mark.parametrize("kind", sorted(COMPRESS))
@pytest.mark.parametrize("name", ["ndpi--wechat.pcap", "ndpi--sites.pcapng"])
def test_compressed_copies_give_the_totals_of_the_capture(tmp_path, kind, name):
    plain = DATA / name
    packed = _copy(tmp_path, plain, kind)
    want = all_readers([plain])
    got = all_readers([packed])  # every walker agrees on the compressed copy too
    assert _without_inputs(got) == _without_inputs(want)
    (i,), (j,) = got["inputs"], want["inputs"]
    assert i["sha256"] == hashlib.sha256(packed.read_bytes()).hexdigest() != j["sha256"]
    assert (i["format"], i["records"], i["partial"], i["warnings"]) == (j["format"], j["records"], False, [])


@pytest.mark.parametrize("kind", sorted(COMPRESS))
def test_compressed_logs_and_text(tmp_path, kind):
    log = DATA / "logs" / "wikipedia.pcap.conn.log"
    text = tmp_path / "addresses.txt"
    text.write_text("seen 198.51.100.7 and 2001:db8::1 today\n" * 3, encoding="utf-8")
    for plain in (log, text):
        want, got = traffic([plain]).to_dict(), traffic([_copy(tmp_path, plain, kind)]).to_dict()
        assert _without_inputs(got) == _without_inputs(want)
        assert got["inputs"][0]["format"] == want["inputs"][0]["format"]


def test_a_zstd_pcapng_from_the_field_equals_its_content(tmp_path):
    """PcapPlusPlus's zstd-compressed pcapng test file against the same file decompressed."""
    plain = tmp_path / "plain.pcapng"
    with ZSTD_PCAPNG.open("rb") as f:
        plain.write_bytes(zstandard.ZstdDecompressor().stream_reader(f).read())
    # compared as records, not documents: its timestamps are out of the range a document can write
    want = traffic([plain], compiled=False)
    runs = [traffic([ZSTD_PCAPNG], compiled=False), oracle_traffic([ZSTD_PCAPNG])]
    if core_available():
        runs.append(traffic([ZSTD_PCAPNG], compiled=True))
    for got in runs:
        assert got.destinations == want.destinations and got.device_summaries == want.device_summaries
        (i,) = got.inputs
        assert (i.format, i.records, i.partial) == ("pcapng", 159, False)
        assert i.sha256 == hashlib.sha256(ZSTD_PCAPNG.read_bytes()).hexdigest()
    assert len(want.destinations) > 3


@pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")
def test_a_zstd_pcapng_from_the_field_equals_tshark_endpoints():
    out = subprocess.run([TSHARK, "-n", "-q", "-r", str(ZSTD_PCAPNG), "-z", "endpoints,ip", "-z", "endpoints,ipv6"],
                         capture_output=True, text=True, timeout=120).stdout
    ends = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 7 and parts[1].isdigit():
            ends[ipaddress.ip_address(parts[0]).compressed] = [int(parts[1]), int(parts[2])]
    res = traffic([ZSTD_PCAPNG])
    ours: dict[str, list[int]] = {}
    for d in list(res.destinations) + list(res.device_summaries):
        t = ours.setdefault(d.address, [0, 0])
        t[0] += d.packets_sent + d.packets_received
        t[1] += d.bytes_sent + d.bytes_received
    assert ends and {k: v for k, v in ours.items() if v != [0, 0]} == ends


@pytest.mark.parametrize("kind", sorted(COMPRESS))
def test_stdin_compressed(kind):
    data = COMPRESS[kind]((DATA / "zeek--http_get.pcap").read_bytes())
    r = CliRunner().invoke(cli, ["traffic", "--format", "json", "-"], input=data)
    assert r.exit_code == 0 and "bro.org" in r.stdout
    assert json.loads(r.stdout)["inputs"][0]["sha256"] == hashlib.sha256(data).hexdigest()


def _one_line_and_exit(path: Path, kind: str, why: str, code: int = 4) -> dict:
    """One line says why; exit 4 when some of the input was read, 1 when none was."""
    r = CliRunner().invoke(cli, ["traffic", "--format", "json", str(path)])
    assert r.exit_code == code, r.output
    assert "Traceback" not in r.output
    lines = [ln for ln in r.stderr.splitlines() if f"{kind}-compressed" in ln]
    assert len(lines) == 1 and why in lines[0] and path.name in lines[0], r.stderr
    doc = json.loads(r.stdout)
    assert doc["partial"] is True and doc["inputs"][0]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    return doc


@pytest.mark.parametrize("kind", sorted(COMPRESS))
def test_a_cut_compressed_capture_keeps_what_was_read(tmp_path, kind):
    whole = _copy(tmp_path, DATA / "ndpi--wechat.pcap", kind).read_bytes()
    cut = tmp_path / f"cut-{kind}.capture"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    doc = _one_line_and_exit(cut, kind, f"cut short after {len(whole) * 2 // 3} bytes")
    full = traffic([DATA / "ndpi--wechat.pcap"]).inputs[0].records
    assert 0 < doc["inputs"][0]["records"] < full
    assert doc["inputs"][0]["warnings"][0].startswith(f"{cut}: {kind}-compressed input: ")


@pytest.mark.parametrize("kind", sorted(COMPRESS))
def test_a_damaged_compressed_capture_keeps_what_was_read(tmp_path, kind):
    data = bytearray(_copy(tmp_path, DATA / "ndpi--wechat.pcap", kind).read_bytes())
    for k in range(len(data) // 2, len(data) // 2 + 64):
        data[k] ^= 0x5A
    bad = tmp_path / f"damaged-{kind}.capture"
    bad.write_bytes(bytes(data))
    _one_line_and_exit(bad, kind, "damaged")


@pytest.mark.parametrize("head", ["1f8b08006a756e6b6a756e6b", "425a6839", "fd377a585a00", "28b52ffd"])
def test_a_compressed_stream_that_stops_in_its_header(tmp_path, head):
    path = tmp_path / "header-only"
    path.write_bytes(bytes.fromhex(head))
    kind = {"1f": "gzip", "42": "bzip2", "fd": "xz", "28": "zstd"}[head[:2]]
    doc = _one_line_and_exit(path, kind, "nothing came out before it", code=1)  # nothing read: exit 1
    assert doc["inputs"][0]["records"] == 0


def test_a_decompression_bomb_is_stopped(tmp_path, monkeypatch):
    monkeypatch.setattr(traffic_module, "BOMB_FLOOR", 1 << 20)  # the budget's floor, small for a quick test
    header = bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000")
    record = bytes.fromhex("00000000000000000000010000000100") + bytes(65536)  # zero frames: not IP
    bomb = tmp_path / "bomb.pcap"
    bomb.write_bytes(gzip.compress(header + record * 200, 9))
    doc = _one_line_and_exit(bomb, "gzip", f"expands more than {traffic_module.BOMB_RATIO}:1")
    assert doc["inputs"][0]["records"] < 200


def test_compressed_content_that_is_not_readable_says_so(tmp_path):
    junk = tmp_path / "junk.gz"
    junk.write_bytes(gzip.compress(b"\x00\x01\x02\x03" * 100))
    r = CliRunner().invoke(cli, ["traffic", str(junk)])
    assert r.exit_code == 1 and "Traceback" not in r.output  # the only input, nothing read from it
    assert "gzip-compressed input, but its content is not a capture or log" in r.stderr


def test_compression_is_found_by_content():
    from ipowner.capture.detect import compression

    assert [compression(COMPRESS[k](b"x")) for k in sorted(COMPRESS)] == sorted(COMPRESS)
    assert compression(b"BZh") is None and compression(b"BZhx") is None and compression(b"\x1f\x8b\x07") is None
    assert compression((DATA / "ndpi--wechat.pcap").read_bytes()[:6]) is None
