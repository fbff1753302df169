"""MmdbProvider against MaxMind's test databases (expected values from their source JSON) and small
synthetic databases for the vendors and precedence rules MaxMind's files do not cover."""

from __future__ import annotations

import ipaddress
import os
import shutil
from pathlib import Path

import pytest

from ipowner.model import AddressRecord, LookedThrough, Special
from ipowner.providers.base import Provider
from ipowner.providers.mmdb.reader import MmdbProvider, classify
from mmdb_support import DATA, expected_for, isolate, source_entries, write_mmdb


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate(monkeypatch, tmp_path / "data")


def lookup(paths: list[Path | str], *addresses: str, **kw: bool) -> list[AddressRecord]:
    kw.setdefault("use_embedded", False)
    kw.setdefault("discover", False)
    p = MmdbProvider(paths, **kw)
    try:
        recs = [AddressRecord(query=a, address=a) for a in addresses]
        p.enrich(recs)
        return recs
    finally:
        p.close()


CITY = DATA / "GeoIP2-City-Test.mmdb"
COUNTRY = DATA / "GeoIP2-Country-Test.mmdb"
ASN = DATA / "GeoLite2-ASN-Test.mmdb"


def test_is_a_provider() -> None:
    p = MmdbProvider([], use_embedded=False, discover=False)
    assert isinstance(p, Provider)
    assert p.databases() == [] and p.sources() == [] and p.problems == []


def test_city_london_registered_us() -> None:
    (r,) = lookup([CITY], "81.2.69.160")
    assert r.location.country == "GB"
    assert r.registered_country == "US"
    assert r.location.city == "London"
    assert r.location.subdivision == "England"
    assert r.location.continent == "EU"
    assert r.location.time_zone == "Europe/London"
    assert (r.location.latitude, r.location.longitude, r.location.accuracy_km) == (51.5142, -0.0931, 100)
    assert r.provenance["location.country"] == "mmdb:GeoIP2-City"
    assert r.provenance["registered_country"] == "mmdb:GeoIP2-City"
    src = r.sources["mmdb:GeoIP2-City"]
    assert src.kind == "mmdb" and src.date is not None and src.date.year == 2026
    assert r.asn is None and r.errors == []


def test_city_other_expected_values() -> None:
    recs = lookup([CITY], "2.125.160.216", "89.160.20.112", "216.160.83.56", "175.16.199.1", "67.43.156.1")
    got = [(r.location.country, r.registered_country, r.location.city) for r in recs]
    assert got == [
        ("GB", "FR", "Boxford"),
        ("SE", "DE", "Linköping"),
        ("US", "GB", "Milton"),
        ("CN", "CN", "Changchun"),
        ("BT", "RO", None),
    ]
    assert recs[3].location.time_zone == "Asia/Harbin"


def test_city_represented_country_and_anycast() -> None:
    ph, anycast = lookup([CITY], "202.196.224.1", "214.1.1.1")
    assert (ph.location.country, ph.registered_country, ph.location.represented_country) == ("PH", "PH", "US")
    assert anycast.location.is_anycast is True
    assert anycast.location.country is None
    assert anycast.provenance["location.is_anycast"] == "mmdb:GeoIP2-City"


def test_city_ipv6() -> None:
    recs = lookup([CITY], "2001:218::1", "2001:220::1", "2001:250::1", "2001:238::1", "2001:2e0::1")
    assert [r.location.country for r in recs] == ["JP", "KR", "CN", "TW", "HK"]


def test_not_found_leaves_record_empty() -> None:
    (r,) = lookup([CITY, COUNTRY, ASN], "1.2.3.4")
    assert r.location.country is None and r.asn is None and r.provenance == {} and r.errors == []


def test_city_matches_source_json() -> None:
    """Every network's first address answers what MaxMind's source JSON says."""
    entries = source_entries("GeoIP2-City-Test.json")
    addresses = [str(net.network_address) for net, _ in entries]
    recs = lookup([CITY], *addresses)
    checked = 0
    for addr, rec in zip(addresses, recs, strict=True):
        _, want = expected_for(entries, addr)  # type: ignore[misc]
        assert rec.location.country == want.get("country", {}).get("iso_code"), addr
        assert rec.registered_country == want.get("registered_country", {}).get("iso_code"), addr
        assert rec.location.city == want.get("city", {}).get("names", {}).get("en"), addr
        assert rec.location.is_anycast == want.get("traits", {}).get("is_anycast"), addr
        checked += 1
    assert checked == len(entries) > 200


def test_country_db() -> None:
    recs = lookup([COUNTRY], "81.2.69.160", "74.209.24.1", "202.196.224.1")
    assert [(r.location.country, r.registered_country) for r in recs] == [("GB", "US"), ("US", "US"), ("PH", "PH")]
    assert recs[0].location.city is None


def test_asn_db() -> None:
    telstra, att, merit, cn1, cn2, cn3, kt, absent = lookup(
        [ASN], "1.128.0.1", "12.81.92.1", "2600:6000::1", "27.192.0.1", "49.64.0.1", "36.192.0.1", "59.0.0.1",
        "2a02:d9c0::1",
    )
    assert (telstra.asn.number, telstra.asn.name, telstra.asn.network) == (1221, "Telstra Pty Ltd", "1.128.0.0/11")
    assert (att.asn.number, att.asn.name) == (7018, "AT&T Services")
    assert (merit.asn.number, merit.asn.name) == (237, "Merit Network Inc.")
    assert merit.asn.network is not None and merit.asn.network.startswith("2600:6000::/")
    assert [r.asn.number for r in (cn1, cn2, cn3, kt)] == [4837, 4134, 9394, 4766]
    assert cn1.asn.name == "CNCGROUP China169 Backbone" and cn2.asn.name == "Chinanet"
    assert absent.asn is None
    assert telstra.provenance["asn.number"] == telstra.provenance["asn.network"] == "mmdb:GeoLite2-ASN"


def test_asn_matches_source_json() -> None:
    entries = source_entries("GeoLite2-ASN-Test.json")
    addresses = [str(net.network_address) for net, _ in entries]
    recs = lookup([ASN], *addresses)
    for addr, rec in zip(addresses, recs, strict=True):
        net, want = expected_for(entries, addr)  # type: ignore[misc]
        assert rec.asn is not None, addr
        assert rec.asn.number == want["autonomous_system_number"], addr
        assert rec.asn.name == want.get("autonomous_system_organization"), addr
        # The writer joins neighbours with equal data, so the matched prefix may be a supernet of the entry.
        got = ipaddress.ip_network(rec.asn.network)
        assert net.subnet_of(got), addr  # type: ignore[arg-type]
        inside = [w for n, w in entries if n.version == got.version and n.subnet_of(got)]  # type: ignore[arg-type]
        assert all(w == want for w in inside), addr


def test_isp_db() -> None:
    verizon, dtag = lookup([DATA / "GeoIP2-ISP-Test.mmdb"], "149.101.100.1", "84.128.23.4")
    assert (verizon.asn.number, verizon.asn.name) == (6167, "CELLCO-PART")
    assert verizon.traits["isp"] == verizon.traits["organization"] == "Verizon Wireless"
    assert verizon.provenance["traits.isp"] == "mmdb:GeoIP2-ISP"
    assert dtag.asn.number == 3320 and dtag.traits["isp"] == "Deutsche Telekom AG"


def test_anonymous_ip_db() -> None:
    everything, vpn = lookup([DATA / "GeoIP2-Anonymous-IP-Test.mmdb"], "81.2.69.0", "1.2.0.1")
    for flag in ("is_anonymous", "is_anonymous_vpn", "is_hosting_provider", "is_public_proxy",
                 "is_residential_proxy", "is_tor_exit_node"):
        assert everything.traits[flag] is True, flag
    assert vpn.traits == {"is_anonymous": True, "is_anonymous_vpn": True}
    assert vpn.provenance["traits.is_anonymous_vpn"] == "mmdb:GeoIP2-Anonymous-IP"


def test_connection_type_and_domain_dbs() -> None:
    cell, cable = lookup([DATA / "GeoIP2-Connection-Type-Test.mmdb"], "1.0.1.1", "1.0.0.1")
    assert (cell.traits["connection_type"], cable.traits["connection_type"]) == ("Cellular", "Cable/DSL")
    (dom,) = lookup([DATA / "GeoIP2-Domain-Test.mmdb"], "1.2.0.1")
    assert dom.traits["domain"] == "maxmind.com"


def test_enterprise_db() -> None:
    (r,) = lookup([DATA / "GeoIP2-Enterprise-Test.mmdb"], "74.209.24.0")
    assert (r.location.country, r.registered_country, r.location.city) == ("US", "US", "Chatham")
    assert (r.asn.number, r.asn.name) == (14671, "FairPoint Communications")
    assert r.traits["connection_type"] == "Cable/DSL"
    assert r.traits["isp"] == "Fairpoint Communications"
    assert r.traits["user_type"] == "residential"
    assert r.traits["is_legitimate_proxy"] is True


def test_databases_describe_each_db() -> None:
    p = MmdbProvider([CITY, ASN, DATA / "GeoIP2-Anonymous-IP-Test.mmdb", DATA / "MaxMind-DB-test-ipv4-24.mmdb"],
                     use_embedded=False, discover=False)
    infos = p.databases()
    p.close()
    assert [(d.database_type, d.kind, d.vendor, d.origin) for d in infos] == [
        ("GeoIP2-City", "city", "MaxMind", "given"),
        ("GeoLite2-ASN", "asn", "MaxMind", "given"),
        ("GeoIP2-Anonymous-IP", "anonymous-ip", "MaxMind", "given"),
        ("Test", "other", "unknown", "given"),
    ]
    city = infos[0]
    assert city.path == str(CITY) and city.ip_version == 6 and city.node_count > 0
    assert city.build_date is not None and city.age_days is not None and city.age_days >= 0
    assert infos[1].licence == "GeoLite2 End User License Agreement"
    assert infos[3].ip_version == 4


@pytest.mark.parametrize(
    ("database_type", "kind", "vendor", "licence"),
    [
        ("GeoIP2-City", "city", "MaxMind", "MaxMind commercial licence"),
        ("GeoLite2-Country", "country", "MaxMind", "GeoLite2 End User License Agreement"),
        ("GeoIP2-Precision-Enterprise", "enterprise", "MaxMind", "MaxMind commercial licence"),
        ("GeoIP2-Connection-Type", "connection-type", "MaxMind", "MaxMind commercial licence"),
        ("GeoIP2-Domain", "domain", "MaxMind", "MaxMind commercial licence"),
        ("GeoIP2-ISP", "isp", "MaxMind", "MaxMind commercial licence"),
        ("DBIP-Country-Lite", "country", "DB-IP", "CC BY 4.0"),
        ("DBIP-ASN-Lite (compat=GeoLite2-ASN)", "asn", "DB-IP", "CC BY 4.0"),
        ("DBIP-Location-ISP (compat=Enterprise)", "isp", "DB-IP", "DB-IP commercial licence"),
        ("ipinfo lite.mmdb", "lite", "IPinfo", "CC BY-SA 4.0"),
        ("ipinfo country_asn.mmdb", "country_asn", "IPinfo", "CC BY-SA 4.0"),
        ("ipowner-embedded", "embedded", "ipowner", "CC BY 4.0"),
        ("Something Else", "other", "unknown", None),
    ],
)
def test_classify(database_type: str, kind: str, vendor: str, licence: str | None) -> None:
    assert classify(database_type)[:3] == (kind, vendor, licence)


def test_ipinfo_flat_fields(tmp_path: Path) -> None:
    lite = write_mmdb(
        tmp_path / "ipinfo_lite.mmdb",
        {"8.8.8.0/24": {"country": "United States", "country_code": "US", "continent": "North America",
                        "continent_code": "NA", "asn": "AS15169", "as_name": "Google LLC", "as_domain": "google.com"}},
        "ipinfo lite.mmdb",
    )
    legacy = write_mmdb(
        tmp_path / "country_asn.mmdb",
        {"84.128.0.0/10": {"country": "DE", "country_name": "Germany", "asn": "AS3320",
                           "as_name": "Deutsche Telekom AG"}},
        "ipinfo country_asn.mmdb",
    )
    g, d = lookup([lite, legacy], "8.8.8.8", "84.128.23.4")
    assert (g.location.country, g.location.continent, g.asn.number, g.asn.name) == ("US", "NA", 15169, "Google LLC")
    assert g.asn.network == "8.8.8.0/24" and g.traits["as_domain"] == "google.com"
    assert g.provenance["location.country"] == "mmdb:ipinfo lite.mmdb"
    assert (d.location.country, d.asn.number, d.asn.name) == ("DE", 3320, "Deutsche Telekom AG")
    infos = MmdbProvider([lite], use_embedded=False, discover=False).databases()
    assert infos[0].vendor == "IPinfo"


def test_dbip_geoip2_shape(tmp_path: Path) -> None:
    db = write_mmdb(
        tmp_path / "dbip-country-lite.mmdb",
        {"1.0.0.0/24": {"country": {"iso_code": "AU", "names": {"en": "Australia"}},
                        "continent": {"code": "OC"}}},
        "DBIP-Country-Lite",
    )
    (r,) = lookup([db], "1.0.0.1")
    assert (r.location.country, r.location.continent) == ("AU", "OC")
    src = r.sources["mmdb:DBIP-Country-Lite"]
    assert src.licence == "CC BY 4.0" and "db-ip.com" in (src.credit or "")


def test_longest_prefix_wins_then_order(tmp_path: Path) -> None:
    wide = write_mmdb(tmp_path / "wide.mmdb",
                      {"1.0.0.0/8": {"country": {"iso_code": "FR"}, "autonomous_system_number": 100,
                                     "autonomous_system_organization": "Wide Org"}}, "Wide")
    narrow = write_mmdb(tmp_path / "narrow.mmdb",
                        {"1.2.3.0/24": {"country": {"iso_code": "DE"}, "autonomous_system_number": 200}}, "Narrow")
    (r,) = lookup([wide, narrow], "1.2.3.4")
    assert r.location.country == "DE" and r.provenance["location.country"] == "mmdb:Narrow"
    # Number, name and network come from one source: the narrow one has no name, so none is borrowed.
    assert (r.asn.number, r.asn.name, r.asn.network) == (200, None, "1.2.3.0/24")
    (outside,) = lookup([wide, narrow], "1.9.9.9")
    assert outside.location.country == "FR" and outside.asn.name == "Wide Org"

    twin = tmp_path / "twin.mmdb"
    shutil.copy(narrow, twin)
    (first,) = lookup([twin, narrow], "1.2.3.4")
    assert first.provenance["location.country"] == "mmdb:Narrow"  # the first given
    assert first.sources["mmdb:Narrow"].path == str(twin)
    assert "mmdb:Narrow#2" not in first.sources


def test_user_db_beats_embedded_even_with_shorter_prefix(tmp_path: Path) -> None:
    wide = write_mmdb(tmp_path / "wide.mmdb", {"8.0.0.0/7": {"country": {"iso_code": "FR"}}}, "Wide")
    (r,) = lookup([wide], "8.8.8.8", use_embedded=True)
    assert r.location.country == "FR" and r.provenance["location.country"] == "mmdb:Wide"
    # Fields the user's database lacks still come from the embedded one.
    assert r.asn is not None and r.asn.number == 15169
    assert r.provenance["asn.number"] == "embedded:asn"
    assert r.provenance["registered_country"] == "embedded:asn-country"


def test_same_file_given_twice_is_opened_once() -> None:
    p = MmdbProvider([CITY, str(CITY)], use_embedded=False, discover=False)
    assert len(p.databases()) == 1
    p.close()


def test_skips_special_and_attributes_looked_through() -> None:
    special = AddressRecord(query="10.0.0.1", address="10.0.0.1",
                            special=Special(label="private", name="Private-Use", prefix="10.0.0.0/8"))
    nat64 = AddressRecord(query="64:ff9b::5102:45a0", address="64:ff9b::5102:45a0",
                          special=Special(label="translation", name="IPv4-IPv6 Translat.", prefix="64:ff9b::/96"),
                          looked_through=LookedThrough(mechanism="nat64", prefix="64:ff9b::/96", ipv4="81.2.69.160"))
    p = MmdbProvider([CITY], use_embedded=False, discover=False)
    p.enrich([special, nat64])
    p.close()
    assert special.provenance == {} and special.location.country is None
    assert nat64.location.country == "GB" and nat64.registered_country == "US"


def test_ipv6_address_in_ipv4_only_db_is_no_error() -> None:
    ipv4_only = DATA / "MaxMind-DB-test-ipv4-24.mmdb"
    recs = lookup([ipv4_only, CITY], "2001:218::1")
    assert recs[0].errors == [] and recs[0].location.country == "JP"


def test_missing_and_unreadable_paths_are_one_line_problems(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.mmdb"
    garbage.write_bytes(b"this is not a database\n" * 10)
    folder = tmp_path / "a-folder.mmdb"
    folder.mkdir()
    missing = tmp_path / "missing.mmdb"
    fifo = tmp_path / "fifo.mmdb"
    os.mkfifo(fifo)
    p = MmdbProvider([missing, garbage, folder, fifo, CITY], use_embedded=False, discover=False)
    assert p.problems == [
        f"{missing}: no such file",
        f"{garbage}: not a valid MaxMind DB file",
        f"{folder}: is a folder, not a database file",
        f"{fifo}: not a regular file",
    ]
    assert all("\n" not in line for line in p.problems)
    assert [e.path for e in p.errors] == [str(missing), str(garbage), str(folder), str(fifo)]
    recs = [AddressRecord(query="81.2.69.160", address="81.2.69.160")]
    p.enrich(recs)
    assert recs[0].location.country == "GB"  # the good database still answers
    p.close()


def test_hostile_values_are_kept_as_data_not_types(tmp_path: Path) -> None:
    db = write_mmdb(
        tmp_path / "odd.mmdb",
        {"1.0.0.0/8": {"country": {"iso_code": 12}, "registered_country": "not-a-map",
                       "autonomous_system_number": "AS-bogus", "location": {"latitude": "x", "longitude": 3},
                       "city": {"names": {"en": "Evil\x1b[2J"}}}},
        "Odd",
    )
    (r,) = lookup([db], "1.1.1.1")
    assert r.location.country is None and r.registered_country is None and r.asn is None
    assert r.location.latitude is None and r.location.longitude is None
    assert r.location.city == "Evil\x1b[2J"  # raw in the model; renderers escape it
    assert r.errors == []


def test_network_formatting_matches_ipaddress() -> None:
    import random

    from ipowner._addr import network_text
    from ipowner.model import RangeFact

    rng = random.Random(5)
    for _ in range(3000):
        v6 = rng.random() < 0.5
        a = ipaddress.IPv6Address(rng.getrandbits(128)) if v6 else ipaddress.IPv4Address(rng.getrandbits(32))
        plen = rng.randrange(129 if v6 else 33)
        want = str(ipaddress.ip_network(f"{a}/{plen}", strict=False))
        assert network_text(a.version, int(a), plen) == want
        # the announced prefix a database range gives (asn.network) is its RangeFact's prefix
        bits = 128 if v6 else 32
        start = int(a) >> (bits - plen) << (bits - plen)
        fact = RangeFact(start=start, end=start + (1 << (bits - plen)) - 1, version=a.version, source="x")
        assert fact.prefix == want
