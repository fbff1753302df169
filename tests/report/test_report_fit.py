"""Terminal tables that never lose a value (issue 14, items 1 and 8), and CSV that sums right (item 4).

Every view is rendered at 80 and 200 columns, through a pseudo-terminal, and redirected to a file; in
each, every value of every destination of the WeChat capture (nDPI's wechat.pcap, offline) is present in
full, numbers and addresses on one line, and no line is wider than the width.
"""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import ipowner
from ipowner.render import companions, render
from ipowner.render.report_rows import destination_rows, human_bytes
from ipowner.render.terminal.report import as_text, cloud_text, holder_text, registry_text, shown_names
from ipowner.reports.diff import diff_reports
from tty_support import pty_run

DATA = Path(__file__).resolve().parents[1] / "data"
WECHAT = DATA / "traffic" / "ndpi--wechat.pcap"
IPOWNER = str(Path(sys.executable).parent / "ipowner")
WIDTHS = (80, 200)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("fit")
    e = dict(os.environ, IPOWNER_DATA_DIR=str(root / "data"), IPOWNER_CACHE_DIR=str(root / "cache"))
    e.pop("COLUMNS", None)
    return e


@pytest.fixture(scope="module")
def wechat(env):
    old = {k: os.environ.get(k) for k in ("IPOWNER_DATA_DIR", "IPOWNER_CACHE_DIR")}
    os.environ.update({k: env[k] for k in old})
    try:
        yield ipowner.report([WECHAT], offline=True, discover=False)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _words(value: str) -> list[str]:
    return value.split()


def blocks(text: str, addresses: list[str]) -> dict[str, str]:
    """Each destination's part of the output: from the line its address first appears on to the next's."""
    lines = text.splitlines()
    starts = []
    for a in addresses:
        i = next(n for n, line in enumerate(lines) if re.search(rf"(?<![\w:.]){re.escape(a)}(?![\w:.])", line))
        starts.append(i)
    order = sorted(starts)
    out = {}
    for a, i in zip(addresses, starts, strict=True):
        nxt = next((j for j in order if j > i), len(lines))
        out[a] = "\n".join(lines[i:nxt])
    return out


def assert_in_block(block: str, value: str, what: str) -> None:
    """Every word of ``value`` in the block, in order (a value may fold at spaces, never inside a word)."""
    pos = 0
    flat = " ".join(block.split())
    for word in _words(value):
        found = flat.find(word, pos)
        assert found >= 0, f"{what}: {word!r} of {value!r} missing in\n{block}"
        pos = found + len(word)


def check_report_text(text: str, rep, width: int) -> None:
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width, max(lines, key=len)
    assert "…" not in text  # nothing cropped
    assert "None" not in text
    rows = destination_rows(rep)
    table = text.split("Verdicts")[0]
    found = blocks(table, [r["address"] for r in rows])
    for r in rows:
        block = found[r["address"]]
        first = block.splitlines()[0]
        # numbers and the address on one line: never wrapped
        for v in (r["address"], human_bytes(r["bytes_sent"]), human_bytes(r["bytes_received"])):
            assert v in first, (v, first)
        assert_in_block(block, r["location"], "location")
        if r["scope"] == "internet":
            for what, value in (("holder", holder_text(r)), ("registry", registry_text(r)), ("AS", as_text(r)),
                                ("cloud", cloud_text(r))):
                if value:
                    assert_in_block(block, value, what)
        names, rest = shown_names(r, verbose=False)
        for n in names:
            assert_in_block(block, n, "hostname")
        if rest:
            assert_in_block(block, rest, "hostname count")
        # the SNI, the name the app sent, comes first
        if any("(sni" in n for n in r["hostname_sources"]):
            assert "(sni" in names[0]
    verdicts = text.split("Verdicts", 1)[1]
    for r in rows:
        assert_in_block(verdicts, r["verdict"], "verdict")


def _render(doc, width: int | None = None, verbose: bool = False) -> str:
    buf = io.StringIO()
    render(doc, "table", buf, width=width, verbose=verbose)
    return buf.getvalue()


@pytest.mark.parametrize("width", WIDTHS)
def test_report_shows_every_value_at_each_width(wechat, width):
    check_report_text(_render(wechat, width), wechat, width)


def test_report_redirected_is_never_cropped(wechat, env, tmp_path):
    target = tmp_path / "report.txt"
    with target.open("w") as fh:
        r = subprocess.run([IPOWNER, "report", str(WECHAT), "--offline", "-q"], stdout=fh, stderr=subprocess.PIPE,
                           text=True, env=env, timeout=120)
    assert r.returncode == 0 and r.stderr == ""
    text = target.read_text()
    check_report_text(text, wechat, 160)
    assert all(line == line.rstrip() for line in text.splitlines())  # no padding written to a file
    # -o report.txt is the same table
    r = subprocess.run([IPOWNER, "report", str(WECHAT), "--offline", "-q", "-o", str(tmp_path / "o.txt")],
                       env=env, timeout=120)
    assert r.returncode == 0
    assert (tmp_path / "o.txt").read_text().split("Sources")[0] == text.split("Sources")[0]


@pytest.mark.parametrize("width", WIDTHS)
def test_report_on_a_terminal(wechat, env, width):
    text = pty_run(["report", str(WECHAT), "--offline"], env, width)
    check_report_text(text, wechat, width)


@pytest.mark.parametrize("width", WIDTHS)
def test_traffic_on_a_terminal_keeps_addresses_and_numbers_whole(env, width):
    text = pty_run(["traffic", str(WECHAT)], env, width)
    tr = ipowner.traffic([str(WECHAT)])
    lines = text.splitlines()
    assert max(len(x) for x in lines) <= width and "…" not in text
    from ipowner.render.terminal.traffic import _size

    for d in tr.destinations:
        line = next((x for x in lines if re.search(rf"(?<![\w:.]){re.escape(d.address)}(?![\w:.])", x)), None)
        assert line is not None, d.address
        for v in (str(d.flows), _size(d.bytes_sent), _size(d.bytes_received)):
            assert v in line, (d.address, v, line)
        for p in d.ports:
            assert p in text


@pytest.mark.parametrize("width", WIDTHS)
def test_diff_and_lookup_fit(wechat, width):
    from ipowner.model import TrafficResult
    from ipowner.model.lookup import LookupResult
    from ipowner.reports.report import build_report

    doc = diff_reports(build_report(TrafficResult(), {}), wechat)
    text = _render(doc, width)
    assert max(len(x) for x in text.splitlines()) <= width and "…" not in text and "None" not in text
    for d in doc.destinations.added:
        assert any(d.address in x and human_bytes(d.bytes_sent) in x for x in text.splitlines())
    rec = wechat.destinations[1].record
    lr = LookupResult(records=[rec], sources=list(rec.sources.values()))
    text = _render(lr, width)
    assert max(len(x) for x in text.splitlines()) <= width and "…" not in text
    for src in rec.sources:
        assert src in text


def test_verbose_lists_every_hostname(wechat):
    text = _render(wechat, 80, verbose=True)
    for d in wechat.internet:
        for h in d.hostnames:
            assert h.name in text
    assert "Provenance" in text and wechat.provenance.inputs[0].sha256 in text.replace("\n", "")


# -- CSV -------------------------------------------------------------------------------------------

def test_report_csv_sums_to_the_total(wechat, env, tmp_path):
    out = tmp_path / "report.csv"
    r = subprocess.run([IPOWNER, "report", str(WECHAT), "--offline", "-o", str(out)], capture_output=True,
                       text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(out.open(newline="")))
    total = wechat.totals()
    assert sum(int(x["bytes_sent"]) for x in rows) == total["bytes_sent"] == 276917
    assert sum(int(x["bytes_received"]) for x in rows) == total["bytes_received"]
    assert len(rows) == total["destinations"] and {x["scope"] for x in rows} == {"internet"}
    rollups = list(csv.DictReader((tmp_path / "report.rollups.csv").open(newline="")))
    loc = [x for x in rollups if x["group"] == "location"]
    assert sum(int(x["bytes_sent"]) for x in loc) == total["bytes_sent"]  # each destination under one location
    sources = list(csv.DictReader((tmp_path / "report.sources.csv").open(newline="")))
    assert {"input", "source", "credit"} <= {x["group"] for x in sources}
    peers = list(csv.DictReader((tmp_path / "report.peers.csv").open(newline="")))
    assert peers and all(x["scope"] != "internet" for x in peers)
    assert len(rows) + len(peers) == len(wechat.destinations)
    # every name of a destination is in its row, whole
    top = next(x for x in rows if x["address"] == "203.205.151.162")
    assert top["hostnames"].split(";") == destination_rows(wechat)[0]["hostnames"]
    assert top["hostname_sources"].startswith("web.wechat.com (sni")


def test_report_csv_on_stdout_is_the_destinations_and_says_where_the_rest_is(env):
    r = subprocess.run([IPOWNER, "report", str(WECHAT), "--offline", "--format", "csv"], capture_output=True,
                       text=True, env=env, timeout=120)
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert sum(int(x["bytes_sent"]) for x in rows) == 276917
    assert "FILE.rollups.csv" in r.stderr and "FILE.sources.csv" in r.stderr


def test_tsv_and_traffic_tables(wechat, env, tmp_path):
    out = tmp_path / "traffic.tsv"
    r = subprocess.run([IPOWNER, "traffic", str(WECHAT), "-o", str(out)], capture_output=True, text=True, env=env,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(out.open(newline=""), delimiter="\t"))
    tr = ipowner.traffic([str(WECHAT)])
    assert [x["address"] for x in rows] == [d.address for d in tr.destinations]
    assert sum(int(x["bytes_sent"]) for x in rows) == sum(d.bytes_sent for d in tr.destinations)
    rollups = list(csv.DictReader((tmp_path / "traffic.rollups.tsv").open(newline=""), delimiter="\t"))
    assert [x["key"] for x in rollups if x["group"] == "device"] == [d.address for d in tr.device_summaries]
    assert any(x["group"] == "input" for x in csv.DictReader((tmp_path / "traffic.sources.tsv").open(newline=""),
                                                             delimiter="\t"))
    for name, writer in companions("report", "tsv").items():
        buf = io.StringIO()
        writer(wechat, buf)
        lines = buf.getvalue().splitlines()
        assert all(x.count("\t") == lines[0].count("\t") for x in lines), name
