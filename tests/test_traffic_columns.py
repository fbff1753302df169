"""Destinations held as columns and streamed to JSON Lines (issue 11, item 8): the same bytes as before.

The capture is synthetic (documentation and benchmark addresses, ``.example`` names): thousands of
destinations reached by three devices over several ports, with replies, flows split by idle time, ties in
bytes and flows (the sort), a broadcast, DNS names past a small names budget and spilled ones. The
digests were taken from the tree before destinations became columns (commit 1ea9bd1, the record per pair
and per destination), on both readers; any change to a line of output changes them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import capture_craft as cc
from ipowner.capture.core import core_available
from ipowner.capture.pairs import SMALL_SET, CounterColumns, SetColumn
from ipowner.capture.rules import BUDGET_ENV, Budget
from ipowner.capture.traffic import read_traffic, read_traffic_rows
from ipowner.cli import cli
from ipowner.cli.commands import cli as _registered  # noqa: F401 - registers the subcommands
from ipowner.render.traffic_json import write_traffic_jsonl

READERS = ["compiled", "frame"] if core_available() else ["frame"]
BUDGET = "names=2,named=40"  # some names summarised, those of never-contacted addresses spilled

# SHA-256 of `ipowner traffic` on _capture()'s file (named as in NAME, run from its folder) with BUDGET,
# before this change; the last with --device given twice (pairs counted from the named side)
DIGESTS = {
    "jsonl": "89b20de9cf7badbd7dccf634e590ae2b177665ea08d022f20eb31d6785d86244",
    "json": "1baf10f79486d21e099767cd35f677be8c327734c11dc0f9508ea14a0887d4cb",
    "table": "92d4d726adbb9dd09617c97fe5268cc8264be69293b2e357a4eaa8f860237e8c",
    "csv": "a07eecdec7ef2c3b0933a5d0966d8c9bb3f57d231e211ac29d119156e3047c6d",
    "jsonl --device": "bfe7e9c7af595782a147e05cd4a578f87f2fcd88ca81a6a20d888c31e073afef",
}
NAME = "synthetic-many-destinations.pcapng"


def _capture(path: Path) -> Path:
    """Deterministic: 4,000 destinations, three devices, ports 443/853 (DoT: concealment)/123/8443, replies for some."""
    out = cc.section() + cc.interface()
    ts = 1_700_000_000_000_000
    devices = ["192.0.2.10", "192.0.2.11", "192.0.2.12"]
    for i in range(60):  # names for the first destinations, more than the budget keeps for some
        addr = f"198.18.{i // 250}.{i % 250 + 1}"
        out += cc.packet(cc.dns_answer(i, [(f"n{k}.d{i}.example", addr) for k in range(1 + i % 4)]), ts=ts)
        ts += 500
    for i in range(80):  # names of addresses never contacted: past named=40 they are spilled
        out += cc.packet(cc.dns_answer(500 + i, [(f"never{i}.example", f"203.0.113.{i + 1}")]), ts=ts)
        ts += 500
    for i in range(4000):
        dst = f"198.18.{i // 250}.{i % 250 + 1}"
        dev = devices[i % 3]
        port = (443, 853, 123, 8443)[i % 4]
        payload = b"\x00" * (i % 5)  # five sizes: many ties in bytes, then in flows
        out += cc.packet(cc.udp_frame(src=dev, dst=dst, sport=40000 + i % 2000, dport=port, payload=payload), ts=ts)
        if i % 7 == 0:  # a reply
            out += cc.packet(cc.udp_frame(src=dst, dst=dev, sport=port, dport=40000 + i % 2000, payload=b"\x01"), ts=ts + 10)
        if i % 11 == 0:  # a second device, another port
            out += cc.packet(cc.udp_frame(src=devices[(i + 1) % 3], dst=dst, sport=41000, dport=9999), ts=ts + 20)
        ts += 200_000  # 0.2 s apart: flows go idle and are folded along the way
    out += cc.packet(cc.udp_frame(src=devices[0], dst="255.255.255.255", sport=68, dport=67), ts=ts)
    for i in range(0, 4000, 13):  # the same pairs again after the idle timeout: more flows per pair
        dst = f"198.18.{i // 250}.{i % 250 + 1}"
        out += cc.packet(cc.udp_frame(src=devices[i % 3], dst=dst, sport=40000 + i % 2000, dport=(443, 853, 123, 8443)[i % 4]),
                         ts=ts + 400_000_000 + i)
    path.write_bytes(out)
    return path


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _capture(tmp_path_factory.mktemp("columns") / NAME)


def _run(args: list[str], capture: Path, monkeypatch: pytest.MonkeyPatch) -> bytes:
    monkeypatch.setenv(BUDGET_ENV, BUDGET)
    monkeypatch.chdir(capture.parent)  # the document names its input as given
    r = CliRunner().invoke(cli, ["traffic", *args, NAME])
    assert r.exit_code == 0, r.output
    return r.stdout_bytes


@pytest.mark.parametrize("reader", READERS)
def test_streamed_jsonl_is_the_jsonl_of_before(capture, monkeypatch, reader):
    out = _run(["--format", "jsonl", "--reader", reader], capture, monkeypatch)
    assert len(out.splitlines()) == 4002  # every destination, the broadcast one too
    assert hashlib.sha256(out).hexdigest() == DIGESTS["jsonl"]
    out = _run(["--format", "jsonl", "--device", "192.0.2.53", "--device", "198.18.0.7", "--reader", reader],
               capture, monkeypatch)
    assert hashlib.sha256(out).hexdigest() == DIGESTS["jsonl --device"]


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("fmt", ["json", "table", "csv"])
def test_the_whole_documents_are_the_ones_of_before(capture, monkeypatch, reader, fmt):
    out = _run(["--format", fmt, "--reader", reader], capture, monkeypatch)
    assert hashlib.sha256(out).hexdigest() == DIGESTS[fmt]


@pytest.mark.parametrize("reader", READERS)
def test_streamed_rows_are_the_records_of_the_whole_result(capture, reader):
    compiled = reader == "compiled"
    budget = Budget(names=2, named=40)
    whole = read_traffic([capture], compiled=compiled, timeline=False, budget=budget)
    head, rows = read_traffic_rows([capture], compiled=compiled, budget=budget)
    assert head.destinations == []
    assert list(rows) == whole.destinations
    head.destinations = whole.destinations
    assert head.to_dict() == whole.to_dict()


def test_jsonl_writer_of_a_whole_result_and_of_rows_agree(capture, tmp_path):
    import io

    whole = read_traffic([capture], timeline=False)
    a, b = io.StringIO(), io.StringIO()
    write_traffic_jsonl(whole, a)
    from ipowner.render.traffic_json import write_traffic_jsonl_rows

    head, rows = read_traffic_rows([capture])
    write_traffic_jsonl_rows(head, rows, b)
    assert a.getvalue() == b.getvalue()
    assert [json.loads(line)["address"] for line in a.getvalue().splitlines()][:1] == [whole.destinations[0].address]


def test_counter_columns_widen_past_64_bits():
    c = CounterColumns()
    c.append()
    c.add(0, 1, 2, 3, 2**62, 5, 6, 7)
    c.add(0, 1, 2, 3, 2**62, 5, 6, 7)  # 2^63: past a machine integer
    assert c.row(0) == (2, 4, 6, 2**63, 10, 12, 14)
    c.add(0, 0, 0, 0, 1, 0, 0, 0)
    assert c.row(0)[3] == 2**63 + 1


def test_set_column_keeps_order_interns_small_sets_and_grows_past_them():
    s: SetColumn[str] = SetColumn()
    s.append()
    s.append()
    assert s.add(0, "udp/443") and s.add(1, "udp/443") and not s.add(0, "udp/443")
    assert s.rows[0] is s.rows[1]  # one tuple for every row with the same set
    for k in range(SMALL_SET + 5):
        s.add(0, f"tcp/{k}")
    assert list(s.rows[0]) == ["udp/443", *(f"tcp/{k}" for k in range(SMALL_SET + 5))]
    assert isinstance(s.rows[0], dict) and s.rows[1] == ("udp/443",)
