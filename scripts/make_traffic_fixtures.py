"""Write the synthetic captures and logs in tests/data/traffic/ (run once; the outputs are committed).

Every file is synthetic (made here, addresses from documentation ranges where possible) and says so
in its name. They cover what the real captures lack: nanosecond and big-endian pcap, QinQ, SLL,
raw-IP link types, BSD loopback, pcapng with two interfaces at different timestamp resolutions,
IPv4 fragments of a DNS answer, IPv6 extension headers, a PCAPdroid trailer, a truncated last record.
"""

from __future__ import annotations

import struct
from pathlib import Path

import dns.message
import dns.rrset
import dpkt

OUT = Path(__file__).resolve().parents[1] / "tests" / "data" / "traffic"
DEV4, SRV4, DNS4 = "192.0.2.10", "198.51.100.7", "203.0.113.53"
DEV6, SRV6 = "2001:db8::10", "2001:db8:1::7"


def a4(s: str) -> bytes:
    return bytes(int(x) for x in s.split("."))


def a6(s: str) -> bytes:
    import ipaddress

    return ipaddress.IPv6Address(s).packed


def query(qname: str) -> dns.message.Message:
    q = dns.message.make_query(qname, "A")
    q.id = 0x1234  # fixed, so the fixtures are reproducible byte for byte
    return q


def dns_answer(qname: str, cname: str, addr: str) -> bytes:
    q = query(qname)
    r = dns.message.make_response(q)
    r.answer.append(dns.rrset.from_text(qname, 300, "IN", "CNAME", cname))
    r.answer.append(dns.rrset.from_text(cname, 300, "IN", "A", addr))
    return r.to_wire()


def client_hello(sni: str) -> bytes:
    name = sni.encode()
    sni_ext = struct.pack("!HHHBH", 0, len(name) + 5, len(name) + 3, 0, len(name)) + name
    body = b"\x03\x03" + b"\x11" * 32 + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00"
    body += struct.pack("!H", len(sni_ext)) + sni_ext
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def udp4(src: str, dst: str, sport: int, dport: int, data: bytes, ident: int = 1) -> dpkt.ip.IP:
    u = dpkt.udp.UDP(sport=sport, dport=dport, data=data)
    u.ulen = 8 + len(data)
    ip = dpkt.ip.IP(src=a4(src), dst=a4(dst), p=17, id=ident, data=u)
    ip.len = 20 + len(bytes(u))
    return ip


def tcp4(src: str, dst: str, sport: int, dport: int, flags: int, data: bytes = b"", seq: int = 1000) -> dpkt.ip.IP:
    t = dpkt.tcp.TCP(sport=sport, dport=dport, flags=flags, seq=seq, data=data)
    return dpkt.ip.IP(src=a4(src), dst=a4(dst), p=6, data=t)


def tcp6(src: str, dst: str, sport: int, dport: int, flags: int, data: bytes = b"") -> bytes:
    t = dpkt.tcp.TCP(sport=sport, dport=dport, flags=flags, seq=5000, data=data)
    t.sum = 0
    tb = bytes(t)
    hop = bytes([6, 0]) + b"\x01\x04\x00\x00\x00\x00"  # hop-by-hop header (PadN) before TCP
    payload = hop + tb
    return struct.pack("!IHBB", 0x60000000, len(payload), 0, 64) + a6(src) + a6(dst) + payload


def eth(payload: bytes, etype: int = 0x0800, vlans: tuple[int, ...] = ()) -> bytes:
    hdr = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01"
    for tpid, vid in zip((0x88A8,) + (0x8100,) * 4, vlans, strict=False):
        hdr += struct.pack("!HH", tpid, vid)
    return hdr + struct.pack("!H", etype) + payload


def conversation() -> list[bytes]:
    """DNS lookup, TCP handshake, ClientHello, HTTP request, data and FIN: raw IPv4 packets."""
    http = b"GET / HTTP/1.1\r\nHost: plain.example.net:8080\r\nUser-Agent: synthetic\r\n\r\n"
    return [
        bytes(udp4(DEV4, DNS4, 40000, 53, query("www.example.com").to_wire())),
        bytes(udp4(DNS4, DEV4, 53, 40000, dns_answer("www.example.com.", "edge.example.net.", SRV4))),
        bytes(tcp4(DEV4, SRV4, 50000, 443, dpkt.tcp.TH_SYN)),
        bytes(tcp4(SRV4, DEV4, 443, 50000, dpkt.tcp.TH_SYN | dpkt.tcp.TH_ACK, seq=9000)),
        bytes(tcp4(DEV4, SRV4, 50000, 443, dpkt.tcp.TH_ACK, client_hello("www.example.com"), seq=1001)),
        bytes(tcp4(SRV4, DEV4, 443, 50000, dpkt.tcp.TH_ACK, b"\x17\x03\x03\x00\x10" + b"\0" * 16, seq=9001)),
        bytes(tcp4(DEV4, SRV4, 50001, 8080, dpkt.tcp.TH_SYN)),
        bytes(tcp4(DEV4, SRV4, 50001, 8080, dpkt.tcp.TH_ACK, http, seq=1001)),
        bytes(tcp4(DEV4, SRV4, 50000, 443, dpkt.tcp.TH_FIN | dpkt.tcp.TH_ACK, seq=2000)),
    ]


def pcap(path: Path, lt: int, frames: list[bytes], *, nano: bool = False, big: bool = False,
         cut_last: int = 0, snaplen: int = 65535) -> None:
    e = ">" if big else "<"
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, snaplen, lt)
    for i, f in enumerate(frames):
        cap = f[:snaplen]
        frac = (123456789 if nano else 123456) + i
        out += struct.pack(e + "IIII", 1700000000 + i, frac, len(cap), len(f)) + cap
    if cut_last:
        out = out[:-cut_last]
    path.write_bytes(out)


def pcapng_two_ifaces(path: Path) -> None:
    def block(btype: int, body: bytes) -> bytes:
        body += b"\0" * (-len(body) % 4)
        ln = len(body) + 12
        return struct.pack("<II", btype, ln) + body + struct.pack("<I", ln)

    shb = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    idb0 = block(1, struct.pack("<HHI", 1, 0, 65535) + struct.pack("<HHB3x", 9, 1, 9) + b"\0\0\0\0")  # ns
    idb1 = block(1, struct.pack("<HHI", 101, 0, 65535) + b"\0\0\0\0")  # raw IP, microseconds
    out = shb + idb0 + idb1
    frames = conversation()
    for i, f in enumerate(frames):
        if i % 2 == 0:
            ts = (1700000100 + i) * 10**9 + 5
            iid, data = 0, eth(f)
        else:
            ts = (1700000100 + i) * 10**6 + 7
            iid, data = 1, f
        body = struct.pack("<IIIII", iid, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data)) + data
        out += block(6, body)
    path.write_bytes(out)


def pcapng_pcapdroid(path: Path) -> None:
    """PCAPdroid's own pcapng layout: raw IP, a uid -> app custom block, "u-<uid>" packet comments."""

    def block(btype: int, body: bytes) -> bytes:
        body += b"\0" * (-len(body) % 4)
        ln = len(body) + 12
        return struct.pack("<II", btype, ln) + body + struct.pack("<I", ln)

    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += block(1, struct.pack("<HHI", 101, 0, 65535))
    pkg, app = b"org.example.chat", b"Example Chat"
    out += block(0x0BAD, struct.pack("<IHBxiBB", 62652, 1, 1, 10234, len(pkg), len(app)) + pkg + app)
    for i, f in enumerate(conversation()):
        ts = (1700000200 + i) * 10**6
        comment = b"u-10234"
        opt = struct.pack("<HH", 1, len(comment)) + comment + b"\0" * (-len(comment) % 4) + b"\0\0\0\0"
        data = f + b"\0" * (-len(f) % 4)
        out += block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(f), len(f)) + data + opt)
    path.write_bytes(out)


def fragmented_dns() -> list[bytes]:
    big = dns.message.make_response(query("frag.example.org"))
    for i in range(60):
        big.answer.append(dns.rrset.from_text("frag.example.org.", 60, "IN", "A", f"198.51.100.{i + 1}"))
    ip = udp4(DNS4, DEV4, 53, 40001, big.to_wire(), ident=77)
    payload = bytes(ip)[20:]
    frags = []
    for off in range(0, len(payload), 512):
        piece = payload[off : off + 512]
        flags = (0x2000 if off + 512 < len(payload) else 0) | (off >> 3)
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(piece), 77, flags, 64, 17, 0, a4(DNS4), a4(DEV4))
        frags.append(hdr + piece)
    ask = bytes(udp4(DEV4, DNS4, 40001, 53, query("frag.example.org").to_wire()))
    syn = bytes(tcp4(DEV4, "198.51.100.5", 50002, 443, dpkt.tcp.TH_SYN))
    return [ask, *reversed(frags), syn]  # the last fragment first, as Linux sends them


def main() -> None:
    conv = conversation()
    pcap(OUT / "synthetic-ns-bigendian-qinq.pcap", 1, [eth(f, vlans=(10, 20)) for f in conv], nano=True, big=True)
    sll = [b"\x00\x00\x00\x01\x00\x06" + b"\x02\0\0\0\0\x01\0\0" + b"\x08\x00" + f for f in conv]
    pcap(OUT / "synthetic-sll.pcap", 113, sll)
    sll2 = [b"\x08\x00\x00\x00" + b"\0\0\0\x02" + b"\x00\x01\x00\x06" + b"\x02\0\0\0\0\x01\0\0" + f for f in conv]
    pcap(OUT / "synthetic-sll2.pcap", 276, sll2)
    for lt in (101, 228, 12, 14):
        pcap(OUT / f"synthetic-raw-dlt{lt}.pcap", lt, conv)
    pcap(OUT / "synthetic-null-loopback.pcap", 0, [struct.pack("<I", 2) + f for f in conv])
    pcap(OUT / "synthetic-truncated-last-record.pcap", 1, [eth(f) for f in conv], cut_last=7)
    pcap(OUT / "synthetic-snaplen-96.pcap", 1, [eth(f) for f in conv], snaplen=96)
    pcapng_two_ifaces(OUT / "synthetic-two-interfaces.pcapng")
    pcapng_pcapdroid(OUT / "synthetic-pcapdroid-uid-comments.pcapng")
    pcap(OUT / "synthetic-ipv4-fragmented-dns.pcap", 1, [eth(f) for f in fragmented_dns()])
    v6 = [tcp6(DEV6, SRV6, 51000, 443, dpkt.tcp.TH_SYN), tcp6(SRV6, DEV6, 443, 51000, 0x12),
          tcp6(DEV6, SRV6, 51000, 443, dpkt.tcp.TH_ACK, client_hello("v6.example.org"))]
    pcap(OUT / "synthetic-ipv6-hop-by-hop.pcap", 1, [eth(f, 0x86DD) for f in v6])
    trailer = struct.pack("!Ii20s", 0x01072021, 10123, b"org.example.app") + b"\0\0\0\0"
    pcap(OUT / "synthetic-pcapdroid-trailer.pcap", 1, [eth(f) + trailer for f in conv])
    pcap(OUT / "synthetic-unsupported-linktype.pcap", 147, conv)
    (OUT / "synthetic-pcapdroid-connections.csv").write_text(
        "IPProto,SrcIP,SrcPort,DstIp,DstPort,UID,App,PackageName,Proto,Status,Info,BytesSent,BytesRcvd,PktsSent,"
        "PktsRcvd,FirstSeen,LastSeen\n"
        f"6,{DEV4},50000,{SRV4},443,10123,Example,org.example.app,TLS,Closed,www.example.com,1200,5400,10,12,"
        "1700000000123,1700000009456\n"
        f"17,{DEV4},40000,{DNS4},53,10123,Example,org.example.app,DNS,Closed,www.example.com,75,120,1,1,"
        "1700000000001,1700000000050\n"
        f"6,{DEV4},50003,203.0.113.99,443,1000,,android,TLS,Open,api.example.org,300,900,4,5,1700000001000,"
        "1700000002000\n"
        "this line is garbage\n"
    )


if __name__ == "__main__":
    main()
