"""The cloud snapshot: building it from the providers' files (overlap rules), reading it by default, a user's
file replacing its kind, and the seed case offline in lookup and report.

The input files written here are synthetic (made in each test, named ``*synthetic*`` in a folder of that name);
the seed case reads the shipped snapshot (built from AWS's ip-ranges.json of 2026-08-22, data/README.md).
"""

from __future__ import annotations

import json
import lzma
from datetime import date
from pathlib import Path

import pytest

import ipowner
from ipowner.datasets.cloud_ranges import CLOUD_INPUTS, build_cloud_snapshot
from ipowner.errors import InputError
from ipowner.providers.cloud import CloudRangeProvider
from ipowner.reference.cloud import read_snapshot
from ipowner.reference.cloud_files import CloudFileError, aws_service, parse_cloud_file

SEED = "AWS region ap-southeast-1 (Singapore) per AWS's range file of 2026-08-22"
SHIPPED_DIR = Path("/work/shared/realdata/cloud/2026-08-22")


def synthetic_inputs(folder: Path) -> Path:
    """One small file per format, synthetic, in the publishers' own shapes."""
    folder.mkdir(parents=True, exist_ok=True)
    aws = {
        "syncToken": "1", "createDate": "2026-01-02-03-04-05",
        "prefixes": [
            {"ip_prefix": "198.51.100.0/24", "region": "ap-southeast-1", "service": "AMAZON",
             "network_border_group": "ap-southeast-1"},
            {"ip_prefix": "198.51.100.0/24", "region": "ap-southeast-1", "service": "EC2",
             "network_border_group": "ap-southeast-1"},
            {"ip_prefix": "198.51.100.0/24", "region": "ap-southeast-1", "service": "ROUTE53_HEALTHCHECKS",
             "network_border_group": "ap-southeast-1"},
            {"ip_prefix": "203.0.113.0/25", "region": "GLOBAL", "service": "AMAZON", "network_border_group": "GLOBAL"},
            {"ip_prefix": "203.0.113.0/25", "region": "GLOBAL", "service": "CLOUDFRONT", "network_border_group": "GLOBAL"},
            {"ip_prefix": "not a prefix", "region": "x", "service": "EC2"},
        ],
        "ipv6_prefixes": [{"ipv6_prefix": "2001:db8:1::/48", "region": "us-east-1", "service": "EC2"}],
    }
    (folder / "ip-ranges.json").write_text(json.dumps(aws))
    (folder / "cloud.json").write_text(json.dumps({
        "creationTime": "2026-01-03T00:00:00.000", "prefixes": [
            {"ipv4Prefix": "192.0.2.64/26", "service": "Google Cloud", "scope": "europe-west3"},
            {"ipv4Prefix": "192.0.2.128/26", "service": "Google Cloud", "scope": "global"}]}))
    (folder / "goog.json").write_text(json.dumps({
        "creationTime": "2026-01-03T00:00:00.000", "prefixes": [{"ipv4Prefix": "192.0.2.0/24"}]}))
    (folder / "ServiceTags_Public.json").write_text(json.dumps({
        "changeNumber": 7, "cloud": "Public", "values": [
            {"name": "AzureCloud", "properties": {"region": "", "systemService": "", "addressPrefixes": ["198.18.0.0/24"]}},
            {"name": "AzureCloud.eastasia", "properties": {"region": "eastasia", "systemService": "",
                                                           "addressPrefixes": ["198.18.0.0/24"]}},
            {"name": "Storage.EastAsia", "properties": {"region": "eastasia", "systemService": "AzureStorage",
                                                        "addressPrefixes": ["198.18.0.0/24"]}},
            {"name": "AzureFrontDoor.Frontend", "properties": {"region": "", "systemService": "AzureFrontDoor",
                                                               "addressPrefixes": ["198.18.1.0/24"]}},
        ]}))
    (folder / "ips-v4").write_text("198.19.0.0/24\n# comment\n")
    (folder / "geo.csv").write_text("198.19.1.0/24,NL,NL-NH,Amsterdam,1098 XH\nbogus,XX,,,\n")
    return folder


def test_build_applies_each_providers_overlap_rule(tmp_path):
    out = tmp_path / "snap.json.xz"
    summary = build_cloud_snapshot(synthetic_inputs(tmp_path / "inputs-synthetic"), out,
                                   dates={"azure": date(2026, 1, 4), "cloudflare-v4": date(2026, 1, 5)})
    assert summary.ranges == 11 and out.is_file()  # goog.json's /24 minus two /26s of cloud.json: two /26s
    assert "aws 2026-01-02" in summary.sources and "azure 2026-01-04" in summary.sources
    assert {"oracle", "fastly", "cloudflare-v6"} <= set(summary.missing)
    with CloudRangeProvider(snapshot=out) as p:
        aws = p.find("198.51.100.7")
        assert (aws.provider, aws.region, aws.service) == ("aws", "ap-southeast-1", "ROUTE53_HEALTHCHECKS")
        cf = p.find("203.0.113.5")  # GLOBAL is no region; CLOUDFRONT beats AMAZON
        assert (cf.region, cf.service) == (None, "CLOUDFRONT")
        assert p.find("2001:db8:1::5").region == "us-east-1"
        gcp, own, glob = p.find("192.0.2.70"), p.find("192.0.2.10"), p.find("192.0.2.130")
        assert (gcp.source, gcp.region) == ("ranges:google", "europe-west3")
        assert (own.source, own.region, own.provider) == ("ranges:google-own", None, "google")  # goog minus cloud
        assert (glob.source, glob.region) == ("ranges:google", None)  # scope "global": no region
        az = p.find("198.18.0.9")  # the regional tag, and its most specific service
        assert (az.provider, az.region, az.service) == ("microsoft", "eastasia", "AzureStorage")
        assert p.find("198.18.1.1").service == "AzureFrontDoor"
        do = p.recognise("198.19.1.1")
        assert (do.key, do.region_country, do.region_place) == ("digitalocean", "NL", "Amsterdam")
        assert p.recognise("198.19.0.1").file_date.date() == date(2026, 1, 5)
        g = p.recognise("192.0.2.70")
        assert (g.region_place, g.region_country, g.publisher) == ("Frankfurt", "DE", "Google Cloud")
    snap = read_snapshot(out)
    aws_src = next(s for s in snap.sources if s.id == "ranges:aws")
    assert aws_src.url == "https://ip-ranges.amazonaws.com/ip-ranges.json" and aws_src.date_basis == "createDate"


def test_a_bad_input_costs_only_itself_and_no_input_keeps_the_old_snapshot(tmp_path):
    inputs = synthetic_inputs(tmp_path / "inputs-synthetic")
    (inputs / "ip-ranges.json").write_text('{"prefixes": [')  # truncated
    out = tmp_path / "snap.json.xz"
    summary = build_cloud_snapshot(inputs, out)
    assert [r.split(":")[0] for r in summary.refused] == ["aws"] and summary.ranges > 0
    before = out.read_bytes()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="no cloud range file could be used"):
        build_cloud_snapshot(empty, out)
    assert out.read_bytes() == before  # the previous snapshot stays
    (inputs / "goog.json").write_text(json.dumps({"prefixes": [{"ipv4Prefix": "192.0.2.0/24"}]}))
    (inputs / "cloud.json").unlink()
    refused = build_cloud_snapshot(inputs, out).refused
    assert any(r.startswith("google: goog.json needs cloud.json") for r in refused)


def test_every_input_has_a_publisher_url_and_a_file_name():
    names = [i.name for i in CLOUD_INPUTS]
    assert len(set(names)) == len(names) and all(i.url.startswith("https://") and i.filename for i in CLOUD_INPUTS)


@pytest.mark.parametrize("body, name, words", [
    (b"\xff\xfe", "ip-ranges.json", "not UTF-8"),
    (b"[1, 2]", "x.json", "not a known range file"),
    (b'{"prefixes": 5}', "x.json", "not a known range file"),
    (b'{"hello": 1}', "x.json", "not a known range file"),
    (b"10.0.0.0/8\n", "list.txt", "needs its publisher's file name"),
    (b'{"prefixes": []}', "cloud.json", "no usable prefix"),
    (b'{"a":' + b"[" * 100_000, "deep.json", "not JSON"),
])
def test_hostile_range_files_are_refused_with_a_reason(body, name, words):
    with pytest.raises(CloudFileError, match=words):
        parse_cloud_file(body, name)


def test_hostile_labels_are_dropped_not_shown():
    doc = {"createDate": "2026-01-01-00-00-00", "prefixes": [
        {"ip_prefix": "198.51.100.0/24", "region": "\x1b[31mevil", "service": "E" * 500}]}
    (p,) = parse_cloud_file(json.dumps(doc).encode(), "ip-ranges.json").prefixes
    assert (p.region, p.service) == (None, None)


def test_aws_service_rule():
    assert aws_service(["AMAZON"]) == "AMAZON"
    assert aws_service(["AMAZON", "EC2"]) == "EC2"
    assert aws_service(["AMAZON", "EC2", "S3", "CLOUDFRONT"]) == "CLOUDFRONT+S3"


def test_a_damaged_snapshot_is_a_problem_not_a_crash(tmp_path):
    bad = tmp_path / "cloud-ranges.json.xz"
    bad.write_bytes(lzma.compress(b'{"format": "something else"}'))
    p = CloudRangeProvider(snapshot=bad)
    assert p.find("13.228.0.1") is None and "cannot be used" in p.problems[0]
    bad.write_bytes(b"not xz at all")
    assert "cannot be used" in CloudRangeProvider(snapshot=bad).problems[0]


def test_a_snapshot_rebuilt_in_the_user_data_folder_is_used_instead(tmp_path):
    from ipowner.paths import user_data_dir

    build_cloud_snapshot(synthetic_inputs(tmp_path / "inputs-synthetic"), user_data_dir() / "cloud-ranges.json.xz")
    with CloudRangeProvider(snapshot=True) as p:
        assert p.find("198.51.100.7").service == "ROUTE53_HEALTHCHECKS"
        assert p.find("13.228.0.1") is None  # the shipped snapshot is not mixed in


def test_hostile_snapshot_shapes(tmp_path):
    bad = tmp_path / "s.json.xz"
    for doc in ({"format": "ipowner.cloud-ranges/1", "sources": 5, "ranges": []},
                {"format": "ipowner.cloud-ranges/1", "sources": [{"id": "ranges:x"}], "ranges": []}):
        bad.write_bytes(lzma.compress(json.dumps(doc).encode()))
        assert CloudRangeProvider(snapshot=bad).problems
    bad.write_bytes(lzma.compress(b'{"format":' + b"[" * 50_000))
    assert CloudRangeProvider(snapshot=bad).problems
    good = {"format": "ipowner.cloud-ranges/1", "sources": [{"id": "ranges:aws", "provider": "aws"}],
            "ranges": [[0, "198.51.100.0/24", "\u001b[2J", None, None, None], [0, "nonsense/99", None, None, None, None],
                       [7, "192.0.2.0/24", None, None, None, None], [0, "203.0.113.0/24", "us-east-1", None, None, None]]}
    bad.write_bytes(lzma.compress(json.dumps(good).encode()))
    p = CloudRangeProvider(snapshot=bad)
    assert p.problems == [] and len(p) == 1 and p.find("203.0.113.9").region == "us-east-1"


def test_a_users_file_replaces_the_snapshots_list_of_its_kind():
    user = Path(__file__).parent / "data" / "cloud" / "aws-ip-ranges-synthetic.json"
    with CloudRangeProvider([user], snapshot=True) as p:
        assert p.find("52.74.1.10").source == "ranges:aws"  # the user's file answers
        assert p.find("13.228.0.1") is None  # the snapshot's AWS list is replaced, not mixed in
        assert p.find("34.1.208.1").region == "africa-south1"  # the snapshot's Google list still answers
        assert [s.id for s in p.snapshot_sources() if s.id == "ranges:aws"] == []


def test_seed_case_offline_in_lookup():
    res = ipowner.lookup(["13.228.0.1"], offline=True, discover=False)
    (rec,) = res.records
    t = rec.traits
    assert (t["cloud_provider"], t["cloud_region"], t["cloud_service"]) == ("aws", "ap-southeast-1", "EC2")
    assert (t["cloud_region_country"], t["cloud_region_place"]) == ("SG", "Singapore")
    assert rec.provenance["traits.cloud_region"] == "ranges:aws"
    assert rec.provenance["traits.cloud_region_place"] == "table:cloud-regions"
    src = {s.id: s for s in res.sources}["ranges:aws"]
    assert src.date.date() == date(2026, 8, 22) and "ip-ranges.json" in src.name
    assert rec.location.country == "SG"


@pytest.mark.skipif(not SHIPPED_DIR.is_dir(), reason="the snapshot's inputs are not on this machine")
def test_the_shipped_snapshot_is_what_the_build_script_makes(tmp_path):
    import runpy

    script = runpy.run_path(str(Path(__file__).parents[1] / "scripts" / "build_cloud_snapshot.py"))
    out = tmp_path / "rebuilt.json.xz"
    build_cloud_snapshot(SHIPPED_DIR, out, dates=script["DATES"])
    shipped = json.loads(lzma.decompress((Path(__file__).parents[1] / "data" / "cloud-ranges.json.xz").read_bytes()))
    rebuilt = json.loads(lzma.decompress(out.read_bytes()))
    assert rebuilt["sources"] == shipped["sources"] and rebuilt["ranges"] == shipped["ranges"]


@pytest.mark.slow
def test_seed_case_offline_in_every_format(tmp_path):
    import os
    import subprocess
    import sys

    env = dict(os.environ, IPOWNER_DATA_DIR=str(tmp_path / "data"), IPOWNER_CACHE_DIR=str(tmp_path / "cache"))
    exe = [str(Path(sys.executable).parent / "ipowner")]
    addresses = tmp_path / "addresses.txt"
    addresses.write_text("13.228.0.1\n")
    outs = {}
    for fmt in ("table", "json", "csv"):
        r = subprocess.run([*exe, "lookup", "13.228.0.1", "--offline", "--format", fmt], capture_output=True,
                           text=True, env=env, timeout=120)
        assert r.returncode == 0, r.stderr
        outs[f"lookup {fmt}"] = r.stdout
    assert SEED in outs["lookup table"].replace("\n", " ") or SEED in " ".join(outs["lookup table"].split())
    assert json.loads(outs["lookup json"])["records"][0]["traits"]["cloud_region"] == "ap-southeast-1"
    assert "ap-southeast-1" in outs["lookup csv"] and "Singapore" in outs["lookup csv"]
    for fmt in ("table", "json", "markdown", "csv", "html"):
        target = tmp_path / f"r.{fmt}"
        r = subprocess.run([*exe, "report", str(addresses), "--offline", "--format", fmt, "-o", str(target)],
                           capture_output=True, text=True, env=env, timeout=120)
        assert r.returncode in (0, 4), r.stderr
        text = " ".join(target.read_text().split())
        if fmt == "json":
            cloud = json.loads(target.read_text())["destinations"][0]["jurisdiction"]
            assert cloud["verdict"].startswith("held by Amazon (US)") and SEED in cloud["verdict"]
        else:
            assert "ap-southeast-1" in text, fmt


def test_providers_without_a_range_file_are_inferred_from_routing():
    from ipowner.model import AddressRecord, AsnInfo
    from ipowner.reports.jurisdiction import judge

    rec = AddressRecord(query="198.51.100.1", address="198.51.100.1", asn=AsnInfo(45102, "Synthetic Alibaba"))
    rec.location.country = "SG"
    j = judge(rec, ranges=CloudRangeProvider(snapshot=False), offline=True)
    assert j.cloud.key == "alibaba" and j.cloud.statement.startswith("inferred from routing (announced by AS45102")
    assert "Alibaba network, inferred from routing (announced by AS45102, one of Alibaba's AS numbers)" in j.verdict
    assert not j.verdict.startswith("held by")  # routing names no holder
