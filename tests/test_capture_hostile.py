"""Hostile captures (issue 11, item 7): every field read within bounds in every walker; timestamps no
calendar holds flagged as unknown; empty-record files refused early; the record count and SHA-256 kept on
every path; exit 1 when no input was read, 4 when some were not, in traffic, report and diff.

All captures here are synthetic (built by capture_craft, written as ``synthetic-*`` files)."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner

import capture_craft as cc
from capture_support import all_readers, needs_core
from dpkt_oracle import oracle_traffic
from ipowner import traffic
from ipowner.capture import rules
from ipowner.capture.core import core_available
from ipowner.capture.frame import make_handler
from ipowner.capture.traffic import read_traffic
from ipowner.cli import cli
from ipowner.cli._common import run_guarded
from ipowner.cli.commands import cli as _registered  # noqa: F401 - registers the subcommands


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    p = tmp_path / f"synthetic-{name}"
    p.write_bytes(data)
    return p


def _readers(path: Path) -> list[dict]:
    """The document of every walker that can read ``path`` here (frame walker, compiled core, oracle)."""
    docs = [traffic([path], compiled=False).to_dict(), oracle_traffic([path]).to_dict()]
    if core_available():
        docs.append(traffic([path], compiled=True).to_dict())
    return docs


def _cli(*args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of one command run as ``ipowner`` runs it (every error one line)."""
    with CliRunner().isolation() as (out, err, _):
        code = run_guarded(cli, list(args))
    stdout, stderr = out.getvalue().decode(), err.getvalue().decode()
    assert "Traceback" not in stdout + stderr and "internal error" not in stdout + stderr, stderr
    return int(code), stdout, stderr


# ---------------------------------------------------------------- timestamps out of range

TIME_CASES = {
    "seconds-1e12": cc.interface(options=cc.option(9, b"\x00")),  # resolution 1 s; the packet says 10^12
    "offset-plus-2-63": cc.interface(options=cc.option(14, struct.pack("<q", 2**63 - 1))),
    "offset-minus-2-63": cc.interface(options=cc.option(14, struct.pack("<q", -(2**63)))),
}


@pytest.mark.parametrize("case", sorted(TIME_CASES))
def test_timestamps_no_calendar_holds_are_unknown_not_a_crash(tmp_path, case):
    ts = 10**12 if case.startswith("seconds") else 1
    data = cc.section() + TIME_CASES[case] + cc.packet(cc.udp_frame(), ts=ts)
    path = _write(tmp_path, f"time-{case}.pcapng", data)
    docs = _readers(path)
    assert all(d == docs[0] for d in docs)
    dest = docs[0]["destinations"][0]
    assert dest["address"] == "198.51.100.20" and dest["first_seen"] is None and dest["last_seen"] is None
    assert any("no calendar date holds" in w for w in docs[0]["warnings"])
    code, out, err = _cli("traffic", "--format", "json", str(path))
    assert code == 0 and json.loads(out)["destinations"][0]["first_seen"] is None
    assert "1 flow carries packet times no calendar date holds" in err
    for fmt in ("json", "html", "markdown", "table"):
        code, out, _ = _cli("report", "--offline", "--no-rdap", "--format", fmt, str(path))
        assert code == 0 and "198.51.100.20" in out, fmt


def test_a_known_first_time_and_an_unknown_last_one(tmp_path):
    """Two packets of one flow, the second stamped past the calendar (found by the mutation fuzz: the
    input's time span was taken from lists of different lengths, and traffic() raised)."""
    frame = cc.udp_frame()
    data = cc.section() + cc.interface() + cc.packet(frame, ts=1_700_000_000_000_000) + cc.packet(frame, ts=2**63)
    docs = _readers(_write(tmp_path, "time-half-known.pcapng", data))
    assert all(d == docs[0] for d in docs)
    dest, info = docs[0]["destinations"][0], docs[0]["inputs"][0]
    assert dest["first_seen"] == "2023-11-14T22:13:20Z" and dest["last_seen"] is None
    assert info["first_seen"] == "2023-11-14T22:13:20Z" and info["last_seen"] is None


# ---------------------------------------------------------------- block fields

def test_interface_time_resolution_option_without_its_value_byte(tmp_path):
    """if_tsresol with length 0 (then a cut option running past the block): the default unit, packets read."""
    idb = cc.interface(options=struct.pack("<HH", 9, 0) + struct.pack("<HH", 14, 200))
    path = _write(tmp_path, "tsresol-empty.pcapng", cc.section() + idb + cc.packet(cc.udp_frame(), ts=5_000_000))
    for doc in _readers(path):
        assert doc["inputs"][0]["records"] == 1 and not doc["partial"]
        assert doc["destinations"][0]["first_seen"] == "1970-01-01T00:00:05Z"


def test_a_twelve_byte_simple_packet_block_is_skipped_alike_by_every_reader(tmp_path):
    data = cc.section() + cc.interface() + cc.block(cc.SPB, b"") + cc.packet(cc.udp_frame())
    path = _write(tmp_path, "spb-12.pcapng", data)
    docs = _readers(path)
    assert all(d == docs[0] for d in docs)
    info = docs[0]["inputs"][0]
    assert info["records"] == 1 and docs[0]["destinations"][0]["address"] == "198.51.100.20"
    assert any("at byte 48" in w and "inconsistent" in w for w in info["warnings"])


# packet blocks shorter than their fixed fields (a simple packet block of 16 bytes or more is whole)
SHORT_BLOCKS = [(t, n) for t in (cc.EPB, cc.OPB) for n in (12, 16, 20, 24, 28)] + [(cc.SPB, 12)]


@pytest.mark.parametrize("btype, length", SHORT_BLOCKS)
def test_a_short_packet_block_at_the_end_keeps_count_and_hash(tmp_path, btype, length):
    data = cc.synthetic_pcapng(3) + cc.block(btype, b"\0" * (length - 12))
    path = _write(tmp_path, f"short-{btype}-{length}.pcapng", data)
    docs = _readers(path)
    assert all(d == docs[0] for d in docs)
    info = docs[0]["inputs"][0]
    assert info["records"] == 3 and info["sha256"] == hashlib.sha256(data).hexdigest()
    assert info["partial"] and not any("internal error" in w for w in info["warnings"])
    code, _, err = _cli("traffic", "--format", "json", str(path))
    assert code == 4 and "inconsistent" in err


def test_a_custom_block_never_reads_past_its_end(tmp_path):
    """PCAPdroid's uid -> app block claiming names longer than itself: the names stop at the block's end."""
    body = struct.pack("<IHBx", 62652, 1, 1) + struct.pack("<iBB", 10123, 200, 200) + b"com.example"
    data = cc.section() + cc.interface() + cc.block(0x40000BAD, body) + cc.packet(cc.udp_frame())
    path = _write(tmp_path, "custom-long-names.pcapng", data)
    docs = _readers(path)
    assert all(d == docs[0] for d in docs) and docs[0]["inputs"][0]["records"] == 1


# ---------------------------------------------------------------- files of empty records

def _zeros_pcap(path: Path, size: int) -> None:
    with open(path, "wb") as f:
        f.write(cc.pcap_header())
        f.truncate(24 + size)  # a sparse file: zeros read back


def test_a_file_of_zeros_is_refused_early_with_its_hash(tmp_path):
    path = tmp_path / "synthetic-zeros.pcap"
    _zeros_pcap(path, 256 << 20)  # 16M empty records if read to the end
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 22):
            h.update(chunk)
    for compiled in ([False, True] if core_available() else [False]):
        res = traffic([path], compiled=compiled)
        info = res.inputs[0]
        assert info.records == 0 and info.partial and info.sha256 == h.hexdigest()
        assert len(info.warnings) == 1 and "refused" in info.warnings[0]
        assert f"first {rules.EMPTY_RUN_MAX} records capture nothing" in info.warnings[0]
        assert res.destinations == []
    code, _, err = _cli("traffic", str(path))
    assert code == 1 and "refused" in err


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
def test_packets_then_zeros_keep_the_packets_and_stop_at_the_run(tmp_path, fmt):
    if fmt == "pcap":
        data = cc.synthetic_pcap(3) + cc.pcap_record(b"", sec=0) * (rules.EMPTY_RUN_MAX + 10)
    else:
        data = cc.synthetic_pcapng(3) + cc.packet(b"", ts=0) * (rules.EMPTY_RUN_MAX + 10)
    path = _write(tmp_path, f"padded.{fmt}", data)
    docs = _readers(path)
    assert all(d == docs[0] for d in docs)
    info = docs[0]["inputs"][0]
    assert info["records"] == 3 and info["partial"] and len(docs[0]["destinations"]) == 3
    assert any(f"from {'record' if fmt == 'pcap' else 'packet block'} 4 on capture nothing" in w
               for w in info["warnings"])
    assert info["sha256"] == hashlib.sha256(data).hexdigest()


def test_a_few_empty_records_are_read_as_records(tmp_path):
    data = cc.synthetic_pcap(2) + cc.pcap_record(b"") * 10 + cc.pcap_record(cc.udp_frame(dst="203.0.113.99"))
    docs = _readers(_write(tmp_path, "some-empty.pcap", data))
    assert all(d == docs[0] for d in docs)
    assert docs[0]["inputs"][0]["records"] == 13 and not docs[0]["partial"]


# ---------------------------------------------------------------- count and hash on an internal error

def test_an_internal_error_keeps_the_count_and_the_hash(tmp_path):
    data = cc.synthetic_pcap(6)
    path = _write(tmp_path, "walker-fails.pcap", data)

    def failing(engine):  # a walker that fails at the fourth frame
        handle = make_handler(engine)

        def walk(buf, off, incl, orig, ts, lt):
            if engine.counter[0] == 3:
                raise RuntimeError("walker bug")
            return handle(buf, off, incl, orig, ts, lt)

        return walk

    info = read_traffic([path], walker=failing).inputs[0]
    assert info.records == 3 and info.sha256 == hashlib.sha256(data).hexdigest()
    assert info.partial and "internal error (RuntimeError: walker bug)" in info.warnings[0]


# ---------------------------------------------------------------- exit codes across commands

def test_exit_codes_no_input_read_1_some_not_4(tmp_path):
    zeros = tmp_path / "synthetic-zeros.pcap"
    _zeros_pcap(zeros, 1 << 20)
    empty = _write(tmp_path, "empty.pcap", b"")
    good = _write(tmp_path, "good.pcap", cc.synthetic_pcap(2))
    assert _cli("traffic", str(zeros))[0] == 1
    assert _cli("traffic", str(zeros), str(empty))[0] == 1
    assert _cli("traffic", str(zeros), str(good))[0] == 4
    assert _cli("traffic", str(good))[0] == 0
    assert _cli("report", "--offline", "--no-rdap", str(zeros))[0] == 1
    assert _cli("report", "--offline", "--no-rdap", str(zeros), str(good))[0] == 4
    code, out, err = _cli("diff", "--offline", "--no-rdap", str(zeros), str(good))
    assert code == 1 and out == "" and "nothing could be read (before); no diff made" in err
    assert _cli("diff", "--offline", "--no-rdap", str(good), str(empty))[0] == 1
    padded = _write(tmp_path, "padded.pcap", cc.synthetic_pcap(2) + cc.pcap_record(b"") * rules.EMPTY_RUN_MAX)
    assert _cli("diff", "--offline", "--no-rdap", str(good), str(padded))[0] == 4


# ---------------------------------------------------------------- the oracle's IP version

def test_the_oracle_takes_the_ip_version_from_the_ethertype(tmp_path):
    """An IPv4 EtherType over a packet whose version nibble says 6 is not IP (and no IPv6 address is made
    up of its bytes); an IPv6 EtherType over a version-4 packet neither."""
    v6_nibble = cc.udp_frame(dst="198.51.100.77", version_ihl=0x65) + bytes(40)
    v4_in_v6 = cc.udp_frame(dst="198.51.100.78", ethertype=0x86DD) + bytes(40)
    data = cc.section() + cc.interface() + cc.packet(v6_nibble) + cc.packet(v4_in_v6) + cc.packet(cc.udp_frame())
    path = _write(tmp_path, "version-mismatch.pcapng", data)
    doc = all_readers([path])
    assert [d["address"] for d in doc["destinations"]] == ["198.51.100.20"]


@needs_core
def test_the_core_is_handed_the_empty_run_rule():
    from ipowner.capture.core import core_rules, new_core
    from ipowner.capture.engine import Engine

    assert new_core(Engine(), ()).rules()["EMPTY_RUN_MAX"] == core_rules()["EMPTY_RUN_MAX"] == rules.EMPTY_RUN_MAX


# ---------------------------------------------------------------- log rows

def test_log_numbers_out_of_range_are_unknown_and_said(tmp_path):
    """Negative, impossibly large and infinite counts, ports past 65535, times that are not numbers: read as
    unknown, counted in one warning, the input partial; never an internal error."""
    rows = [
        '{"ts": 1700000000, "id.orig_h": "192.0.2.1", "id.resp_h": "198.51.100.2", "id.resp_p": 443, '
        '"proto": "tcp", "orig_ip_bytes": -5, "resp_ip_bytes": 1e30, "orig_pkts": 1e400}',
        '{"ts": 1700000000, "id.orig_h": "192.0.2.1", "id.resp_h": "198.51.100.3", "id.resp_p": 99999999, '
        '"proto": "tcp", "orig_ip_bytes": 100}',
    ]
    conn = _write(tmp_path, "conn.log.json", ("\n".join(rows) + "\n").encode())
    csv = _write(tmp_path, "flows.csv", b"dst_ip,bytes_sent,first_seen,dst_port\n198.51.100.9,1e400,nan,70000\n"
                                        b"198.51.100.10,250,1700000000,443\n")
    for path, expected in ((conn, {"198.51.100.2": 0, "198.51.100.3": 100}),
                           (csv, {"198.51.100.9": 0, "198.51.100.10": 250})):
        res = traffic([path])
        assert {d.address: d.bytes_sent for d in res.destinations} == expected
        assert not any(p.endswith(("/99999999", "/70000")) for d in res.destinations for p in d.ports)
        info = res.inputs[0]
        assert info.partial and any("out of range" in w for w in info.warnings), info.warnings
        assert not any("internal error" in w for w in info.warnings)
        assert _cli("traffic", str(path))[0] == 4
