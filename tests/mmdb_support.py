"""Shared helpers for the MaxMind-format database tests (not a test module)."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parent / "data" / "mmdb"
BAD = DATA / "bad"
SOURCE = DATA / "source"


def isolate(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    """Results must not depend on the machine: no system GeoIP folders, no user settings."""
    monkeypatch.setenv("IPOWNER_DATA_DIR", str(data_dir))
    monkeypatch.setenv("IPOWNER_CACHE_DIR", str(data_dir / "cache"))
    monkeypatch.setenv("IPOWNER_NO_SYSTEM_MMDB", "1")
    monkeypatch.delenv("IPOWNER_MMDB_PATH", raising=False)


def write_mmdb(path: Path, networks: dict[str, dict[str, Any]], database_type: str, ip_version: int = 6) -> Path:
    """A small synthetic database (mmdb-writer, the same writer the embedded build uses)."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    w = MMDBWriter(
        ip_version=ip_version,
        ipv4_compatible=ip_version == 6,
        database_type=database_type,
        languages=["en"],
        description={"en": "synthetic test database"},
    )
    for net, record in networks.items():
        w.insert_network(IPSet([net]), record)
    w.to_db_file(str(path))
    return path


def source_entries(name: str) -> list[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, dict[str, Any]]]:
    """MaxMind's source JSON as (network, record); "::a.b.c.d/n" (IPv4 in an IPv6 tree) becomes IPv4."""
    out = []
    for item in json.loads((SOURCE / name).read_text(encoding="utf-8")):
        for net_text, record in item.items():
            net = ipaddress.ip_network(net_text)
            if net.version == 6 and net.prefixlen >= 96 and int(net.network_address) >> 32 == 0 and "." in net_text:
                net = ipaddress.ip_network((int(net.network_address), net.prefixlen - 96))
            out.append((net, record))
    return out


def expected_for(entries: list[Any], address: str) -> tuple[Any, dict[str, Any]] | None:
    """The most specific source entry that contains ``address`` (what a reader must return)."""
    ip = ipaddress.ip_address(address)
    best = None
    for net, record in entries:
        if net.version == ip.version and ip in net and (best is None or net.prefixlen > best[0].prefixlen):
            best = (net, record)
    return best
