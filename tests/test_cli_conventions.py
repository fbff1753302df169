"""Command-line conventions (issue 14, items 6 and 7): -q/-v, a closed pipe, Ctrl-C, -o suffixes and
--format, .tsv/.ndjson, the diff gate, no "None" in text, human ages, the man page, shell completion."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ipowner.reports.freshness import age_text

DATA = Path(__file__).resolve().parent / "data"
WECHAT = DATA / "traffic" / "ndpi--wechat.pcap"
SAVED = DATA / "documents"
IPOWNER = str(Path(sys.executable).parent / "ipowner")
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def env(tmp_path):
    e = {k: v for k, v in os.environ.items() if not k.startswith("IPOWNER_") and k != "COLUMNS"}
    e.update(IPOWNER_DATA_DIR=str(tmp_path / "data"), IPOWNER_CACHE_DIR=str(tmp_path / "cache"))
    return e


def run(env, *args, **kw):
    return subprocess.run([IPOWNER, *map(str, args)], capture_output=True, text=True, env=env, timeout=120, **kw)


# -- streams and signals ---------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_a_pipe_closed_by_the_reader_ends_quietly_with_status_0(env, fmt):
    # -v makes the table long enough to outgrow the pipe's buffer; JSON is over 100 kB anyway.
    p = subprocess.Popen([IPOWNER, "report", str(WECHAT), "--offline", "-v", "--format", fmt],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert p.stdout is not None and p.stderr is not None
    first = p.stdout.readline()
    p.stdout.close()  # what `| head -1` does
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 0, err
    assert first and "Traceback" not in err and "BrokenPipe" not in err and "Exception ignored" not in err


def test_a_shell_pipe_into_head(env):
    r = subprocess.run(f"{IPOWNER} report {WECHAT} --offline -q -v | head -1; exit ${{PIPESTATUS[0]}}",
                       shell=True, executable="/bin/bash", capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0 and r.stdout.startswith("ipowner report: 16 internet destinations") and r.stderr == ""


def test_ctrl_c_exits_130(env):
    p = subprocess.Popen([IPOWNER, "traffic", "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    time.sleep(1.5)  # reading stdin, which never ends
    p.send_signal(signal.SIGINT)
    _out, err = p.communicate(timeout=30)
    assert p.returncode == 130 and err.decode().strip() == "ipowner: interrupted"


def test_quiet_and_verbose(env):
    normal = run(env, "report", WECHAT, "--offline", "--format", "json")
    assert "data far from the capture's date" in normal.stderr
    for args in (["-q", "report"], ["report", "-q"]):
        quiet = run(env, *args, WECHAT, "--offline", "--format", "json")
        assert quiet.returncode == 0 and quiet.stderr == "" and quiet.stdout == normal.stdout.replace(
            json.loads(normal.stdout)["provenance"]["generated"], json.loads(quiet.stdout)["provenance"]["generated"])
    bad = run(env, "-q", "report", WECHAT, "-o", "x.xlsx")
    assert bad.returncode == 2 and bad.stderr.startswith("ipowner: -o x.xlsx")  # errors are never quiet
    verbose = run(env, "-v", "traffic", WECHAT, "-o", Path(env["IPOWNER_DATA_DIR"]).parent / "t.csv")
    assert "wrote " in verbose.stderr and "t.rollups.csv" in verbose.stderr


# -- -o and --format --------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "message"), [
    (["-o", "out.xlsx"], "the suffix '.xlsx' names no format"),
    (["-o", "out"], "no suffix names its format"),
    (["--format", "json", "-o", "out.html"], "--format json contradicts -o out.html (a .html file is html)"),
    (["--format", "csv", "-o", "out.json"], "--format csv contradicts"),
])
def test_an_output_suffix_must_name_the_format(env, tmp_path, args, message):
    r = run(env, "report", WECHAT, "--offline", *args, cwd=tmp_path)
    assert r.returncode == 2 and message in r.stderr and r.stderr.count("\n") == 1
    assert not list(tmp_path.glob("out*"))


def test_usual_suffixes(env, tmp_path):
    for name, check in (("r.ndjson", lambda t: json.loads(t.splitlines()[0])["kind"] == "provenance"),
                        ("r.tsv", lambda t: t.startswith("rank\taddress\tscope\t")),
                        ("r.txt", lambda t: t.startswith("ipowner report:")),
                        ("r.md", lambda t: t.startswith("# ipowner report")),
                        ("r.data", lambda t: json.loads(t)["schema"] == "ipowner.report/3")):
        extra = ["--format", "json"] if name.endswith(".data") else []
        r = run(env, "report", WECHAT, "--offline", "-q", "-o", tmp_path / name, *extra)
        assert r.returncode == 0, (name, r.stderr)
        assert check((tmp_path / name).read_text()), name
    assert (tmp_path / "r.rollups.tsv").is_file() and (tmp_path / "r.sources.tsv").is_file()


def test_traffic_and_lookup_take_o(env, tmp_path):
    r = run(env, "traffic", WECHAT, "-o", tmp_path / "t.json")
    assert r.returncode == 0 and json.loads((tmp_path / "t.json").read_text())["schema"] == "ipowner.traffic/3"
    assert r.stdout == ""
    r = run(env, "lookup", "8.8.8.8", "10.0.0.1", "--offline", "-o", tmp_path / "l.tsv")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO((tmp_path / "l.tsv").read_text()), delimiter="\t"))
    assert [x["address"] for x in rows] == ["8.8.8.8", "10.0.0.1"]
    r = run(env, "traffic", WECHAT, "-o", tmp_path / "t.md")
    assert r.returncode == 2 and "cannot be written as markdown" in r.stderr


# -- the diff gate ----------------------------------------------------------------------------------

def test_diff_fail_on_exits_3_on_a_change(env):
    before, after = SAVED / "report-v1-pcapdroid.json", SAVED / "report-v1-wechat.json"
    r = run(env, "diff", before, after, "--fail-on", "new-location-country", "--format", "json")
    assert r.returncode == 3, r.stderr
    assert json.loads(r.stdout)["schema"] == "ipowner.diff/2"
    assert "diff gate fired" in r.stderr and "new-location-country: CN  China" in r.stderr
    for rule, needle in (("new-location-country:CN", "CN  China"), ("new-destination", "203.205.151.162"),
                         ("new-domain:wechat.com", "wechat.com"), ("bytes-up:50%", "from nothing")):
        r = run(env, "diff", before, after, "--fail-on", rule, "-q")
        assert r.returncode == 3 and r.stderr == "", rule
        r = run(env, "diff", before, after, "--fail-on", rule)
        assert r.returncode == 3 and needle in r.stderr, (rule, r.stderr)
    # Only what matches: a country that did not appear, a diff the other way round.
    assert run(env, "diff", before, after, "--fail-on", "new-location-country:RU").returncode == 0
    back = run(env, "diff", after, before, "--fail-on", "new-location-country", "--fail-on", "new-holder-country")
    assert back.returncode == 0 and "diff gate passed" in back.stderr and "removed" in back.stderr
    assert run(env, "diff", before, after, "--fail-on", "bytes-up:lots").returncode == 2
    assert run(env, "diff", before, after, "--fail-on", "location:CN").returncode == 2


def test_diff_gate_rules_in_the_library():
    from ipowner import read_document
    from ipowner.reports.diff import diff_reports
    from ipowner.reports.diff_rules import evaluate_diff, parse_diff_rule

    a, b = read_document(SAVED / "report-v1-pcapdroid.json"), read_document(SAVED / "report-v1-wechat.json")
    same = evaluate_diff(diff_reports(b, b), [parse_diff_rule(r) for r in
                                              ("new-destination", "new-location-country", "bytes-up:1%")])
    assert not same.fired and same.rules == ["new-destination", "new-location-country", "bytes-up:1%"]
    got = evaluate_diff(diff_reports(a, b), [parse_diff_rule("bytes-up:10")])
    assert got.fired and {f.key for f in got.findings} >= {"CN", "SG"}


# -- text ------------------------------------------------------------------------------------------

def test_no_none_in_any_text_output(env, tmp_path):
    from ipowner.model.diff import AnswerChange

    outs = []
    for fmt in ("table", "csv", "tsv", "markdown", "html"):
        outs.append(run(env, "report", WECHAT, "--offline", "-q", "--format", fmt).stdout)
        outs.append(run(env, "diff", SAVED / "report-v1-pcapdroid.json", SAVED / "report-v1-wechat.json", "-q",
                        "--format", fmt).stdout)
    for fmt in ("table", "csv", "tsv"):
        outs.append(run(env, "traffic", WECHAT, "-q", "--format", fmt).stdout)
        outs.append(run(env, "lookup", "8.8.8.8", "10.0.0.1", "--offline", "-q", "--format", fmt).stdout)
    assert all(outs) and not [o for o in outs if "None" in o]
    # A changed answer whose one side nobody knew reads "unknown".
    from ipowner.model.diff import Diff
    from ipowner.render import render

    d = Diff(changed_answers=[AnswerChange("192.0.2.1", {"holder": (None, "Example Ltd"), "asn": (64500, None)})])
    for fmt in ("table", "csv", "tsv", "markdown", "html"):
        buf = io.StringIO()
        render(d, fmt, buf)
        text = buf.getvalue().replace("-&gt;", "->").replace(" \u2192 ", " -> ")  # HTML draws the arrow
        assert "None" not in text and "unknown -> Example Ltd" in text and "64500 -> unknown" in text, fmt


def test_ages_in_human_units():
    assert age_text(0.2) == "less than a day" and age_text(1) == "1 day" and age_text(-12) == "12 days"
    assert age_text(100) == "3 months" and age_text(3516) == "9.6 years"


# -- help, man page, completion ---------------------------------------------------------------------

def test_the_man_page_is_up_to_date():
    spec = importlib.util.spec_from_file_location("make_manpage", ROOT / "scripts" / "make_manpage.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    page = (ROOT / "docs" / "ipowner.1").read_text(encoding="utf-8")
    assert page == mod.render_page(), "run python scripts/make_manpage.py"
    for needle in (".SS ipowner report", "\\-\\-fail\\-on", "\\-\\-evidence", "ipowner cache clear", "130"):
        assert needle in page


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_shell_completion_scripts(env, shell):
    r = subprocess.run([IPOWNER], capture_output=True, text=True, timeout=60,
                       env={**env, "_IPOWNER_COMPLETE": f"{shell}_source"})
    assert r.returncode == 0 and "_ipowner_completion" in r.stdout
    r = subprocess.run([IPOWNER], capture_output=True, text=True, timeout=60,
                       env={**env, "_IPOWNER_COMPLETE": "bash_complete", "COMP_WORDS": "ipowner rep", "COMP_CWORD": "1"})
    assert "report" in r.stdout


def test_every_command_takes_q_and_v():
    from ipowner.cli import _register, cli

    _register()
    import click

    def walk(cmd: click.Command, path: str) -> None:
        names = {o for p in cmd.params for o in getattr(p, "opts", [])}
        assert {"-q", "-v"} <= names, path
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                walk(sub, f"{path} {name}")

    walk(cli, "ipowner")
