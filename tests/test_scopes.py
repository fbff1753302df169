"""Destination scopes from IANA's special-purpose registries (capture.engine.scope_of), and what reports make
of the scopes that are not the internet."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner

from ipowner.capture.engine import scope_of
from ipowner.cli import cli
from ipowner.cli.commands import cli as _registered  # noqa: F401 - registers the subcommands


@pytest.mark.parametrize(("address", "scope"), [
    ("8.8.8.8", "internet"), ("2606:4700::1111", "internet"),
    ("100.64.0.1", "cgnat"), ("100.127.255.254", "cgnat"), ("100.128.0.1", "internet"),
    ("240.0.0.1", "reserved"), ("255.255.255.254", "reserved"), ("0.1.2.3", "reserved"), ("fec0::1", "reserved"),
    ("192.0.0.1", "reserved"),  # IETF protocol assignments: not globally reachable
    ("192.0.2.1", "documentation"), ("198.51.100.7", "documentation"), ("203.0.113.9", "documentation"),
    ("2001:db8::1", "documentation"), ("3fff::1", "documentation"),
    ("10.0.0.1", "lan"), ("172.16.0.1", "lan"), ("192.168.1.1", "lan"), ("127.0.0.1", "lan"), ("::1", "lan"),
    ("169.254.1.1", "lan"), ("fe80::1", "lan"), ("fd00::1", "lan"), ("0.0.0.0", "lan"), ("198.18.0.1", "lan"),
    ("::ffff:192.168.1.1", "lan"), ("::ffff:8.8.8.8", "internet"),
    ("224.0.0.251", "multicast"), ("ff02::fb", "multicast"), ("255.255.255.255", "broadcast"),
    ("64:ff9b::808:808", "internet"), ("2001:0:4137:9e50::1", "internet"), ("2002:c000:0201::1", "internet"),
    ("192.0.0.9", "internet"),  # port control protocol anycast: globally reachable
])
def test_scope_of(address, scope):
    assert scope_of(address) == scope


def test_a_subnet_broadcast_frame_is_broadcast_but_multicast_stays_multicast():
    assert scope_of("192.168.1.255", True) == "broadcast"
    assert scope_of("224.0.0.1", True) == "multicast"


def _pcap(path: Path, dsts: list[bytes]) -> Path:
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    src = bytes([192, 168, 1, 10])
    for i, dst in enumerate(dsts):
        udp = struct.pack("!HHHH", 40000, 5000 + i, 9, 0) + b"x"
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, src, dst) + udp
        fr = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip
        out += struct.pack("<IIII", 1700000000 + i, 0, len(fr), len(fr)) + fr
    path.write_bytes(bytes(out))
    return path


def test_cgnat_reserved_and_documentation_space_are_not_internet_destinations(tmp_path):
    cap = _pcap(tmp_path / "synthetic-scopes.pcap", [bytes([100, 64, 3, 4]), bytes([240, 0, 0, 1]),
                                                      bytes([192, 0, 2, 1]), bytes([8, 8, 8, 8])])
    r = CliRunner().invoke(cli, ["traffic", str(cap), "--format", "json"], catch_exceptions=False)
    doc = json.loads(r.stdout)
    assert doc["schema"] == "ipowner.traffic/3"
    assert {d["address"]: d["scope"] for d in doc["destinations"]} == {
        "100.64.3.4": "cgnat", "240.0.0.1": "reserved", "192.0.2.1": "documentation", "8.8.8.8": "internet"}
    table = CliRunner().invoke(cli, ["traffic", str(cap)], catch_exceptions=False).stdout
    assert "Internet destinations (1)" in table and "Carrier-grade NAT space" in table
    assert "Reserved or unallocated space" in table and "Documentation ranges" in table
    rep = CliRunner().invoke(cli, ["report", str(cap), "--offline", "--format", "json"], catch_exceptions=False)
    report = json.loads(rep.stdout)
    assert report["schema"] == "ipowner.report/3"
    verdicts = {d["address"]: d["jurisdiction"]["verdict"] for d in report["destinations"]}
    assert "not on the public internet" in verdicts["100.64.3.4"]
    assert "not on the public internet" in verdicts["192.0.2.1"]
    assert "not on the public internet" not in verdicts["8.8.8.8"]
