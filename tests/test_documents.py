"""Every document the command line writes: it validates against its shipped JSON Schema and reads back.

The schemas under data/schemas/ are generated from the model (ipowner.model.schema); the first test
fails when they drift from it. Validation here is stricter than the shipped schemas: an object may
not carry a key its schema does not list, so a key written but not in the model (or the other way
round) is caught. Documents saved by the first schema versions (tests/data/documents/) still read.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

import ipowner
from ipowner.cli import cli
from ipowner.cli.commands import cli as _registered  # noqa: F401 - registers the subcommands
from ipowner.model import kinds
from ipowner.model.address import SCHEMA_LOOKUP
from ipowner.model.cache import CacheExport, CacheStats
from ipowner.model.counts import Counts
from ipowner.model.data import SCHEMA_DATA
from ipowner.model.diff import Diff, DiffLines
from ipowner.model.documents import KINDS, kind_of, load_document, load_lines, read_document
from ipowner.model.report import SCHEMA_REPORT, DestinationReport, Report, RollupRow
from ipowner.model.schema import schemas, shipped_folder
from ipowner.model.serialize import epoch_of
from ipowner.model.traffic import AppSummary, Destination, DeviceSummary, TrafficResult
from rdap_support import RecordedRdap

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
SAVED = DATA / "documents"
WECHAT = DATA / "traffic" / "ndpi--wechat.pcap"
PCAPDROID = DATA / "traffic" / "synthetic-pcapdroid-connections.csv"
ZEEK = DATA / "traffic" / "logs"
SCHEMAS = dict(schemas())


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with every listed object closed to keys it does not name."""
    out = copy.deepcopy(schema)

    def close(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                node.setdefault("additionalProperties", False)
            for v in node.values():
                close(v)
        elif isinstance(node, list):
            for v in node:
                close(v)

    close(out)
    return out


def errors(file_name: str, docs: list[Any]) -> list[str]:
    validator = Draft202012Validator(strict(SCHEMAS[file_name]))
    found = []
    for i, doc in enumerate(docs):
        for e in validator.iter_errors(doc):
            found.append(f"{file_name} #{i} at {'/'.join(map(str, e.absolute_path))}: {e.message[:300]}")
    return found


def schema_file(schema: str, lines: bool) -> str:
    return f"{kind_of(schema).name}{'-line' if lines else ''}.schema.json"


# --------------------------------------------------------------------------------------------- the schemas


def test_shipped_schemas_are_the_models():
    folder = shipped_folder()
    assert sorted(p.name for p in folder.glob("*.json")) == sorted(SCHEMAS), "run scripts/make_schemas.py"
    for name, schema in SCHEMAS.items():
        assert json.loads((folder / name).read_text(encoding="utf-8")) == schema, f"{name}: run scripts/make_schemas.py"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_schemas_are_draft_2020_12(name):
    Draft202012Validator.check_schema(SCHEMAS[name])
    assert SCHEMAS[name]["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_every_document_kind_has_its_schemas():
    for kind in KINDS:
        if kind.document is not None:
            assert SCHEMAS[f"{kind.name}.schema.json"]["properties"]["schema"] == {"const": kind.schema}
        if kind.lines is not None:
            assert f"{kind.name}-line.schema.json" in SCHEMAS


# --------------------------------------------------------------------------------------------- what the CLI writes


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every JSON and JSON Lines output of every command, run once, by a name saying which."""
    base = tmp_path_factory.mktemp("documents")
    server = RecordedRdap()
    env = {
        "IPOWNER_DATA_DIR": str(base / "data"), "IPOWNER_CACHE_DIR": str(base / "cache"),
        "IPOWNER_NO_SYSTEM_MMDB": "1", "IPOWNER_MMDB_PATH": "",
        "IPOWNER_RDAP_BOOTSTRAP": str(server.write_bootstrap(base / "bootstrap")),
        "IPOWNER_RDAP_REWRITE": server.rewrite_env(),
    }
    out: dict[str, str] = {}

    def run(name: str, *args: str | Path) -> str:
        r = CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)
        assert r.stdout.strip(), (name, r.stderr)
        out[name] = r.stdout
        return r.stdout

    try:
        run("lookup json", "lookup", "74.125.225.229", "210.107.73.73", "2001:240:10c:1::ca20:9d1d", "10.1.2.3",
            "64:ff9b::808:808", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "not-an-address", "--format", "json")
        run("lookup jsonl", "lookup", "74.125.225.229", "62.239.237.1", "--format", "jsonl")
        run("lookup json offline", "lookup", "8.8.8.8", "1.1.1.1", "--offline", "--format", "json")
        run("cache stats json", "cache", "stats", "--format", "json")
        run("cache export", "cache", "export")
        run("data json", "data", "--format", "json", "--mmdb", DATA / "mmdb" / "GeoLite2-ASN-Test.mmdb",
            "--mmdb", base / "missing.mmdb")
        run("traffic json capture", "traffic", WECHAT, "--format", "json")
        run("traffic jsonl capture", "traffic", WECHAT, "--format", "jsonl")
        run("traffic json pcapdroid", "traffic", PCAPDROID, "--format", "json")
        run("traffic json zeek", "traffic", *sorted(ZEEK.glob("*.log"))[:3], "--format", "json")
        saved = base / "wechat.json"
        saved.write_text(run("report json", "report", WECHAT, "--offline", "--fail-on", "location:CN", "--format",
                             "json"))
        run("report jsonl", "report", WECHAT, "--offline", "--fail-on", "location:CN", "--format", "jsonl")
        other = base / "pcapdroid.json"
        other.write_text(run("report json pcapdroid", "report", PCAPDROID, "--offline", "--format", "json"))
        run("diff json saved", "diff", saved, other, "--format", "json")
        run("diff jsonl saved", "diff", saved, other, "--format", "jsonl")
        run("diff json capture", "diff", saved, PCAPDROID, "--offline", "--format", "json")
    finally:
        server.close()
    return out


def _parsed(text: str) -> tuple[list[Any], bool]:
    try:
        return [json.loads(text)], False
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()], True


EXPECTED = ["cache export", "cache stats json", "data json", "diff json capture", "diff json saved",
            "diff jsonl saved", "lookup json", "lookup json offline", "lookup jsonl", "report json",
            "report json pcapdroid", "report jsonl", "traffic json capture", "traffic json pcapdroid",
            "traffic json zeek", "traffic jsonl capture"]


def test_every_command_that_writes_json_is_covered(outputs):
    assert sorted(outputs) == EXPECTED
    written = {c.split(" --")[0] for k in KINDS for c in k.commands}
    assert written == {"lookup", "traffic", "report", "diff", "data", "cache stats", "cache export"}


@pytest.mark.parametrize("name", EXPECTED)
def test_cli_document_validates_and_reads_back(outputs, name):
    docs, lines = _parsed(outputs[name])
    schema = docs[0]["schema"]
    assert kind_of(schema).schema == schema  # the current version of its kind
    assert errors(schema_file(schema, lines), docs) == []
    if lines:
        model = load_lines(docs)
        assert list(model.lines()) == docs
    else:
        model = load_document(docs[0])
        assert model.to_dict() == docs[0]


def test_report_loads_back_equal(outputs):
    doc = json.loads(outputs["report json"])
    rep = Report.from_json(doc)
    assert rep.to_dict() == doc
    assert rep.policy is not None and rep.policy.fired and rep.destinations[0].record is not None
    assert rep.destinations[0].destination.address == doc["destinations"][0]["address"]
    lines = [json.loads(x) for x in outputs["report jsonl"].splitlines()]
    back = Report.from_lines(lines)
    assert [d.to_dict() for d in back.destinations] == doc["destinations"]
    # a group without rows has no line
    assert {k: [r.to_dict() for r in v] for k, v in back.rollups.items()} == {k: v for k, v in doc["rollups"].items() if v}


def test_times_are_iso_utc_everywhere(outputs):
    iso = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")
    timed = {"first_seen", "last_seen", "generated", "date", "fetched", "oldest", "newest", "capture_start",
             "capture_end", "build_date", "registration", "last_changed", "time"}
    seen = 0

    def walk(node: Any) -> None:
        nonlocal seen
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "bundle":
                    continue  # the cache's raw responses, as stored (docs/schema.md)
                if k in timed and v is not None:
                    assert isinstance(v, str) and iso.match(v), (k, v)
                    seen += 1
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    for text in outputs.values():
        walk(_parsed(text)[0])
    assert seen > 100
    for point in json.loads(outputs["traffic json capture"])["timeline"]["203.205.151.162"]:
        assert iso.match(point[0])


# --------------------------------------------------------------------------------------------- first versions


# Documents saved by the first version of kinds that have a second one since (the registry of each block:
# lookup/2's records have `registry`, report/2's `registry_basis` has new values and the jurisdiction new keys,
# report/2's scope has three more values, data/2 lists the registry table's inputs): each reads, and writes back as the new version, which validates,
# with every key the old one had unchanged.
V1_READ = {"lookup-v1.json": "lookup.schema.json", "lookup-v1.jsonl": "lookup-line.schema.json",
           "report-v1-wechat.json": "report.schema.json", "report-v1-pcapdroid.json": "report.schema.json",
           "report-v1-wechat.jsonl": "report-line.schema.json", "data-v1.json": "data.schema.json"}

CLOUD_KEYS_V2 = {"region_country", "region_place", "publisher", "file_date", "statement"}


@pytest.mark.parametrize("name", ["report-v1-wechat.json", "report-v1-pcapdroid.json"])
def test_report_v1_reads_as_v2_with_the_new_cloud_keys_null(name):
    old = json.loads((SAVED / name).read_text())
    new = read_document(SAVED / name).to_dict()
    assert new["schema"] == "ipowner.report/3" and errors("report.schema.json", [new]) == []
    clouds = 0
    for d_old, d_new in zip(old["destinations"], new["destinations"], strict=True):
        c_old, c_new = d_old["jurisdiction"]["cloud"], d_new["jurisdiction"]["cloud"]
        if c_old is None:
            assert c_new is None
            continue
        clouds += 1
        assert {k: v for k, v in c_new.items() if k not in CLOUD_KEYS_V2} == c_old
        assert all(c_new[k] is None for k in CLOUD_KEYS_V2)
    assert clouds > 0 or name == "report-v1-pcapdroid.json"  # the pcapdroid capture meets no cloud
    lines = read_document(SAVED / "report-v1-wechat.jsonl")
    assert errors("report-line.schema.json", list(lines.lines())) == []


def _only_old_keys(new: Any, old: Any) -> Any:
    """``new`` cut down to the keys ``old`` has (recursively), its schema key as the old one's."""
    if isinstance(new, dict) and isinstance(old, dict):
        return {k: (old[k] if k == "schema" else _only_old_keys(new[k], old[k])) for k in old if k in new}
    if isinstance(new, list) and isinstance(old, list) and len(new) == len(old):
        return [_only_old_keys(n, o) for n, o in zip(new, old, strict=True)]
    return new


@pytest.mark.parametrize("name", sorted(V1_READ))
def test_saved_first_versions_read_and_write_back_as_the_new_version(name):
    docs, lines = _parsed((SAVED / name).read_text())
    got = read_document(SAVED / name)
    new = list(got.lines()) if lines else [got.to_dict()]
    assert all(d["schema"] in (SCHEMA_LOOKUP, SCHEMA_REPORT, SCHEMA_DATA) for d in new)
    assert errors(V1_READ[name], new) == []
    assert _only_old_keys(new, docs) == docs


def test_traffic_v1_reads_with_its_epoch_times():
    old = json.loads((SAVED / "traffic-v1-wechat.json").read_text())
    tr = read_document(SAVED / "traffic-v1-wechat.json")
    assert isinstance(tr, TrafficResult)
    new = tr.to_dict()
    assert new["schema"] == "ipowner.traffic/3" and errors("traffic.schema.json", [new]) == []
    d_old, d_new = old["destinations"][0], new["destinations"][0]
    assert epoch_of(d_new["first_seen"]) == pytest.approx(d_old["first_seen"], abs=1e-6)
    assert {k: v for k, v in d_new.items() if not k.endswith("_seen")} == {
        k: v for k, v in d_old.items() if not k.endswith("_seen")}
    lines = read_document(SAVED / "traffic-v1-wechat.jsonl")
    assert [d.address for d in lines.destinations] == [d["address"] for d in old["destinations"]]
    assert errors("traffic-line.schema.json", list(lines.lines())) == []


def test_cache_v1_reads_with_its_epoch_times():
    old = json.loads((SAVED / "cache-v1-stats.json").read_text())
    st = read_document(SAVED / "cache-v1-stats.json")
    assert isinstance(st, CacheStats) and st.oldest == old["oldest"] and st.answers == old["answers"]
    assert errors("cache.schema.json", [st.to_dict()]) == []
    export = read_document(SAVED / "cache-v1-export.jsonl")
    assert isinstance(export, CacheExport) and len(export.entries) == len((SAVED / "cache-v1-export.jsonl").read_text().splitlines())
    assert errors("cache-line.schema.json", list(export.lines())) == []


def test_diff_v1_reads_and_diff_still_reads_reports_saved_by_the_first_version(tmp_path):
    old = json.loads((SAVED / "diff-v1.json").read_text())
    assert old["schema"] == "ipowner.reports.diff/1"
    diff = read_document(SAVED / "diff-v1.json")
    assert isinstance(diff, Diff) and diff.before.origin == "saved report"
    assert errors("diff.schema.json", [diff.to_dict()]) == []
    v1_lines = read_document(SAVED / "diff-v1.jsonl")
    assert isinstance(v1_lines, DiffLines) and v1_lines.after.origin == "saved report"
    assert [r.key for r in v1_lines.rows] == [json.loads(x)["key"] for x in (SAVED / "diff-v1.jsonl").read_text().splitlines()[2:]]
    # The same two saved reports, compared by today's code: the same changes.
    r = CliRunner().invoke(cli, ["diff", str(SAVED / "report-v1-wechat.json"), str(SAVED / "report-v1-pcapdroid.json"),
                                 "--format", "json"], catch_exceptions=False)
    now = json.loads(r.stdout)
    assert {k: v for k, v in now.items() if k != "command_line"} == {
        k: v for k, v in diff.to_dict().items() if k != "command_line"}


def test_unknown_and_future_versions_are_refused():
    with pytest.raises(ipowner.InputError, match="report schema ipowner.report/9 is not supported"):
        load_document({"schema": "ipowner.report/9", "destinations": []})
    with pytest.raises(ipowner.InputError, match="not an ipowner document"):
        load_document({"schema": "something/1"})


def test_a_wrong_value_is_named_by_its_path():
    doc = json.loads((SAVED / "report-v1-pcapdroid.json").read_text())
    doc["destinations"][0]["jurisdiction"]["flags"] = ["no-such-flag"]
    with pytest.raises(ipowner.InputError, match=r"jurisdiction\.flags\[0\].*not a known Flag"):
        Report.from_json(doc)
    doc = json.loads((SAVED / "report-v1-pcapdroid.json").read_text())
    doc["destinations"][0]["bytes_sent"] = "12"
    with pytest.raises(ipowner.InputError, match="bytes_sent: expected an integer"):
        Report.from_json(doc)
    doc["destinations"][0]["bytes_sent"] = 12
    doc["destinations"][0]["a key of a later version"] = 1  # ignored, as the version rule says
    assert Report.from_json(doc).destinations[0].bytes_sent == 12


# --------------------------------------------------------------------------------------------- the model's types


def test_counts_are_one_block_shared_by_every_summary():
    a = Counts(flows=1, packets_sent=2, packets_received=3, bytes_sent=4, bytes_received=5, ip_bytes_sent=6,
               ip_bytes_received=7)
    total = a + a
    assert (total.flows, total.bytes_sent, total.ip_bytes_received) == (2, 8, 14) and a.flows == 1
    assert a.reversed().bytes_sent == 5 and a.reversed().packets_received == 2
    d = Destination(address="192.0.2.1")
    d.add(a)
    d.add(a)
    assert d.counts() == total and d.bytes_total == 18
    names = {f.name for f in dataclasses.fields(Counts)}
    for cls in (Destination, DeviceSummary, AppSummary, RollupRow):
        assert issubclass(cls, Counts)
        own = {f.name for f in dataclasses.fields(cls)} - names
        assert not {n for n in own if n.startswith(("bytes_", "packets_", "ip_bytes_"))}, cls
    dr = DestinationReport.of(d)
    assert dr.bytes_sent == d.bytes_sent and dr.counts == total and dr.destination is not d


def test_enum_values_serialise_as_the_strings_and_are_documented():
    doc = (ROOT / "docs" / "schema.md").read_text(encoding="utf-8")
    for name in kinds.__all__:
        enum = getattr(kinds, name)
        for member in enum:
            assert json.dumps(member) == json.dumps(member.value) and member == member.value
            if member.value:
                assert f"`{member.value}`" in doc, f"{name}.{member.name} ({member.value!r}) is not in docs/schema.md"


# --------------------------------------------------------------------------------------------- the library behind data and cache


def test_data_and_cache_as_library_calls(tmp_path, monkeypatch):
    monkeypatch.setenv("IPOWNER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IPOWNER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("IPOWNER_NO_SYSTEM_MMDB", "1")
    status = ipowner.data_status([DATA / "mmdb" / "GeoIP2-City-Test.mmdb", tmp_path / "missing.mmdb"], discover=False)
    assert [d.origin for d in status.databases] == ["given", "embedded"] and len(status.problems) == 1
    assert status.embedded is not None and status.embedded.age_days is not None and status.exit_code == 4
    assert ipowner.DataStatus.from_json(status.to_dict()).to_dict() == status.to_dict()

    from ipowner.providers.rdap import RdapCache

    cache = RdapCache(tmp_path / "cache")
    cache.store(4, 0xC6336400, 0xC63364FF, url="https://rdap.example/ip/198.51.100.1", registry="arin",
                handle="NET-198-51-100-0", fetched=1_700_000_000.5, leaf=True, bundle={"network": None})
    cache.put_object("https://rdap.example/entity/X", "entity", 1_700_000_100.0, 404, "not found")
    cache.close()
    st = ipowner.cache_status()
    assert (st.answers, st.answers_leaf, st.objects, st.oldest) == (1, 1, {"entity": 1}, 1_700_000_000.5)
    assert st.to_dict()["oldest"] == "2023-11-14T22:13:20.500000Z"
    entries = list(ipowner.cache_export())
    assert [e.type for e in entries] == ["answer", "object"] and entries[0].first == "198.51.100.0"
    assert ipowner.cache_clear(expired_only=True).removed == 2  # 2023 is older than a week
    assert ipowner.cache_status().answers == 0
    (tmp_path / "cache" / "rdap.sqlite3").write_bytes(b"not a database" * 100)
    done = ipowner.cache_clear()
    assert done.damaged and not (tmp_path / "cache" / "rdap.sqlite3").exists()
