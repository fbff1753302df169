"""Tunnels and link types from the field: real captures (tests/data/field, checked against tshark's endpoints)
and synthetic frames for each tunnel no real capture here shows.

The dpkt oracle does not open tunnels nor read these link types: these captures are compared with tshark (its
recorded totals here, and tshark itself when installed), and the C core with the per-frame walker.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from ipowner import traffic
from ipowner.capture.core import core_available

FIELD = Path(__file__).parent / "data" / "field"
TSHARK = shutil.which("tshark")

SRC, DST = bytes([192, 168, 1, 10]), bytes([93, 184, 216, 34])  # the inner flow's ends
OUT_A, OUT_B = bytes([203, 0, 113, 1]), bytes([198, 51, 100, 1])  # the tunnel's ends (documentation ranges)
SRC6 = bytes.fromhex("20010db8000000000000000000000010")
OUT6_A, OUT6_B = bytes.fromhex("20010db8000100000000000000000001"), bytes.fromhex("20010db8000200000000000000000001")


def read(path: Path | str) -> dict:
    """The traffic document, after checking that the C core (when built) gives the very same."""
    ref = traffic([path], compiled=False).to_dict()
    if core_available():
        assert traffic([path], compiled=True).to_dict() == ref, "the C core differs from the frame walker"
    return ref


def totals(doc: dict) -> dict[str, tuple[int, int]]:
    return {d["address"]: (d["packets_sent"] + d["packets_received"], d["bytes_sent"] + d["bytes_received"])
            for d in doc["destinations"]}


def warnings(doc: dict) -> list[str]:
    return [w for i in doc["inputs"] for w in i["warnings"]]


# ---------------------------------------------------------------- real captures

# tshark 4.0 `-z endpoints,ip` / `endpoints,ipv6` on each capture: packets and bytes of the addresses inside
# the tunnels (tshark counts every IP layer of a frame; the outer ends are the tunnel's, not destinations).
TSHARK_INNER = {
    "zeek--gre-aruba.pcap": {
        "72.21.81.240": (1506, 215441), "140.197.248.48": (288, 42259), "140.197.248.50": (267, 39779),
        "205.185.216.42": (218, 27944), "205.185.216.10": (89, 13034), "140.197.248.41": (23, 3984),
        "172.217.14.68": (4, 898), "216.58.193.206": (4, 894), "192.0.78.150": (4, 892),
        "143.204.26.153": (2, 234), "143.204.26.178": (2, 234)},
    "zeek--gre-within-gre.pcap": {"192.168.1.2": (624, 101088), "224.0.0.9": (4, 576)},
    "zeek--vxlan-encapsulated-http.pcap": {"54.86.237.188": (12, 10707)},
    "ndpi--vxlan.pcap": {"157.240.224.35": (119, 84152), "8.8.8.8": (8, 1170)},
    "zeek--radiotap.pcap": {"208.67.220.220": (2, 391), "ff02::fb": (1, 389)},
    "zeek--nflog-http.pcap": {"93.184.216.34": (13, 3104)},
    "tcpdump--LINKTYPE_PKTAP.pcap": {"10.32.100.15": (1, 182)},
}
TUNNEL_ENDS = {
    "zeek--gre-aruba.pcap": ("GRE 10.3.34.171 <-> 10.33.10.23 (2407 packets, 345593 bytes)",),
    "zeek--gre-within-gre.pcap": ("GRE 72.205.54.70 <-> 86.106.164.150 (628 packets, 101664 bytes)",
                                  "GRE 10.10.11.2 <-> 10.10.13.2 (628 packets, 101664 bytes)"),
    "zeek--vxlan-encapsulated-http.pcap": ("VXLAN 10.1.1.172 <-> 10.1.200.131 (12 packets, 10707 bytes)",),
}


@pytest.mark.parametrize("name", sorted(TSHARK_INNER))
def test_inner_destinations_equal_tsharks_inner_endpoints(name):
    doc = read(FIELD / name)
    assert totals(doc) == TSHARK_INNER[name]
    for ends in TUNNEL_ENDS.get(name, ()):
        assert any(ends in w for w in warnings(doc)), (ends, warnings(doc))


def test_aruba_gre_shows_the_web_servers_inside_with_their_names():
    doc = read(FIELD / "zeek--gre-aruba.pcap")
    internet = [d for d in doc["destinations"] if d["scope"] == "internet"]
    assert len(internet) == 11
    assert sum(d["bytes_sent"] + d["bytes_received"] for d in internet) == 345593
    names = {d["address"]: {h["name"] for h in d["hostnames"]} for d in internet}
    assert "11.tlu.dl.delivery.mp.microsoft.com" in names["72.21.81.240"]
    assert "zeek.org" in names["192.0.78.150"]
    assert not {"10.3.34.171", "10.33.10.23"} & set(totals(doc))  # the tunnel's ends are not destinations


def test_outer_fragments_and_foreign_payloads_are_said_to_be_unread():
    doc = read(FIELD / "zeek--erspan.pcap")
    unread = [w for w in warnings(doc) if "left unread" in w]
    assert unread and "GRE 10.200.0.3 <-> 10.200.0.224" in unread[0]
    assert totals(doc)["192.168.69.2"][0] == 184  # the whole tunnelled packets; tshark adds reassembled ones


def test_teredo_inner_ipv6_and_gtp_inner_flows():
    teredo = totals(read(FIELD / "zeek--Teredo.pcap"))
    assert teredo["2001:4860:0:2001::68"] == (1, 94)  # tshark: the Teredo packet's inner IPv6 destination
    gtp = read(FIELD / "zeek--gtp1_gn_normal_incl_fragmentation.pcap")
    assert set(totals(gtp)) == {"63.94.149.181", "79.101.110.141"}  # the user's flow, not the GSNs
    assert any("GTP-U" in w and "tunnels opened" in w for w in warnings(gtp))


def test_ppp_frame_tshark_does_not_read_as_ip_is_not_counted():
    assert totals(read(FIELD / "tcpdump--ppp_ip_udp_dns.pcap")) == {}  # tshark: ppp:data, no IP layer


def _tshark_endpoints(path: Path) -> dict[str, tuple[int, int]]:
    assert TSHARK is not None
    out = {}
    for tap in ("ip", "ipv6"):
        text = subprocess.run([TSHARK, "-r", str(path), "-q", "-z", f"endpoints,{tap}"], capture_output=True,
                              text=True, check=True, timeout=120).stdout
        for line in text.splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[1].isdigit() and ("." in parts[0] or ":" in parts[0]):
                out[parts[0]] = (int(parts[1]), int(parts[2]))
    return out


@pytest.mark.slow
@pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")
@pytest.mark.parametrize("name", sorted(TSHARK_INNER))
def test_recorded_inner_totals_are_tsharks(name):
    ts = _tshark_endpoints(FIELD / name)
    assert {a: ts.get(a) for a in TSHARK_INNER[name]} == TSHARK_INNER[name]


# ---------------------------------------------------------------- synthetic frames, one per tunnel


def _ipv4(src: bytes, dst: bytes, proto: int, payload: bytes, frag: int = 0) -> bytes:
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 7, frag, 64, proto, 0, src, dst) + payload


def _ipv6(src: bytes, dst: bytes, nxt: int, payload: bytes) -> bytes:
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), nxt, 64, src, dst) + payload


def _udp(sport: int, dport: int, payload: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def _tcp(sport: int, dport: int, payload: bytes) -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 0x18, 65535, 0, 0) + payload


def _eth(ethertype: int, payload: bytes) -> bytes:
    return b"\x02" * 6 + b"\x04" * 6 + struct.pack("!H", ethertype) + payload


HTTP = b"GET / HTTP/1.1\r\nHost: inner.example.com\r\n\r\n"
INNER = _ipv4(SRC, DST, 6, _tcp(40000, 80, HTTP))  # the packet every tunnel below carries
INNER6 = _ipv6(SRC6, bytes.fromhex("20010db8ffff00000000000000000080"), 6, _tcp(40000, 80, HTTP))


def _gre(proto: int, payload: bytes, flags: int = 0, extra: bytes = b"", version: int = 0) -> bytes:
    return struct.pack("!BBH", flags, version, proto) + extra + payload


def _pcap(path: Path, frames: list[bytes], linktype: int = 1) -> Path:
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype))
    for i, fr in enumerate(frames):
        out += struct.pack("<IIII", 1700000000 + i, 0, len(fr), len(fr)) + fr
    path.write_bytes(bytes(out))
    return path


def _outer4(proto: int, payload: bytes) -> bytes:
    return _eth(0x0800, _ipv4(OUT_A, OUT_B, proto, payload))


ETH_INNER = _eth(0x0800, INNER)
SYNTHETIC_TUNNELS = {
    "gre-ipv4": ("GRE", _outer4(47, _gre(0x0800, INNER))),
    "gre-key-sequence-checksum": ("GRE", _outer4(47, _gre(0x0800, INNER, 0xB0, b"\0" * 12))),
    "gre-teb": ("GRE", _outer4(47, _gre(0x6558, ETH_INNER, 0x20, b"\0\0\0\x05"))),
    "gre-mpls": ("GRE", _outer4(47, _gre(0x8847, b"\x00\x01\x01\x40" + INNER))),
    "pptp-enhanced-gre-ppp": ("GRE", _outer4(47, _gre(0x880B, b"\xff\x03\x00\x21" + INNER, 0x30, b"\0" * 12,
                                                      0x81))),
    "erspan-i": ("ERSPAN", _outer4(47, _gre(0x88BE, ETH_INNER))),
    "erspan-ii": ("ERSPAN", _outer4(47, _gre(0x88BE, b"\x10\x00\x00\x01" + b"\0" * 4 + ETH_INNER, 0x10,
                                             b"\0\0\0\x01"))),
    "erspan-iii": ("ERSPAN", _outer4(47, _gre(0x22EB, b"\x20\x00\x00\x01" + b"\0" * 7 + b"\x01" + b"\0" * 8
                                              + ETH_INNER, 0x10, b"\0\0\0\x01"))),
    "vxlan": ("VXLAN", _outer4(17, _udp(51000, 4789, b"\x08\0\0\0\0\0\x2a\0" + ETH_INNER))),
    "geneve-with-option": ("Geneve", _outer4(17, _udp(51000, 6081, b"\x01\x00\x65\x58\0\0\x2a\0" + b"\0" * 4
                                                      + ETH_INNER))),
    "geneve-ip": ("Geneve", _outer4(17, _udp(51000, 6081, b"\x00\x00\x08\x00\0\0\x2a\0" + INNER))),
    "gtp-u": ("GTP-U", _outer4(17, _udp(2152, 2152, b"\x30\xff" + struct.pack("!H", len(INNER)) + b"\0\0\0\x01"
                                        + INNER))),
    "gtp-u-extension-header": ("GTP-U", _outer4(17, _udp(2152, 2152, b"\x34\xff" + struct.pack("!H", len(INNER) + 8)
                                                         + b"\0\0\0\x01" + b"\0\0\0\x85" + b"\x01\x00\x09\x00"
                                                         + INNER))),
    "ip-in-ip": ("IP-in-IP", _outer4(4, INNER)),
    "6in4": ("IP-in-IP", _outer4(41, INNER6)),
    "4in6": ("IP-in-IP", _eth(0x86DD, _ipv6(OUT6_A, OUT6_B, 4, INNER))),
    "teredo-origin-indication": ("Teredo", _outer4(17, _udp(3544, 40001, b"\x00\x00" + b"\0" * 6 + INNER6))),
    "l2tp-data-ppp": ("L2TP", _outer4(17, _udp(1701, 1701, b"\x40\x02" + struct.pack("!H", 10 + len(INNER))
                                               + b"\0\x01\0\x02" + b"\xff\x03\x00\x21" + INNER))),
    "vlan-vxlan-qinq-inner": ("VXLAN", _eth(0x8100, b"\x00\x05\x08\x00" + _ipv4(
        OUT_A, OUT_B, 17, _udp(51000, 4789, b"\x08\0\0\0\0\0\x2a\0" + _eth(0x88A8, b"\0\x01\x81\x00\0\x02\x08\x00"
                                                                          + INNER))))),
}


@pytest.mark.parametrize("case", sorted(SYNTHETIC_TUNNELS))
def test_synthetic_tunnel_is_opened(tmp_path, case):
    kind, frame = SYNTHETIC_TUNNELS[case]
    doc = read(_pcap(tmp_path / f"synthetic-{case}.pcap", [frame]))
    inner_dst = "2001:db8:ffff::80" if case in ("6in4", "teredo-origin-indication") else "93.184.216.34"
    assert totals(doc) == {inner_dst: (1, len(frame))}  # the frame's bytes, on the inner flow
    d = doc["destinations"][0]
    assert [(h["name"], h["source"]) for h in d["hostnames"]] == [("inner.example.com", "http")]
    assert d["ports"] == ["tcp/80"]
    opened = [w for w in warnings(doc) if "tunnels opened" in w]
    assert len(opened) == 1 and f": {kind} " in opened[0] and "(1 packets," in opened[0], warnings(doc)


def test_tunnels_inside_tunnels_stop_at_the_depth_rule(tmp_path):
    from ipowner.capture.rules import TUNNEL_DEPTH

    pkt = INNER
    for level in range(TUNNEL_DEPTH + 1):
        pkt = _ipv4(bytes([10, 0, level, 1]), bytes([10, 0, level, 2]), 4, pkt)
    doc = read(_pcap(tmp_path / "synthetic-ip-in-ip-too-deep.pcap", [_eth(0x0800, pkt)]))
    # the outermost TUNNEL_DEPTH tunnels are opened; the next one stays a flow of its own
    assert list(totals(doc)) == ["10.0.0.2"]
    assert doc["destinations"][0]["ports"] == ["ip-proto-4"]
    assert any("left unread" in w and "IP-in-IP 10.0.0.1 <-> 10.0.0.2" in w for w in warnings(doc))


def test_udp_on_a_tunnel_port_that_is_not_the_tunnel_stays_udp(tmp_path):
    frame = _outer4(17, _udp(51000, 4789, b"not a vxlan header at all"))
    doc = read(_pcap(tmp_path / "synthetic-not-vxlan.pcap", [frame]))
    assert totals(doc) == {"198.51.100.1": (1, len(frame))}
    assert doc["destinations"][0]["ports"] == ["udp/4789"]
    assert not warnings(doc)


def test_cut_and_hostile_tunnel_headers_never_raise(tmp_path):
    frames = []
    for _kind, frame in SYNTHETIC_TUNNELS.values():
        for cut in range(14, len(frame), 3):
            frames.append(frame[:cut])
        frames.append(frame[:34] + b"\xff" * (len(frame) - 34))
    doc = read(_pcap(tmp_path / "synthetic-cut-tunnels.pcap", frames))  # the walkers agree on every one
    assert not [w for w in warnings(doc) if "internal error" in w]


# ---------------------------------------------------------------- link types, synthetic


def _wlan_data(body: bytes, fc1: int = 0x01, qos: bool = True) -> bytes:
    fc0 = 0x88 if qos else 0x08
    hdr = bytes([fc0, fc1]) + b"\0\0" + b"\x02" * 6 + b"\x04" * 6 + b"\x06" * 6 + b"\0\0"
    return hdr + (b"\0\0" if qos else b"") + b"\xaa\xaa\x03\0\0\0\x08\x00" + body


LINK_FRAMES = {
    "ppp": (9, b"\xff\x03\x00\x21" + INNER),
    "ppp-compressed-protocol": (9, b"\x21" + INNER),
    "ppp-hdlc": (50, b"\xff\x03\x00\x21" + INNER),
    "cisco-hdlc": (104, b"\x0f\x00\x08\x00" + INNER),
    "ieee802-11": (105, _wlan_data(INNER)),
    "ieee802-11-no-qos": (105, _wlan_data(INNER, qos=False)),
    "radiotap": (127, b"\x00\x00\x0c\x00\x04\x00\x00\x00\x02\x00\x00\x00" + _wlan_data(INNER)),
    "nflog": (239, b"\x02\x00\x00\x01" + b"\x08\x00\x01\x00\x08\x00\x00\x00" + struct.pack("<HH", 4 + len(INNER), 9)
              + INNER),
    "pktap-258": (258, struct.pack("<II", 108, 1) + b"\0" * 100 + ETH_INNER),
    "pktap-149": (149, struct.pack("<II", 108, 1) + b"\0" * 100 + ETH_INNER),
}


@pytest.mark.parametrize("case", sorted(LINK_FRAMES))
def test_synthetic_link_types(tmp_path, case):
    lt, frame = LINK_FRAMES[case]
    doc = read(_pcap(tmp_path / f"synthetic-{case}.pcap", [frame], linktype=lt))
    assert totals(doc) == {"93.184.216.34": (1, len(frame))}
    assert [h["name"] for h in doc["destinations"][0]["hostnames"]] == ["inner.example.com"]


def test_protected_80211_frames_are_not_read(tmp_path):
    doc = read(_pcap(tmp_path / "synthetic-wlan-protected.pcap", [_wlan_data(INNER, fc1=0x41)], linktype=105))
    assert totals(doc) == {}
