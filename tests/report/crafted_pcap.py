"""Write a small synthetic capture whose DNS names, TLS SNI and HTTP Host carry hostile text.

Synthetic: every packet is made here; the addresses are documentation or well-known ones.
"""

from __future__ import annotations

import socket
import struct
from pathlib import Path

import dpkt

DEVICE = "10.0.0.2"
RESOLVER = "10.0.0.1"
TLS_SERVER = "52.74.1.10"
HTTP_SERVER = "42.62.48.7"
T0 = 1_400_000_000.0


def _ip(src: str, dst: str, payload: dpkt.Packet, proto: int) -> bytes:
    ip = dpkt.ip.IP(src=socket.inet_aton(src), dst=socket.inet_aton(dst), p=proto, ttl=64, data=payload)
    ip.len = len(ip)  # dpkt fills checksums on bytes()
    eth = dpkt.ethernet.Ethernet(src=b"\x02\x00\x00\x00\x00\x02", dst=b"\x02\x00\x00\x00\x00\x01",
                                 type=dpkt.ethernet.ETH_TYPE_IP, data=ip)
    return bytes(eth)


def _tcp(src, dst, sport, dport, flags, seq, ack, data=b"") -> bytes:
    t = dpkt.tcp.TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack, win=65535, data=data)
    t.off = 5
    return _ip(src, dst, t, dpkt.ip.IP_PROTO_TCP)


def _udp(src, dst, sport, dport, data: bytes) -> bytes:
    u = dpkt.udp.UDP(sport=sport, dport=dport, data=data)
    u.ulen = len(u)
    return _ip(src, dst, u, dpkt.ip.IP_PROTO_UDP)


def _dns_name(name: bytes) -> bytes:
    out = b""
    for label in name.split(b"."):
        out += bytes([len(label)]) + label
    return out + b"\x00"


def dns_response(qname: bytes, address: str, txid: int) -> bytes:
    header = struct.pack("!HHHHHH", txid, 0x8180, 1, 1, 0, 0)
    q = _dns_name(qname) + struct.pack("!HH", 1, 1)
    a = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + socket.inet_aton(address)
    return header + q + a


def dns_query(qname: bytes, txid: int) -> bytes:
    return struct.pack("!HHHHHH", txid, 0x0100, 1, 0, 0, 0) + _dns_name(qname) + struct.pack("!HH", 1, 1)


def client_hello(sni: bytes) -> bytes:
    ext_sni_list = b"\x00" + struct.pack("!H", len(sni)) + sni
    ext_sni = struct.pack("!HH", 0, len(ext_sni_list) + 2) + struct.pack("!H", len(ext_sni_list)) + ext_sni_list
    extensions = ext_sni
    body = (b"\x03\x03" + b"\x11" * 32 + b"\x00" + struct.pack("!H", 2) + b"\x13\x01" + b"\x01\x00"
            + struct.pack("!H", len(extensions)) + extensions)
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def dns_safe(value: bytes) -> bytes:
    """A DNS name carrying ``value``: labels cut to 63 bytes, the whole name to 250."""
    labels = [value[i:i + 63] for i in range(0, min(len(value), 180), 63)] or [b"x"]
    return b".".join(labels + [b"hostile", b"example"])


def write_crafted(path: Path, dns_value: bytes, sni: bytes, host: bytes) -> None:
    """DNS answer (hostile name -> TLS server), TLS ClientHello (hostile SNI), HTTP request (hostile Host)."""
    pkts: list[tuple[float, bytes]] = []
    qname = dns_safe(dns_value)
    pkts.append((T0, _udp(DEVICE, RESOLVER, 53000, 53, dns_query(qname, 7))))
    pkts.append((T0 + 0.01, _udp(RESOLVER, DEVICE, 53, 53000, dns_response(qname, TLS_SERVER, 7))))
    # TLS: handshake, ClientHello with the SNI, a server reply.
    pkts.append((T0 + 0.1, _tcp(DEVICE, TLS_SERVER, 40000, 443, dpkt.tcp.TH_SYN, 1000, 0)))
    pkts.append((T0 + 0.2, _tcp(TLS_SERVER, DEVICE, 443, 40000, dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK, 5000, 1001)))
    pkts.append((T0 + 0.3, _tcp(DEVICE, TLS_SERVER, 40000, 443, dpkt.tcp.TH_ACK, 1001, 5001)))
    hello = client_hello(sni)
    pkts.append((T0 + 0.4, _tcp(DEVICE, TLS_SERVER, 40000, 443, dpkt.tcp.TH_ACK | dpkt.tcp.TH_PUSH, 1001, 5001, hello)))
    pkts.append((T0 + 0.5, _tcp(TLS_SERVER, DEVICE, 443, 40000, dpkt.tcp.TH_ACK, 5001, 1001 + len(hello), b"\x00" * 200)))
    # HTTP with the Host header.
    pkts.append((T0 + 1.0, _tcp(DEVICE, HTTP_SERVER, 40001, 80, dpkt.tcp.TH_SYN, 2000, 0)))
    pkts.append((T0 + 1.1, _tcp(HTTP_SERVER, DEVICE, 80, 40001, dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK, 7000, 2001)))
    pkts.append((T0 + 1.2, _tcp(DEVICE, HTTP_SERVER, 40001, 80, dpkt.tcp.TH_ACK, 2001, 7001)))
    req = b"GET / HTTP/1.1\r\nHost: " + host + b"\r\nUser-Agent: test\r\n\r\n"
    pkts.append((T0 + 1.3, _tcp(DEVICE, HTTP_SERVER, 40001, 80, dpkt.tcp.TH_ACK | dpkt.tcp.TH_PUSH, 2001, 7001, req)))
    pkts.append((T0 + 1.4, _tcp(HTTP_SERVER, DEVICE, 80, 40001, dpkt.tcp.TH_ACK, 7001, 2001 + len(req), b"HTTP/1.1 200 OK\r\n\r\n")))
    with path.open("wb") as fh:
        w = dpkt.pcap.Writer(fh, snaplen=262144, linktype=dpkt.pcap.DLT_EN10MB)
        for ts, frame in pkts:
            w.writepkt(frame, ts=ts)
