"""The renderer registry: one entry point for every document kind and format, and what it refuses."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest

import ipowner
from ipowner.errors import UsageError
from ipowner.model import Destination, TrafficResult
from ipowner.model.diff import Diff
from ipowner.render import _registry, formats, kind_of, kinds, register, render, writer_for
from ipowner.reports.report import build_report

NOW = datetime(2026, 11, 29, tzinfo=UTC)


def _report():
    tr = TrafficResult(destinations=[Destination(address=f"198.51.100.{i}", bytes_sent=1000 + i) for i in range(3)])
    return build_report(tr, {}, now=NOW)


def test_every_kind_has_its_formats_table_first():
    assert kinds() == ["lookup", "traffic", "report", "diff", "data", "cache", "cache-export", "as"]
    assert formats("as") == ["table", "json", "jsonl"]
    assert formats("data") == formats("cache") == ["table", "json"]
    assert formats("cache-export") == ["jsonl"]
    assert formats("lookup") == ["table", "json", "jsonl", "csv", "tsv"]
    assert formats("traffic") == ["table", "json", "jsonl", "csv", "tsv", "parquet"]
    assert formats("report") == formats("diff") == ["table", "json", "jsonl", "csv", "tsv", "markdown", "html"]
    assert formats("nothing") == []


def test_every_builtin_writer_resolves_to_a_function():
    for kind in kinds():
        for fmt in formats(kind):
            assert callable(writer_for(kind, fmt))


def test_the_kind_is_told_from_the_document():
    assert kind_of(_report()) == "report"
    assert kind_of(TrafficResult()) == "traffic"
    assert kind_of(ipowner.lookup(["10.0.0.1"], use_embedded=False, discover=False, rdap=False)) == "lookup"
    assert kind_of(Diff()) == "diff"
    for other in ({"schema": "ipowner.diff/2"}, {"schema": "something/1"}, [], "report", None):
        with pytest.raises(UsageError, match="cannot render"):
            kind_of(other)


def test_an_unknown_format_is_a_usage_error_naming_the_formats():
    with pytest.raises(UsageError, match=r"cannot be written as 'yaml' \(formats: table, json, jsonl, csv, tsv, parquet\)"):
        render(TrafficResult(), "yaml", io.StringIO())


def test_one_calling_convention_for_every_format():
    rep = _report()
    for fmt in formats("report"):
        buf = io.StringIO()
        render(rep, fmt, buf, width=72)
        assert buf.getvalue()
    buf = io.StringIO()
    render(rep, "json", buf)
    assert json.loads(buf.getvalue())["schema"] == "ipowner.report/3"
    # width reaches the terminal view and only it
    narrow, wide = io.StringIO(), io.StringIO()
    render(rep, "table", narrow, width=72)
    render(rep, "table", wide, width=150)
    assert max(map(len, narrow.getvalue().splitlines())) <= 72 < max(map(len, wide.getvalue().splitlines()))


def test_a_registered_writer_is_used_and_listed(monkeypatch):
    monkeypatch.setattr(_registry, "_WRITERS", dict(_registry._WRITERS))
    monkeypatch.setattr(_registry, "_FORMATS", {k: list(v) for k, v in _registry._FORMATS.items()})
    seen = []

    def count(document, out, /, *, width=None):
        seen.append(width)
        out.write(f"{len(document.destinations)} destinations\n")

    register("report", "count", count)
    assert formats("report")[-1] == "count"
    buf = io.StringIO()
    render(_report(), "count", buf, width=50)
    assert buf.getvalue() == "3 destinations\n" and seen == [50]
