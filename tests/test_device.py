"""Who the device is, without ``--device``: real captures where the first sender is a public server, and
synthetic frames for ICMP errors, high ports on both sides and earlier evidence."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from ipowner import traffic
from ipowner.capture.core import core_available
from ipowner.capture.engine import _sender_is_client
from ipowner.capture.rules import DYNAMIC_FROM, ICMP, TCP, UDP

FIELD = Path(__file__).parent / "data" / "field"
DEV, PEER, LAN_DNS = bytes([192, 168, 1, 10]), bytes([203, 0, 113, 7]), bytes([192, 168, 1, 1])


def read(path: Path, **kw) -> dict:
    ref = traffic([path], compiled=False, **kw).to_dict()
    if core_available():
        assert traffic([path], compiled=True, **kw).to_dict() == ref, "the C core differs from the frame walker"
    return ref


def _frame(src: bytes, dst: bytes, proto: int, l4: bytes) -> bytes:
    v6 = len(src) == 16
    if v6:
        ip = struct.pack("!IHBB16s16s", 0x60000000, len(l4), proto, 64, src, dst) + l4
    else:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0, 64, proto, 0, src, dst) + l4
    return b"\x02" * 6 + b"\x04" * 6 + (b"\x86\xdd" if v6 else b"\x08\x00") + ip


def _udp(sport: int, dport: int, payload: bytes = b"x") -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def _tcp(sport: int, dport: int, flags: int) -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, flags, 65535, 0, 0)


def _pcap(path: Path, frames: list[bytes]) -> Path:
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for i, fr in enumerate(frames):
        out += struct.pack("<IIII", 1700000000 + i, 0, len(fr), len(fr)) + fr
    path.write_bytes(bytes(out))
    return path


def _devices(doc: dict) -> set[str]:
    return {dev for d in doc["destinations"] for dev in d["devices"]}


def test_teams_public_peers_are_destinations_not_the_device():
    doc = read(FIELD / "ndpi--teams.pcap")
    dests = {d["address"] for d in doc["destinations"]}
    assert "192.168.1.6" not in dests  # the device
    # the peers that spoke first from high ports (STUN, a TCP stream caught mid-way, an ICMP error answered)
    assert {"151.11.50.139", "93.71.110.205", "52.114.252.21", "52.114.252.8"} <= dests
    assert _devices(doc) >= {"192.168.1.6"}
    assert not {"151.11.50.139", "93.71.110.205", "52.114.252.21", "52.114.252.8"} & _devices(doc)


def test_teredo_client_addresses_are_the_device():
    doc = read(FIELD / "zeek--Teredo.pcap")
    teredo = "2001:0:4137:9e50:8000:f12a:b9c8:2815"  # the client's Teredo address
    assert teredo not in {d["address"] for d in doc["destinations"]}
    assert {"192.168.2.16", teredo, "fe80::8000:ffff:ffff:fffd"} <= _devices(doc)


def test_an_icmp_error_from_the_device_does_not_make_the_peer_a_device(tmp_path):
    # a public peer's datagram to a closed port, answered by port unreachable (the ICMP flow opens first)
    quoted = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 28, 9, 0, 50, UDP, 0, PEER, DEV) + _udp(16333, 50036, b"")[:8]
    err = _frame(DEV, PEER, ICMP, b"\x03\x03\x00\x00\x00\x00\x00\x00" + quoted)
    doc = read(_pcap(tmp_path / "synthetic-icmp-error-from-device.pcap", [err]))
    assert [(d["address"], d["devices"]) for d in doc["destinations"]] == [("203.0.113.7", ["192.168.1.10"])]


def test_an_icmp_error_between_public_addresses_goes_to_the_one_that_sent(tmp_path):
    a, b = bytes([198, 51, 100, 1]), bytes([203, 0, 113, 9])  # a router's time exceeded to b
    doc = read(_pcap(tmp_path / "synthetic-icmp-time-exceeded.pcap", [_frame(a, b, ICMP, b"\x0b\0\0\0\0\0\0\0")]))
    assert [(d["address"], d["devices"]) for d in doc["destinations"]] == [("198.51.100.1", ["203.0.113.9"])]


def test_high_ports_on_both_sides_public_peer_first(tmp_path):
    frames = [_frame(PEER, DEV, UDP, _udp(16332, 50016)), _frame(DEV, PEER, UDP, _udp(50016, 16332))]
    doc = read(_pcap(tmp_path / "synthetic-high-ports-peer-first.pcap", frames))
    assert [(d["address"], d["devices"], d["ports"]) for d in doc["destinations"]] == [
        ("203.0.113.7", ["192.168.1.10"], ["udp/16332"])]


def test_a_public_device_is_known_from_its_dns_question(tmp_path):
    dev6 = bytes.fromhex("20010db8000000000000000000000010")  # a phone's global IPv6 address
    dns6, peer6 = bytes.fromhex("20010db8000000000000000000000053"), bytes.fromhex("20010db8aaaa00000000000000000001")
    frames = [
        _frame(dev6, dns6, UDP, _udp(40000, 53)),  # the device asks: it is a client
        _frame(peer6, dev6, UDP, _udp(45000, 40001)),  # a peer speaks first, both ports high, both public
        _frame(dev6, peer6, UDP, _udp(40001, 45000)),
    ]
    doc = read(_pcap(tmp_path / "synthetic-public-ipv6-device.pcap", frames))
    dests = {d["address"]: d["devices"] for d in doc["destinations"]}
    assert dests == {"2001:db8::53": ["2001:db8::10"], "2001:db8:aaaa::1": ["2001:db8::10"]}


def test_device_option_still_decides(tmp_path):
    frames = [_frame(PEER, DEV, UDP, _udp(16332, 50016))]
    doc = read(_pcap(tmp_path / "synthetic-high-ports-device-option.pcap", frames), device="203.0.113.7")
    assert [(d["address"], d["devices"]) for d in doc["destinations"]] == [("192.168.1.10", ["203.0.113.7"])]


@pytest.mark.parametrize(("proto", "sport", "dport", "flags", "local", "known", "client"), [
    (TCP, 50000, 443, 0x12, (False, False), (False, False), False),  # a SYN-ACK's receiver asked
    (UDP, 2222, 54750, 0, (False, True), (False, False), False),  # the local side, both ports high
    (UDP, 2222, DYNAMIC_FROM, 0, (False, False), (False, False), False),  # the dynamic port's side
    (UDP, 5000, 6000, 0, (False, False), (False, True), False),  # the side known as a client
    (UDP, 5000, 6000, 0, (False, False), (False, False), True),  # nothing else: the sender
    (ICMP, 3, 0, 0, (False, False), (False, False), False),  # an error: its receiver
    (ICMP, 8, 0, 0, (False, True), (False, False), True),  # an echo request: its sender, wherever it is
])
def test_rule_order(proto, sport, dport, flags, local, known, client):
    assert _sender_is_client(proto, sport, dport, flags, *local, *known)[0] is client


def test_http_host_after_a_keep_alive_probe_mid_stream(tmp_path):
    """A connection caught mid-way whose first captured segment is a TCP keep-alive (one byte) still names
    its server from the next request."""
    def seg(src: bytes, dst: bytes, sport: int, dport: int, seq: int, payload: bytes) -> bytes:
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, 1, 5 << 4, 0x10, 65535, 0, 0) + payload
        return _frame(src, dst, TCP, tcp)

    get = b"GET /a HTTP/1.1\r\nHost: kept.example.com\r\n\r\n"
    frames = [seg(DEV, PEER, 51000, 80, 999, b"\x00"), seg(PEER, DEV, 80, 51000, 1, b""),
              seg(DEV, PEER, 51000, 80, 1000, get)]
    doc = read(_pcap(tmp_path / "synthetic-keepalive-then-http.pcap", frames))
    assert [h["name"] for h in doc["destinations"][0]["hostnames"]] == ["kept.example.com"]
