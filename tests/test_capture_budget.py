"""The capture stage's memory budget (issue 11, item 8): past it every destination keeps its exact
counts, while timelines and names are summarised or spilled to a temporary file, with one warning each.

The captures are synthetic (capture_craft; documentation addresses, ``.example`` names)."""

from __future__ import annotations

import glob
import os
import tempfile
from pathlib import Path

import pytest

import capture_craft as cc
from ipowner.capture.core import core_available
from ipowner.capture.rules import BUDGET_ENV, Budget
from ipowner.capture.traffic import read_traffic
from ipowner.errors import UsageError

READERS = [False, True] if core_available() else [False]


def _capture(tmp_path: Path, *, contacted: int, named_only: int, names_each: int) -> Path:
    """DNS answers naming ``contacted`` addresses (``names_each`` names each) that are then sent to, and
    ``named_only`` addresses that are never contacted."""
    out = cc.section() + cc.interface()
    ts = 1_700_000_000_000_000
    for i in range(contacted):
        addr = f"198.51.100.{i + 1}"
        out += cc.packet(cc.dns_answer(i, [(f"n{k}.d{i}.example", addr) for k in range(names_each)]), ts=ts)
        ts += 1000
    for i in range(named_only):
        out += cc.packet(cc.dns_answer(1000 + i, [(f"never{i}.example", f"203.0.113.{i % 250 + 1}")]), ts=ts)
        ts += 1000
    for i in range(contacted):
        out += cc.packet(cc.udp_frame(dst=f"198.51.100.{i + 1}", dport=443), ts=ts + i * 120_000_000)
    path = tmp_path / "synthetic-budget.pcapng"
    path.write_bytes(out)
    return path


def _dests(doc: dict) -> dict[str, dict]:
    return {d["address"]: d for d in doc["destinations"]}


@pytest.mark.parametrize("compiled", READERS)
def test_past_the_timeline_budget_counts_stay_exact(tmp_path, compiled):
    path = _capture(tmp_path, contacted=6, named_only=0, names_each=1)
    full = read_traffic([path], compiled=compiled).to_dict()
    small = read_traffic([path], compiled=compiled, budget=Budget(timeline=3)).to_dict()
    strip = ("timeline",)
    assert [{k: v for k, v in d.items() if k not in strip} for d in small["destinations"]] == \
        [{k: v for k, v in d.items() if k not in strip} for d in full["destinations"]]
    assert len(full["timeline"]) == len(full["destinations"]) and 0 < len(small["timeline"]) < len(full["timeline"])
    assert [w for w in small["warnings"] if "timeline is kept for the first 3" in w]
    assert not [w for w in full["warnings"] if "memory budget" in w]
    none = read_traffic([path], compiled=compiled, timeline=False).to_dict()
    assert none["timeline"] == {} and not [w for w in none["warnings"] if "memory budget" in w]


@pytest.mark.parametrize("compiled", READERS)
def test_names_per_address_are_bounded_per_source(tmp_path, compiled):
    path = _capture(tmp_path, contacted=2, named_only=0, names_each=9)
    res = read_traffic([path], compiled=compiled, budget=Budget(names=4))
    contacted = [d for d in res.destinations if d.address.startswith("198.51.100.")]
    assert len(contacted) == 2
    for d in contacted:
        assert len([h for h in d.hostnames if h.source == "dns"]) == 4
        assert d.packets_sent == 1
    assert [w for w in res.warnings if "at most 4 names" in w and "10 more" in w]


@pytest.mark.parametrize("compiled", READERS)
def test_names_of_addresses_never_contacted_are_spilled_and_read_back(tmp_path, compiled):
    path = _capture(tmp_path, contacted=5, named_only=120, names_each=2)
    before = set(glob.glob(os.path.join(tempfile.gettempdir(), "ipowner-names-*")))
    full = read_traffic([path], compiled=compiled).to_dict()
    small = read_traffic([path], compiled=compiled, budget=Budget(named=8)).to_dict()
    assert _dests(small).keys() == _dests(full).keys()
    for a, d in _dests(full).items():
        assert _dests(small)[a]["hostnames"] == d["hostnames"], a  # the same names, in the same order
    assert [w for w in small["warnings"] if "spilled to a temporary file" in w]
    assert set(glob.glob(os.path.join(tempfile.gettempdir(), "ipowner-names-*"))) == before  # removed


def test_the_budget_from_the_environment(tmp_path, monkeypatch):
    path = _capture(tmp_path, contacted=4, named_only=0, names_each=1)
    monkeypatch.setenv(BUDGET_ENV, "timeline=2, names=8")
    doc = read_traffic([path]).to_dict()
    assert len(doc["timeline"]) == 2 and [w for w in doc["warnings"] if "first 2" in w]
    for bad in ("timeline=0", "speed=3", "names", "named=x"):
        monkeypatch.setenv(BUDGET_ENV, bad)
        with pytest.raises(UsageError, match=BUDGET_ENV):
            read_traffic([path])
