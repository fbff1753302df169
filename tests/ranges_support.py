"""Shared helpers for the range-table and engine tests (not a test module).

``synthetic_dbs`` writes two small overlapping user databases (synthetic: made here with mmdb-writer, the
header of each says so); ``fill_rdap_cache`` fills an RDAP cache from the loopback test server; ``asof``
is the ASOF join written out in Python (the greatest start at or below an address, same family), the
reference the engines' joins are compared with.
"""

from __future__ import annotations

import ipaddress
from bisect import bisect_right
from pathlib import Path
from typing import Any

import pytest

from ipowner.providers.rdap import RdapClient, RdapConfig
from mmdb_support import write_mmdb
from rdap_support import RecordedRdap

# Addresses the recorded RDAP answers cover (tests/data/rdap): the cache is filled from these.
RDAP_SEEDS = ["74.125.225.229", "2001:4860:4860::8888", "62.239.237.1", "210.107.73.73", "200.57.141.161",
              "196.11.240.215", "3.3.3.3", "13.107.1.1", "193.0.6.139", "1.1.1.1"]


def synthetic_dbs(folder: Path) -> list[Path]:
    """Two user databases whose networks nest and overlap each other (and the recorded RDAP networks)."""
    city = write_mmdb(folder / "synthetic-city.mmdb", {
        "1.0.0.0/16": {"country": {"iso_code": "DE"}},
        "1.0.1.0/24": {"country": {"iso_code": "FR"}, "city": {"names": {"en": "Lyon"}},
                       "location": {"latitude": 45.75, "longitude": 4.85, "accuracy_radius": 20}},
        "74.125.0.0/16": {"country": {"iso_code": "US"}, "traits": {"isp": "Synthetic ISP"}},
        "3.0.0.0/9": {"country": {"iso_code": "IE"}},
        "2a00::/16": {"country": {"iso_code": "NL"}},
        "2001:4860::/32": {"country": {"iso_code": "US"}, "location": {"time_zone": "America/Chicago"}},
    }, "synthetic-City")
    asn = write_mmdb(folder / "synthetic-asn.mmdb", {
        "1.0.0.0/20": {"autonomous_system_number": 100, "autonomous_system_organization": "Hundred"},
        "1.0.2.0/23": {"autonomous_system_number": 200, "autonomous_system_organization": "Two Hundred"},
        "74.125.224.0/19": {"autonomous_system_number": 15169, "autonomous_system_organization": "Google"},
        "3.3.0.0/16": {"autonomous_system_number": 16509, "autonomous_system_organization": "Amazon"},
        "2a00:1::/32": {"autonomous_system_number": 300, "autonomous_system_organization": "Three Hundred"},
        "2001:4860:4860::/48": {"autonomous_system_number": 15169, "autonomous_system_organization": "Google"},
    }, "synthetic-ASN")
    return [city, asn]


def fill_rdap_cache(root: Path, monkeypatch: pytest.MonkeyPatch) -> RecordedRdap:
    """The RDAP cache under ``root`` filled from the loopback server (which the caller closes)."""
    server = RecordedRdap()
    boot = server.write_bootstrap(root / "bootstrap")
    monkeypatch.setenv("IPOWNER_CACHE_DIR", str(root / "rdap-cache"))
    monkeypatch.setenv("IPOWNER_RDAP_BOOTSTRAP", str(boot))
    monkeypatch.setenv("IPOWNER_RDAP_REWRITE", server.rewrite_env())
    with RdapClient(RdapConfig.from_env()) as client:
        answers = client.lookup(RDAP_SEEDS)
    assert all(a.network is not None for a in answers.values())
    server.reset()
    return server


def sample(seed: int, n: int) -> list[str]:
    """Addresses around the synthetic networks and the RDAP seeds, random public ones, special ones."""
    import random

    rnd = random.Random(seed)
    around = ["1.0.0.0", "1.0.1.0", "1.0.2.0", "74.125.225.229", "3.3.3.3", "2a00::", "2a00:1::",
              "2001:4860:4860::8888", *RDAP_SEEDS]
    out: list[str] = []
    while len(out) < n:
        r = rnd.random()
        if r < 0.5:
            ip = ipaddress.ip_address(rnd.choice(around))
            span = 12 if ip.version == 4 else 40
            out.append(str(ip + rnd.randrange(-(1 << span), 1 << span) if int(ip) > 1 << span else ip))
        elif r < 0.7:
            out.append(str(ipaddress.IPv4Address(rnd.getrandbits(32))))
        elif r < 0.8:
            out.append(str(ipaddress.IPv6Address(rnd.choice([0x2001, 0x2A00, 0x2600]) << 112 | rnd.getrandbits(112))))
        elif r < 0.9:
            n4 = int(ipaddress.IPv4Address(rnd.choice(["1.0.1.7", "3.3.3.3", "10.0.0.1", "74.125.225.229"])))
            out.append(rnd.choice([
                str(ipaddress.IPv6Address((0x64FF9B << 96) | n4)),
                str(ipaddress.IPv6Address((0x2002 << 112) | (n4 << 80) | rnd.getrandbits(80))),
                str(ipaddress.IPv6Address((0x20010000 << 96) | (rnd.getrandbits(32) << 64) | (~n4 & 0xFFFFFFFF))),
                f"::ffff:{ipaddress.IPv4Address(n4)}",
            ]))
        else:
            out.append(rnd.choice(["10.1.2.3", "192.168.0.1", "127.0.0.1", "fe80::1", "fd00::5", "2001:db8::1",
                                   "100.64.0.1", "224.0.0.1", "::1", "0.0.0.0"]))
    return out


class Asof:
    """The range table read into sorted lists per family: ``row(address)`` is the ASOF join's row."""

    def __init__(self, path: Path) -> None:
        import pyarrow.parquet as pq

        table = pq.read_table(path).to_pylist()
        self.by_family: dict[int, tuple[list[int], list[dict[str, Any]]]] = {}
        for row in table:
            starts, rows = self.by_family.setdefault(row["family"], ([], []))
            starts.append(int.from_bytes(row["start"], "big"))
            rows.append(row)

    def row(self, family: int, value: int) -> dict[str, Any] | None:
        starts, rows = self.by_family.get(family, ([], []))
        k = bisect_right(starts, value) - 1
        if k < 0 or int.from_bytes(rows[k]["end"], "big") < value:
            return None
        return rows[k]
