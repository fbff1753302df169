"""`ipowner lookup` with what analysts paste, end to end (issue 14, item 2): files, networks, ports, URLs, AS
numbers, a log line on stdin; many addresses as one row each; at 80 and 200 columns and redirected."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from network_guard import cli_code
from tty_support import pty_run

pytestmark = pytest.mark.slow  # the CLI in subprocesses

NO_SOCKET = cli_code("none")
LOG_LINE = "Dec  2 05:31:01 fw kernel: DROP IN=eth0 SRC=9.9.9.9 DST=192.168.1.20 PROTO=UDP SPT=53 DPT=51000\n"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    root = tmp_path_factory.mktemp("lookup-inputs")
    e = dict(os.environ, IPOWNER_DATA_DIR=str(root / "data"), IPOWNER_CACHE_DIR=str(root / "cache"),
             IPOWNER_NO_SYSTEM_MMDB="1")
    e.pop("COLUMNS", None)
    return e


def run(env, *args, stdin="", cwd=None, columns=None):
    e = dict(env, **({"COLUMNS": str(columns)} if columns else {}))
    return subprocess.run([sys.executable, "-c", NO_SOCKET, *args], input=stdin, capture_output=True, text=True,
                          env=e, cwd=cwd, timeout=120)


def test_done_when_every_form_answers_offline(env, tmp_path):
    (tmp_path / "ips.txt").write_text("# servers\n8.8.4.4\n208.67.222.222\n")
    forms = ["8.8.8.0/24", "ips.txt", "1.1.1.1:53", "[2001:db8::1]:443", "https://8.8.8.8/"]
    p = run(env, "lookup", *forms, "-", "--offline", "--format", "json", stdin=LOG_LINE, cwd=tmp_path)
    doc = json.loads(p.stdout)
    got = [(r["query"], r["address"]) for r in doc["records"]]
    assert got == [("8.8.4.4", "8.8.4.4"), ("208.67.222.222", "208.67.222.222"), ("1.1.1.1:53", "1.1.1.1"),
                   ("[2001:db8::1]:443", "2001:db8::1"), ("https://8.8.8.8/", "8.8.8.8"), ("9.9.9.9", "9.9.9.9"),
                   ("192.168.1.20", "192.168.1.20")]
    [net] = doc["networks"]
    assert (net["network"], net["addresses"], net["complete"]) == ("8.8.8.0/24", 256, True)
    assert [(t["key"], t["addresses"]) for t in net["by_asn"]] == [("AS15169", 256)]
    assert p.returncode == 0, p.stderr
    # An AS number is answered in a document of its own: alone as JSON, or among the others in the table.
    p = run(env, "lookup", "AS13335", "--offline", "--format", "json", cwd=tmp_path)
    assert json.loads(p.stdout)["schema"] == "ipowner.as/1" and p.returncode == 0, p.stderr
    p = run(env, "lookup", *forms, "AS13335", "--offline", "--format", "json", cwd=tmp_path)
    assert p.returncode == 2 and p.stderr.strip().endswith("give it alone for --format json")
    p = run(env, "lookup", *forms, "AS13335", "--offline", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "AS13335" in p.stdout and "8.8.8.0/24" in p.stdout


def test_a_file_and_a_hostname_of_the_same_name(env, tmp_path):
    (tmp_path / "ips.txt").write_text("8.8.8.8\n")
    p = run(env, "lookup", "ips.txt", "ips.txt.", "./missing.txt", "--offline", "--format", "json", cwd=tmp_path)
    assert [r["query"] for r in json.loads(p.stdout)["records"]] == ["8.8.8.8"]
    assert p.stderr.splitlines() == ["ipowner: ./missing.txt: no such file (a URL needs its scheme: https://...)",
                                     "ipowner: ips.txt.: cannot resolve offline"]
    assert p.returncode == 4


def test_an_item_that_parses_as_nothing_is_one_line_and_exit_4(env):
    p = run(env, "lookup", "8.8.8.8", "what is this", "--offline", "--format", "json")
    assert p.returncode == 4
    assert p.stderr.splitlines() == ["ipowner: what is this: no address, network or AS number found in it"]


def _fifty(tmp_path):
    lines = [f"{a}.{b}.{c}.{d}" for a, b, c, d in
             [(8, 8, 8, 8), (1, 1, 1, 1), (9, 9, 9, 9), (208, 67, 222, 222), (10, 0, 0, 1)]]
    lines += [f"8.8.{i}.{i}" for i in range(45)]
    path = tmp_path / "fifty.txt"
    path.write_text("\n".join(lines) + "\n")
    return path, lines


def test_fifty_addresses_are_a_compact_table_redirected(env, tmp_path):
    path, lines = _fifty(tmp_path)
    p = run(env, "lookup", str(path), "--offline")
    assert p.returncode == 0, p.stderr
    body = p.stdout.split("\nSources\n")[0].splitlines()
    assert body[0] == "Addresses (50)"
    assert len(body) <= 3 + 3 * 50  # heading, column heads, rule; a first line and at most two details each
    rows = [x for x in body if re.match(r"^\d", x)]
    assert [x.split()[0] for x in rows] == lines
    assert "╭" not in p.stdout and "\x1b" not in p.stdout
    assert max(len(x) for x in p.stdout.splitlines()) <= 160  # a file is laid out at 160 columns


@pytest.mark.parametrize("width", [80, 200])
def test_lookup_on_a_terminal_fits_and_keeps_every_value(env, tmp_path, width):
    path, lines = _fifty(tmp_path)
    text = pty_run(["lookup", str(path), "8.8.8.0/23", "10.0.0.0-10.0.1.255", "--offline"], env, width)
    out = text.splitlines()
    assert max(len(x) for x in out) <= width and "…" not in text
    for a in lines:  # each address whole, on its own line, with its AS whole
        row = next(x for x in out if x.startswith(a + " "))
        if not a.startswith("10."):
            assert re.search(r"AS\d+", row), row
    assert any(x.startswith("8.8.8.0/23") for x in out)
    assert any(re.match(r"\s+8\.8\.8\.0/24\s+256\s+US\s+US\s+AS15169 Google LLC", x) for x in out), text
    assert any(re.match(r"\s+10\.0\.0\.0/23\s+512\s+private", x) for x in out)


@pytest.mark.parametrize("width", [80, 200])
def test_one_address_is_a_card(env, width):
    text = pty_run(["lookup", "8.8.8.8", "--offline"], env, width)
    assert "╭" in text and "AS15169" in text and max(len(x) for x in text.splitlines()) <= width


def test_wide_network_is_capped_and_says_so(env):
    p = run(env, "lookup", "0.0.0.0/0", "--offline", columns=80)
    assert p.returncode == 0, p.stderr
    flat = " ".join(p.stdout.split())
    assert "wide network: the first 4096 database blocks are summarised" in flat
    assert re.search(r"\+\d+ more blocks \(-v or JSON lists them\)", flat)


def test_hostile_lines_of_a_file_are_escaped_in_their_error_line(env, tmp_path):
    (tmp_path / "evil.txt").write_text("\x1b[2Jwiped \u202eevil\n8.8.8.8\n")
    p = run(env, "lookup", str(tmp_path / "evil.txt"), "--offline", "--format", "json")
    assert p.returncode == 4
    [line] = p.stderr.splitlines()
    assert "\x1b" not in line and "\u202e" not in line and "\\x1b[2J" in line and "\\u202e" in line
    assert [r["address"] for r in json.loads(p.stdout)["records"]] == ["8.8.8.8"]
