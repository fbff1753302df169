"""Records and traffic built by hand for the report tests (no lookups, no network).

A plain module (``from report_support import ...``); the fixtures are in this folder's ``conftest.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ipowner.model import (
    AddressRecord,
    AsnInfo,
    ChainLink,
    Destination,
    Holder,
    Hostname,
    InputInfo,
    Location,
    Network,
    SourceInfo,
    Special,
    TrafficResult,
)

T0 = 1_400_000_000.0  # 2014-05-13, the era of the seed case

EMBEDDED = SourceInfo(id="embedded", kind="mmdb", name="embedded test data", date=datetime(2014, 6, 1, tzinfo=UTC),
                      credit="test credit line")
RDAP = SourceInfo(id="rdap:apnic", kind="rdap", name="APNIC RDAP", date=datetime(2026, 11, 1, tzinfo=UTC))


def rec(address: str, *, country=None, reg=None, asn=None, as_name=None, holder=None, holder_country=None,
        handle=None, chain=(), anycast=None, inferred=False, special=None, reason=None) -> AddressRecord:
    r = AddressRecord(query=address, address=address)
    r.location = Location(country=country, is_anycast=anycast)
    r.registered_country = reg
    if asn is not None:
        r.asn = AsnInfo(number=asn, name=as_name)
    if holder or reason:
        r.holder = Holder(name=holder, handle=handle, country=holder_country, inferred=inferred, reason=reason,
                          rule="registrant" if holder and not inferred else "description")
    r.registry_chain = [ChainLink(role=role, name=name) for role, name in chain]
    if chain:
        r.network = Network(start=address, end=address, registry=chain[0][1])
    if special:
        r.special = Special(label=special, name="Private-Use", prefix="10.0.0.0/8")
    r.note("location.country", EMBEDDED)
    if holder:
        r.note("holder", RDAP)
    return r


def dest(address: str, sent: int, recv: int, names=(), scope="internet", flows=1, devices=(), apps=()) -> Destination:
    return Destination(address=address, scope=scope, flows=flows, packets_sent=sent // 100 + 1,
                       packets_received=recv // 100 + 1, bytes_sent=sent, bytes_received=recv, first_seen=T0,
                       last_seen=T0 + 50, hostnames=[Hostname(n, "sni") for n in names], ports=["tcp/443"],
                       devices=list(devices), apps=list(apps))


def make_sample():
    """Five destinations covering the seed cases: AWS in Singapore, CNNIC space, anycast, unknown, LAN."""
    dests = [
        dest("52.74.1.10", 5000, 900, ["api.example-phone.com", "img.example-phone.com"], devices=["10.0.0.2"],
             apps=["com.example.phone"]),
        dest("42.62.48.7", 12000, 300, ["api.account.xiaomi.com"], flows=3, devices=["10.0.0.2"]),
        dest("1.1.1.1", 200, 200, ["one.one.one.one"], devices=["10.0.0.2"]),
        dest("203.0.113.9", 50, 20, devices=["10.0.0.2"]),
        dest("10.0.0.1", 999999, 999999, scope="lan"),
    ]
    tr = TrafficResult(
        inputs=[InputInfo(name="phone.pcap", sha256="ab" * 32, format="pcap", records=42, first_seen=T0,
                          last_seen=T0 + 120)],
        destinations=dests,
        devices=["10.0.0.2"],
        timeline={"52.74.1.10": [(T0, 5000, 900)], "42.62.48.7": [(T0, 2000, 100), (T0 + 60, 10000, 200)]},
    )
    records = {
        "52.74.1.10": rec("52.74.1.10", country="SG", reg="US", asn=16509, as_name="AMAZON-02",
                          holder="Amazon Technologies Inc.", holder_country="US", handle="AT-88-Z",
                          chain=[("rir", "ARIN")]),
        "42.62.48.7": rec("42.62.48.7", country="CN", reg="CN", asn=4808, as_name="CHINA169-BJ",
                          holder="Beijing Kingsoft Cloud", holder_country="CN", handle="KINGSOFT-CN",
                          chain=[("rir", "APNIC"), ("nir", "CNNIC")]),
        "1.1.1.1": rec("1.1.1.1", country="AU", reg="AU", asn=13335, as_name="CLOUDFLARENET", anycast=True,
                       holder="APNIC Research and Development", holder_country="AU", chain=[("rir", "APNIC")]),
        "203.0.113.9": rec("203.0.113.9", country=None),
        "10.0.0.1": rec("10.0.0.1", special="private"),
    }
    return tr, records
