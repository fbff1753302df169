"""``ipowner.report()`` end to end on the embedded data, offline, and ``diff`` on saved reports."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from report_support import T0, dest, make_sample

import ipowner
from ipowner.model import InputInfo, TrafficResult
from ipowner.reports.diff import diff_reports
from ipowner.reports.report import build_report

NOW = datetime(2026, 11, 29, tzinfo=UTC)
IPOWNER = str(Path(sys.executable).parent / "ipowner")


@pytest.fixture
def data_dir():
    """Private data and cache folders: tests/conftest.py gives every test its own."""


def traffic_of(*dests) -> TrafficResult:
    return TrafficResult(inputs=[InputInfo(name="hand-made", sha256=None, format="test", first_seen=T0,
                                           last_seen=T0 + 60)], destinations=list(dests))


def test_report_offline_on_embedded_data(no_sockets, data_dir):
    tr = traffic_of(dest("52.74.1.10", 5000, 100), dest("8.8.8.8", 300, 300), dest("10.1.1.1", 9, 9, scope="lan"))
    rep = ipowner.report(tr, offline=True, now=NOW, discover=False, fail_on=["location:SG"])
    by = {d.address: d.jurisdiction for d in rep.destinations}
    aws = by["52.74.1.10"]
    assert (aws.location_country, aws.asn, aws.cloud.key, aws.registered_country) == ("SG", 16509, "aws", "US")
    # Offline, AWS's own range file (the shipped snapshot) names the holder and the region, with its date,
    # before the geolocation; then the registry with its basis.
    assert aws.verdict.startswith("held by Amazon (US); AWS region ap-southeast-1 (Singapore) per AWS's range file "
                                  "of 2026-08-22 (service EC2); located in Singapore; in ARIN's address space "
                                  "(IANA /8 table of 2011-02-01; no delegation file lists the block)")
    assert "holder unknown offline" not in aws.verdict
    # The holder fields say what the verdict says, with the rule that named the holder, so neither the
    # flags nor the holder rollups call it unknown.
    assert (aws.holder, aws.holder_country, aws.holder_rule, aws.holder_inferred) == ("Amazon", "US", "range-file", False)
    assert aws.flags == ["holder-country-differs-from-location"]  # a US holder, a Singapore location
    holders = {r.key: r for r in rep.rollups["holder"]}
    assert holders["Amazon"].bytes_sent == 5000 and holders["Amazon"].destinations == 1
    assert "AWS region ap-southeast-1 (Singapore) per AWS's range file of 2026-08-22" in aws.verdict
    assert (aws.cloud.region, aws.cloud.region_country, aws.cloud.basis) == ("ap-southeast-1", "SG", "ranges:aws")
    # A cloud node registered in one country and serving from another is how clouds work: not flagged,
    # and the verdict says why (issue 14).
    assert "registered-country-differs-from-location" not in aws.flags
    assert "registration country US (not flagged: Amazon's cloud/CDN network serves many countries)" in aws.verdict
    assert (by["8.8.8.8"].location_country, by["8.8.8.8"].cloud.key) == ("US", "google")
    assert rep.destinations[-1].record is None  # LAN peers are not looked up
    assert [o["address"] for o in rep.policy.offending] == ["52.74.1.10"]
    ids = {n.source.id for n in rep.provenance.data_sources}
    assert {"embedded:asn", "embedded:dbip-country", "table:cloud-providers", "iana-ipv4-space", "ranges:aws",
            "table:cloud-regions"} <= ids
    assert any("DB-IP" in c for c in rep.provenance.credits)
    assert rep.provenance.offline is True


def test_cloud_table_asns_agree_with_the_embedded_data(data_dir):
    """Addresses of each big provider resolve, in the embedded data, to an AS the table gives that provider."""
    sample = {"52.74.1.10": "aws", "8.8.8.8": "google", "13.107.42.14": "microsoft", "1.1.1.1": "cloudflare",
              "151.101.1.140": "fastly", "47.88.1.1": "alibaba", "119.28.1.1": "tencent", "5.9.1.1": "hetzner",
              "51.38.1.1": "ovh", "104.131.1.1": "digitalocean"}
    rep = ipowner.report(traffic_of(*[dest(a, 1, 1) for a in sample]), offline=True, now=NOW, discover=False)
    got = {d.address: (d.jurisdiction.cloud.key if d.jurisdiction.cloud else None, d.jurisdiction.asn)
           for d in rep.destinations}
    assert {a: k for a, (k, _) in got.items()} == sample, got


def _saved(tmp_path, name, tr, records):
    p = tmp_path / name
    p.write_text(json.dumps(build_report(tr, records, now=NOW).to_dict()))
    return p


@pytest.mark.slow  # the CLI in subprocesses
def test_diff_of_saved_reports_lists_what_changed(tmp_path):
    tr, records = make_sample()
    before = _saved(tmp_path, "before.json", tr, records)
    # After an update: the CNNIC-space server is gone, a new one in the US appears, and AWS sends more.
    from report_support import rec

    tr.destinations = [d for d in tr.destinations if d.address != "42.62.48.7"]
    tr.destinations[0].bytes_sent = 9000
    tr.destinations.append(dest("54.183.1.1", 700, 10, ["upload.example-phone.com"]))
    records["54.183.1.1"] = rec("54.183.1.1", country="US", asn=16509, holder="Amazon Technologies Inc.",
                                holder_country="US")
    after = _saved(tmp_path, "after.json", tr, records)

    doc = diff_reports(json.loads(before.read_text()), json.loads(after.read_text())).to_dict()
    assert [d["address"] for d in doc["destinations"]["added"]] == ["54.183.1.1"]
    assert [d["address"] for d in doc["destinations"]["removed"]] == ["42.62.48.7"]
    assert doc["hostnames"] == {"added": ["upload.example-phone.com"], "removed": ["api.account.xiaomi.com"]}
    assert doc["jurisdictions"]["location"] == {"added": ["US"], "removed": ["CN"]}
    loc = {r["key"]: r for r in doc["bytes"]["location"]}
    assert loc["CN"]["bytes_sent_change"] == -12000 and loc["SG"]["bytes_sent_change"] == 4000
    assert loc["US"]["bytes_sent_after"] == 700

    for fmt in ("table", "json", "jsonl", "csv", "markdown", "html"):
        out = subprocess.run([IPOWNER, "diff", str(before), str(after), "--format", fmt],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        assert "54.183.1.1" in out.stdout and "42.62.48.7" in out.stdout
    csv_out = subprocess.run([IPOWNER, "diff", str(before), str(after), "--format", "csv"],
                             capture_output=True, text=True, timeout=60).stdout
    assert "destination,added,54.183.1.1" in csv_out and "location,removed,CN" in csv_out
