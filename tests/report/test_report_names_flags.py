"""Names and flags that mean something (issue 14, item 5): hostnames by evidence, registered domains from
the ICANN section, the registered-country flag kept for what is not a cloud/CDN node or anycast space,
and every ISO 3166 country named."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from report_support import dest, rec

import ipowner
from ipowner.model import Hostname, TrafficResult
from ipowner.reference.anycast import anycast_service
from ipowner.reference.countries import (
    country_code,
    country_from_label,
    country_name,
    country_names,
    is_country,
)
from ipowner.reports.jurisdiction import judge
from ipowner.reports.names import by_evidence, names_by_evidence
from ipowner.reports.report import build_report

NOW = datetime(2026, 11, 29, tzinfo=UTC)
WECHAT = Path(__file__).resolve().parents[1] / "data" / "traffic" / "ndpi--wechat.pcap"
FLAG = "registered-country-differs-from-location"


def test_hostnames_are_ordered_by_evidence_with_their_sources():
    names = [Hostname("a-cert.example.com", "cert"), Hostname("z-sni.example.com", "sni"),
             Hostname("dns.example.com", "dns"), Hostname("z-sni.example.com", "dns"),
             Hostname("quic.example.com", "quic"), Hostname("host.example.com", "http"),
             Hostname("b.example.com", "zeek-ssl")]
    assert [h.name for h in by_evidence(names)][:3] == ["b.example.com", "z-sni.example.com", "host.example.com"]
    assert names_by_evidence(names) == [
        ("b.example.com", ["zeek-ssl"]), ("z-sni.example.com", ["sni", "dns"]), ("host.example.com", ["http"]),
        ("quic.example.com", ["quic"]), ("dns.example.com", ["dns"]), ("a-cert.example.com", ["cert"])]


def test_report_keeps_the_order_and_takes_domains_from_the_names_the_device_used():
    d = dest("172.217.22.14", 100, 100)
    d.hostnames = [Hostname(n, "cert") for n in ("*.blogspot.com", "select.googleapis.com", "*.ggpht.com")] + [
        Hostname("safebrowsing.googleusercontent.com", "sni")]
    only_cert = dest("203.0.113.7", 10, 10)
    only_cert.hostnames = [Hostname("*.cdn.example.co.uk", "cert"), Hostname("www.example.org", "cert")]
    rep = build_report(TrafficResult(destinations=[d, only_cert]), {}, now=NOW)
    top = rep.destinations[0]
    assert top.destination.hostnames[0].name == "safebrowsing.googleusercontent.com"
    assert top.domains == ["googleusercontent.com"]  # not one domain per certificate name
    assert rep.destinations[1].domains == ["example.co.uk", "example.org"]  # certificate names when all there is
    from ipowner.render.report_rows import destination_rows

    row = destination_rows(rep)[0]
    assert row["hostname_sources"][0] == "safebrowsing.googleusercontent.com (sni)" and row["certificate_only"] == 3


def test_registered_country_flag_is_for_what_is_not_a_cloud_node_or_anycast():
    plain = judge(rec("198.51.100.7", country="DE", reg="US", asn=64500, as_name="EXAMPLE-NET"))
    assert FLAG in plain.flags and "registration country US;" in plain.verdict + ";"
    cloud = judge(rec("52.74.1.10", country="SG", reg="US", asn=16509, as_name="AMAZON-02"))
    assert FLAG not in cloud.flags
    assert "registration country US (not flagged: Amazon's cloud/CDN network serves many countries)" in cloud.verdict
    dns = judge(rec("9.9.9.9", country="CH", reg="US", asn=19281, as_name="QUAD9-AS-1"))
    assert anycast_service("9.9.9.9") == "Quad9" and FLAG not in dns.flags
    assert "(not flagged: Quad9 is anycast, served from many places)" in dns.verdict
    assert anycast_service("2001:4860:4860::8844") == "Google Public DNS" and anycast_service("192.0.2.1") is None
    same = judge(rec("198.51.100.8", country="US", reg="US"))
    assert FLAG not in same.flags and "not flagged" not in same.verdict


def test_anycast_table_is_a_source_of_the_report():
    rep = build_report(TrafficResult(destinations=[dest("9.9.9.9", 10, 10)]),
                       {"9.9.9.9": rec("9.9.9.9", country="CH", reg="US")}, now=NOW)
    assert "table:anycast" in {n.source.id for n in rep.provenance.data_sources}


def test_on_the_wechat_capture_the_flag_fires_only_off_cloud(tmp_path, monkeypatch):
    monkeypatch.setenv("IPOWNER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("IPOWNER_CACHE_DIR", str(tmp_path / "cache"))
    rep = ipowner.report([WECHAT], offline=True, discover=False, now=NOW)
    flagged = [d for d in rep.internet if FLAG in d.jurisdiction.flags]
    assert all(d.jurisdiction.cloud is None for d in flagged)
    differs = [d for d in rep.internet if d.jurisdiction.registered_country and d.jurisdiction.location_country
               and d.jurisdiction.registered_country != d.jurisdiction.location_country]
    assert len(differs) >= 9  # the rows the flag used to fire on: all cloud/CDN nodes, and each verdict says so
    assert all("not flagged" in d.jurisdiction.verdict for d in differs if d.jurisdiction.cloud is not None)
    # registered domains: no certificate-only platform suffixes for the Google node the app asked by SNI
    google = next(d for d in rep.internet if d.address == "172.217.22.14")
    assert "blogspot.com" not in google.domains and "googleusercontent.com" in google.domains
    assert not any(dom.startswith("*") for d in rep.internet for dom in d.domains)


@pytest.mark.parametrize(("code", "name", "label"), [
    ("SC", "Seychelles", "Suite 1, Global Gateway 8|Victoria, Mahe|SEYCHELLES"),
    ("VG", "British Virgin Islands", "Craigmuir Chambers|Road Town, Tortola|VIRGIN ISLANDS, BRITISH"),
    ("KY", "Cayman Islands", "PO Box 309|Ugland House|George Town, Cayman Islands"),
    ("BS", "Bahamas", "East Bay Street|Nassau|BAHAMAS"),
    ("BM", "Bermuda", "Clarendon House|Hamilton|Bermuda"),
    ("MU", "Mauritius", "Ebene CyberCity|Port Louis, Mauritius"),
])
def test_every_country_has_its_name(code, name, label):
    assert country_name(code) == name and is_country(code)
    assert country_from_label(label) == code and country_code(name) == code
    holder = rec("198.51.100.9", country="US", holder="Offshore Holdings Ltd", holder_country=code)
    assert f"held by Offshore Holdings Ltd ({code})" in judge(holder).verdict


def test_the_country_table_is_iso_3166_whole():
    names = country_names()
    assert len(names) >= 249 and names["TW"] == "Taiwan" and names["KR"] == "South Korea" and names["XK"] == "Kosovo"
    # Names that end addresses without naming that country stay unknown.
    for label in ("1 Main St|Atlanta|GEORGIA", "Newark, New Jersey", "Port Moresby Papua New Guinea"):
        assert country_from_label(label) is None, label
    assert country_from_label("Tokyo 101-0047,Japan") == "JP" and country_from_label("London GB") == "GB"
