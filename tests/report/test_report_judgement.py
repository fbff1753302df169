"""The jurisdiction judgement and the rollups, on hand-built records."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
from report_support import rec

from ipowner.errors import InputError
from ipowner.model.report import (
    FLAG_HOLDER_ABROAD,
    FLAG_HOLDER_INFERRED,
    FLAG_HOLDER_UNKNOWN,
    FLAG_LOCATION_UNKNOWN,
    FLAG_REGISTERED_ABROAD,
)
from ipowner.providers.cloud import load_cloud_ranges
from ipowner.reference.cloud import cloud_table
from ipowner.reference.psl import registered_domain
from ipowner.reference.registries import mentioned, registries
from ipowner.reports.jurisdiction import ANYCAST, judge
from ipowner.reports.report import build_report

NOW = datetime(2026, 11, 29, tzinfo=UTC)
APNIC = registries()["apnic"].rdap[0]  # APNIC's RDAP service, from the registry table


def test_seed_case_aws_singapore_verdict_keeps_holder_and_location_apart():
    r = rec("52.74.1.10", country="SG", reg="US", asn=16509, as_name="AMAZON-02", holder="Amazon Technologies Inc.",
            holder_country="US", chain=[("rir", "ARIN")])
    j = judge(r)
    assert j.location_country == "SG" and j.location == "Singapore"
    assert j.holder == "Amazon Technologies Inc." and j.holder_country == "US"
    assert j.registry == "ARIN" and j.registry_country == "US"
    assert j.cloud is not None and j.cloud.key == "aws" and j.cloud.basis == "asn:16509"
    assert j.verdict.startswith("held by Amazon Technologies Inc. (US), located in Singapore; ARIN registered the space")
    # The holder's country differing is news; the registration country of a cloud node is not (issue 14).
    assert FLAG_HOLDER_ABROAD in j.flags and FLAG_REGISTERED_ABROAD not in j.flags
    assert "registration country US (not flagged: Amazon's cloud/CDN network" in j.verdict
    assert FLAG_HOLDER_UNKNOWN not in j.flags


def test_cnnic_is_the_registry_not_the_holder():
    r = rec("42.62.48.7", country="CN", reg="CN", holder="Beijing Kingsoft Cloud", holder_country="CN",
            chain=[("rir", "APNIC"), ("nir", "CNNIC")])
    j = judge(r)
    assert j.holder == "Beijing Kingsoft Cloud"
    assert (j.registry, j.registry_country, j.nir, j.nir_country) == ("APNIC", "AU", "CNNIC", "CN")
    assert "CNNIC (CN, a national registry under APNIC) registered the space" in j.verdict
    assert j.verdict.startswith("held by Beijing Kingsoft Cloud (CN), located in China;")
    assert j.flags == []


def test_anycast_has_no_single_location_and_unknowns_are_flagged():
    j = judge(rec("1.1.1.1", country="AU", anycast=True, asn=13335, as_name="CLOUDFLARENET"))
    assert j.anycast and j.location == ANYCAST and j.location_country is None
    assert ANYCAST in j.verdict and j.cloud.key == "cloudflare"
    assert FLAG_LOCATION_UNKNOWN not in j.flags and FLAG_HOLDER_UNKNOWN in j.flags
    j2 = judge(rec("203.0.113.9"), offline=True)
    assert j2.flags == [FLAG_HOLDER_UNKNOWN, FLAG_LOCATION_UNKNOWN]
    assert j2.verdict == (
        "location unknown; in APNIC's address space (IANA /8 table; no delegation file lists the block); holder "
        "unknown offline (no registry answer in the RDAP cache; `ipowner lookup 203.0.113.9` asks APNIC's RDAP service)")
    assert j2.registry == "APNIC" and j2.registry_basis == "IANA /8 table"
    failed = rec("203.0.113.9")
    failed.errors.append(f"RDAP {APNIC}ip/203.0.113.9: {urlsplit(APNIC).netloc} does not resolve")
    assert judge(failed).verdict.startswith("holder unknown (the registry could not be asked; see the errors)")
    assert judge(rec("2001:db8::1")).registry is None


def test_inferred_holder_and_reason_are_said():
    j = judge(rec("210.107.73.73", country="KR", holder="DACOM", inferred=True, chain=[("rir", "APNIC"), ("nir", "KRNIC")]))
    assert j.verdict.startswith("probably held by DACOM (country unknown), inferred")
    assert FLAG_HOLDER_INFERRED in j.flags
    j2 = judge(rec("2001:240::1", country="JP", reason="in JPNIC's database; netname suggests IIJ"))
    assert j2.holder is None and "holder unknown (in JPNIC's database; netname suggests IIJ)" in j2.verdict


def test_special_address_is_not_judged_as_internet():
    j = judge(rec("10.0.0.1", special="private"))
    assert "not on the public internet" in j.verdict and j.flags == []


def registry_of(text):
    reg = mentioned(text)
    return None if reg is None else (reg.name, reg.country, reg.is_nir)


def test_registry_names_recognised_from_handles():
    assert registry_of("IRT-CNNIC-CN") == ("CNNIC", "CN", True)
    assert registry_of("RIPE NCC") == ("RIPE NCC", "NL", False)
    assert registry_of(f"{APNIC}ip/1.1.1.0/24")[0] == "APNIC"
    assert registry_of("JNIC1-AP") == ("JPNIC", "JP", True)
    assert registry_of("Example Corp") is None


def test_cloud_table_matches_holder_names_not_lookalikes():
    t = cloud_table()
    assert t.by_holder("Google LLC").key == "google"
    assert t.by_holder("AMAZONAS TELECOM") is None  # a Brazilian state, not Amazon
    assert t.by_holder("Hangzhou Alibaba Advertising Co.,Ltd.").key == "alibaba"
    # Every provider cites where its ASNs are published, and no ASN belongs to two providers.
    seen = {}
    for p in t.operators:
        assert p.sources and p.asns
        for a in p.asns:
            assert seen.setdefault(a, p.key) == p.key


def test_cloud_range_files_give_the_region(tmp_path):
    ranges = load_cloud_ranges([
        "tests/data/cloud/aws-ip-ranges-synthetic.json",
        "tests/data/cloud/google-cloud-synthetic.json",
        "tests/data/cloud/azure-service-tags-synthetic.json",
    ])
    assert {s.id for s in ranges.sources()} == {"ranges:aws", "ranges:google", "ranges:azure"}
    aws = ranges.find("52.74.1.10")
    assert (aws.provider, aws.region, aws.service) == ("aws", "ap-southeast-1", "EC2")  # the /24 beats the /15
    assert ranges.find("2406:da18::5").region == "ap-southeast-1"
    assert ranges.find("34.87.0.9").region == "asia-southeast1"
    assert ranges.find("20.43.128.1").region == "eastasia"
    assert ranges.find("8.8.8.8") is None
    j = judge(rec("52.74.1.10", country="SG", asn=16509), ranges=ranges)
    assert j.cloud.region == "ap-southeast-1" and j.cloud.basis == "ranges:aws"
    assert "AWS region ap-southeast-1 (Singapore) per AWS's range file of 2014-05-01 (service EC2)" in j.verdict
    assert (j.cloud.region_country, j.cloud.region_place, j.cloud.publisher) == ("SG", "Singapore", "AWS")
    bad = tmp_path / "x.json"
    bad.write_text('{"hello": 1}')
    with pytest.raises(InputError, match="x.json"):
        load_cloud_ranges([bad])
    bad.write_text("not json")
    with pytest.raises(InputError, match="not a usable cloud range file"):
        load_cloud_ranges([bad])


def test_cloud_range_provider_answers_facts_and_closes():
    from ipowner.providers.cloud import CloudRangeProvider

    with CloudRangeProvider(["tests/data/cloud/aws-ip-ranges-synthetic.json"]) as ranges:
        assert [s.id for s in ranges.sources()] == ["ranges:aws"]
        (fact,) = ranges.facts("52.74.1.10").ranges
        assert (fact.provider, fact.region, fact.prefix) == ("aws", "ap-southeast-1", "52.74.1.0/24")
        assert ranges.facts("8.8.8.8").ranges == () and ranges.facts("not an address").ranges == ()
        assert ranges.recognise("52.74.1.10").name == "Amazon Web Services"
    assert len(ranges) == 0 and ranges.facts("52.74.1.10").ranges == ()  # closed: the index is gone
    # What was read is still said, and the region table once a fact placed a region from it.
    assert [s.id for s in ranges.sources()] == ["ranges:aws", "table:cloud-regions"]


def test_one_registry_table_for_rdap_and_the_judgement():
    from ipowner.providers.rdap import _registries
    from ipowner.reference import registries

    assert _registries.registries() is registries.registries()
    seats = {r.name: r.country for r in registries.rirs()}
    assert seats == {"ARIN": "US", "RIPE NCC": "NL", "APNIC": "AU", "LACNIC": "UY", "AFRINIC": "MU"}
    assert all(r.country and r.known_as and r.rir for r in registries.nirs())
    # The registry the IANA /8 table names is placed by the same table.
    j = judge(rec("193.0.6.139"))
    assert (j.registry, j.registry_country, j.registry_basis) == ("RIPE NCC", "NL", "IANA /8 table")


def test_registered_domains_from_the_bundled_list(no_sockets):  # the Public Suffix List is not downloaded
    assert registered_domain("api.account.xiaomi.com") == "xiaomi.com"
    assert registered_domain("a.b.example.co.uk") == "example.co.uk"
    # The ICANN section only (issue 14): a private-section suffix is not a registered domain of its own,
    # and certificate wildcards are stripped.
    assert registered_domain("foo.s3.amazonaws.com") == "amazonaws.com"
    assert registered_domain("*.blogspot.com") == registered_domain("x.blogspot.com") == "blogspot.com"
    assert registered_domain("select.googleapis.com") == "googleapis.com"
    assert registered_domain("*.*.example.co.uk") == "example.co.uk"
    assert registered_domain("1.2.3.4") is None
    assert registered_domain("localhost") is None
    assert registered_domain("x" * 1_000_000 + ".com") is None


def test_rollups_rank_by_bytes_sent_and_leave_lan_out(sample):
    tr, records = sample
    rep = build_report(tr, records, offline=True, now=NOW)
    assert [d.address for d in rep.destinations] == ["42.62.48.7", "52.74.1.10", "1.1.1.1", "203.0.113.9", "10.0.0.1"]
    loc = rep.rollups["location"]
    assert [(r.key, r.bytes_sent, r.destinations) for r in loc] == [
        ("CN", 12000, 1), ("SG", 5000, 1), ("anycast", 200, 1), ("", 50, 1)]
    assert [r.key for r in rep.rollups["holder_country"]] == ["CN", "US", "AU", ""]
    assert [r.key for r in rep.rollups["asn"]] == ["AS4808", "AS16509", "AS13335", ""]
    assert [(r.key, r.destinations) for r in rep.rollups["registry"]] == [("APNIC > CNNIC", 1), ("ARIN", 1), ("APNIC", 2)]
    assert rep.rollups["registry"][2].label == "APNIC"  # 1.1.1.1 from RDAP; 203.0.113.9 from the /8 table
    dom = {r.key: r.bytes_sent for r in rep.rollups["domain"]}
    assert dom == {"xiaomi.com": 12000, "example-phone.com": 5000, "one.one": 200, "": 50}
    assert rep.rollups["device"][0].key == "10.0.0.2" and rep.rollups["device"][0].bytes_sent == 17250
    assert [r.key for r in rep.rollups["app"]] == ["com.example.phone"]
    assert rep.totals() == {"destinations": 4, "bytes_sent": 17250, "bytes_received": 1420, "flows": 6}
    assert rep.timeline == [(1_400_000_000.0, 7000, 1000), (1_400_000_060.0, 10000, 200)]
    assert set(rep.timeline_by_location) == {"CN", "SG"}


def test_provenance_warns_on_data_far_from_the_capture(sample):
    tr, records = sample
    rep = build_report(tr, records, offline=True, now=NOW, command_line=["ipowner", "report", "phone.pcap"])
    p = rep.provenance
    assert p.inputs[0].sha256 == "ab" * 32 and p.capture_start == 1_400_000_000.0
    notes = {n.source.id: n for n in p.data_sources}
    assert notes["embedded"].warning is None  # 2014-06-01 is near the capture
    # Ages in human units (issue 14): 4554 days are 12.5 years.
    assert "12.5 years after the capture" in notes["rdap:apnic"].warning
    assert any("rdap:apnic (12.5 years after)" in w for w in rep.warnings)
    assert "psl" in notes and "table:cloud-providers" in notes
    doc = rep.to_dict()
    assert doc["schema"] == "ipowner.report/3"
    assert doc["provenance"]["command_line"] == ["ipowner", "report", "phone.pcap"]
    assert doc["provenance"]["capture_start"] == "2014-05-13T16:53:20Z"
    json.dumps(doc)


def test_same_input_gives_the_same_document(sample):
    tr, records = sample
    a = build_report(tr, records, now=NOW).to_dict()
    tr.destinations.reverse()
    b = build_report(tr, records, now=NOW).to_dict()
    assert a == b


def test_policy_rules(sample):
    from ipowner.errors import UsageError
    from ipowner.reports.policy import parse_rule

    tr, records = sample
    rep = build_report(tr, records, now=NOW, fail_on=["location:CN,RU", "holder:amazon", "unknown:holder"])
    off = {(o["address"], o["rule"]) for o in rep.policy.offending}
    assert off == {("42.62.48.7", "location:CN,RU"), ("52.74.1.10", "holder:amazon"),
                   ("203.0.113.9", "unknown:holder")}
    rep2 = build_report(tr, records, now=NOW, fail_on=["holder-country:CN", "holder:AT-88-Z", "unknown:location"])
    off2 = {(o["address"], o["rule"]) for o in rep2.policy.offending}
    assert off2 == {("42.62.48.7", "holder-country:CN"), ("52.74.1.10", "holder:AT-88-Z"),
                    ("203.0.113.9", "unknown:location")}
    assert not build_report(tr, records, now=NOW, fail_on=["location:RU", "holder:ama"]).policy.fired
    for bad in ("location", "location:CHN", "unknown:asn", "planet:earth", "holder:"):
        with pytest.raises(UsageError):
            parse_rule(bad)


def test_terminal_shows_the_top_rows_and_says_how_many_more():
    import io

    from report_support import dest

    from ipowner.model import TrafficResult
    from ipowner.render.terminal.report import ROWS, write_terminal_report

    dests = [dest(f"198.51.100.{i}", 1000 - i, 1) for i in range(ROWS + 50)]
    rep = build_report(TrafficResult(destinations=dests), {}, now=NOW)
    buf = io.StringIO()
    write_terminal_report(rep, buf)
    out = buf.getvalue()
    assert "198.51.100.0 " in out and f"198.51.100.{ROWS - 1} " in out and f"198.51.100.{ROWS} " not in out
    assert "... and 50 more destinations" in out


def test_empty_report_renders_in_every_format():
    import io

    from ipowner.model import TrafficResult
    from ipowner.render import render

    rep = build_report(TrafficResult(), {}, now=NOW)
    for fmt in ("table", "json", "jsonl", "csv", "markdown", "html"):
        buf = io.StringIO()
        render(rep, fmt, buf)
        assert buf.getvalue()
    assert rep.totals() == {"destinations": 0, "bytes_sent": 0, "bytes_received": 0, "flows": 0}


def test_provider_known_only_by_its_as_is_named_as_the_company_not_its_cloud():
    # AS15169 carries Google's own services as well as Google Cloud: without a range file saying the
    # address is in Google Cloud, the verdict names the company.
    j = judge(rec("172.217.23.67", country="US", asn=15169))
    assert j.cloud.name == "Google" and j.cloud.basis == "asn:15169"
    assert "Google network" in j.verdict and "Google Cloud" not in j.verdict
