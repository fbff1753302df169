#!/usr/bin/env python3
"""Write a deterministic synthetic packet capture for the ingest benchmark, and its reference truth.

Everything in the output is synthetic: addresses are drawn at random from public space, hostnames live
under ``.example`` (reserved by RFC 2606), payloads are filler. It mixes what real captures have, so the
reader's fast path is measured on the general case:

- pcap (micro- or nanosecond) or pcapng; pcapng carries three interfaces: Ethernet (microseconds),
  Linux cooked SLL2 (nanoseconds; a phone's traffic) and a second Ethernet port whose snaplen truncates
  bulk payloads (original lengths kept). In pcap, which has one link type, the SLL2 device is written as
  Ethernet and nothing is truncated.
- Ethernet with and without 802.1Q VLAN tags (one device behind a double tag), ARP frames (not IP).
- IPv4 and IPv6; IPv6 packets with Hop-by-Hop / Destination Options headers and IPv6 fragments; IPv4
  fragments (large UDP datagrams).
- many short TCP and UDP flows, interleaved: TLS with a ClientHello carrying SNI, HTTP requests with
  Host, DNS responses with A, AAAA and CNAME answers (over UDP, a few over TCP), QUIC-like and other
  UDP, multicast and broadcast, LAN peers; popularity follows a Zipf-like law.
- checksums are not computed (IPv4 header zero, TCP/UDP a fixed non-zero placeholder), as in captures
  taken with checksum offload; tshark does not verify them by default.

The truth (``--truth PATH``, JSON) gives, per address, frames and on-the-wire bytes (original frame
length, link header included) in the same sense as ``tshark -z endpoints,ip``; per remote peer of a
device, the same split into sent (device -> remote) and received, the flow count and the hostnames that
the capture announces for it (DNS answers, SNI, HTTP Host) in frames captured whole (the snaplen-128
interface cuts most of them short; a reader that still finds a name there finds more than the truth).

Usage: gen_capture.py --packets 1000000 --format pcapng OUT [--truth OUT.json] [--seed N]
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import random
import struct
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import BinaryIO

IPPROTO_TCP, IPPROTO_UDP = 6, 17
FIN, SYN, RST, PSH, ACK = 1, 2, 4, 8, 16
ETH_IP4, ETH_IP6, ETH_ARP, ETH_VLAN = 0x0800, 0x86DD, 0x0806, 0x8100
LINKTYPE_ETHERNET, LINKTYPE_SLL2 = 1, 276
SNAPLEN_TRUNC = 128  # snaplen of the third pcapng interface

# ---------------------------------------------------------------- payloads


def dns_name(name: str) -> bytes:
    out = bytearray()
    for label in name.split("."):
        out.append(len(label))
        out += label.encode()
    return bytes(out) + b"\0"


def dns_message(txid: int, qname: str, qtype: int, answers: list[tuple[str, int, bytes]], response: bool) -> bytes:
    """A DNS message; answers are (owner name, type, rdata); owner names are written in full except the
    question name, which is compressed to a pointer, as servers do."""
    flags = 0x8180 if response else 0x0100
    head = struct.pack("!HHHHHH", txid, flags, 1, len(answers) if response else 0, 0, 0)
    q = dns_name(qname) + struct.pack("!HH", qtype, 1)
    body = bytearray(head + q)
    if response:
        for owner, rtype, rdata in answers:
            body += b"\xc0\x0c" if owner == qname else dns_name(owner)
            body += struct.pack("!HHIH", rtype, 1, 300, len(rdata)) + rdata
    return bytes(body)


def client_hello(sni: str, rnd: random.Random) -> bytes:
    """A TLS 1.3-style ClientHello record with server_name, supported_groups, ALPN and supported_versions."""
    name = sni.encode()
    ext = bytearray()
    sn = struct.pack("!BH", 0, len(name)) + name
    ext += struct.pack("!HHH", 0, len(sn) + 2, len(sn)) + sn
    groups = struct.pack("!HHH", 0x1D, 0x17, 0x18)
    ext += struct.pack("!HHH", 10, len(groups) + 2, len(groups)) + groups
    alpn = b"\x02h2\x08http/1.1"
    ext += struct.pack("!HHH", 16, len(alpn) + 2, len(alpn)) + alpn
    ext += struct.pack("!HHB", 43, 5, 4) + struct.pack("!HH", 0x0304, 0x0303)
    ks = rnd.randbytes(32)
    kse = struct.pack("!HH", 0x1D, 32) + ks
    ext += struct.pack("!HHH", 51, len(kse) + 2, len(kse)) + kse
    suites = struct.pack("!8H", 0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0x00FF)
    body = (
        struct.pack("!H", 0x0303)
        + rnd.randbytes(32)
        + b"\x20"
        + rnd.randbytes(32)
        + struct.pack("!H", len(suites))
        + suites
        + b"\x01\x00"
        + struct.pack("!H", len(ext))
        + bytes(ext)
    )
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return struct.pack("!BHH", 22, 0x0301, len(hs)) + hs


def http_request(host: str, path: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: synthetic-bench/1.0\r\n"
        f"Accept: */*\r\nConnection: close\r\n\r\n"
    ).encode()


HTTP_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 4096\r\n\r\n"

# ---------------------------------------------------------------- headers


def ip4_header(src: bytes, dst: bytes, proto: int, plen: int, ident: int, frag: int = 0) -> bytes:
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + plen, ident & 0xFFFF, frag, 64, proto, 0, src, dst)


def ip6_header(src: bytes, dst: bytes, nh: int, plen: int) -> bytes:
    return struct.pack("!IHBB16s16s", 0x60000000, plen, nh, 64, src, dst)


def tcp_header(sport: int, dport: int, seq: int, ack: int, flags: int) -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 0x50, flags, 65535, 0x5A5A, 0)


def udp_header(sport: int, dport: int, plen: int) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + plen, 0x5A5A)


# ---------------------------------------------------------------- world


class Device:
    def __init__(self, name: str, v4: str, v6: str | None, mac: bytes, link: str, vlans: tuple[int, ...], iface: int):
        self.name, self.v4, self.v6 = name, v4, v6
        self.v4b = ipaddress.IPv4Address(v4).packed
        self.v6b = ipaddress.IPv6Address(v6).packed if v6 else None
        self.mac, self.link, self.vlans, self.iface = mac, link, vlans, iface


GW_MAC = bytes.fromhex("f0b0140a0b01")


class Link:
    """Per-device link-layer headers, precomputed per direction and ethertype."""

    def __init__(self, dev: Device, fmt: str):
        self.hdr: dict[tuple[bool, int], bytes] = {}
        self.iface = dev.iface if fmt == "pcapng" else 0
        sll2 = dev.link == "sll2" and fmt == "pcapng"
        for out in (True, False):
            for et in (ETH_IP4, ETH_IP6, ETH_ARP):
                if sll2:
                    # protocol, reserved, ifindex, ARPHRD_ETHER, packet type (4 outgoing, 0 to us), addr len, addr
                    h = struct.pack("!HHIHBB8s", et, 0, 3, 1, 4 if out else 0, 6, (dev.mac if out else GW_MAC) + b"\0\0")
                else:
                    h = (GW_MAC + dev.mac) if out else (dev.mac + GW_MAC)
                    for v in dev.vlans:
                        h += struct.pack("!HH", ETH_VLAN, v)
                    h += struct.pack("!H", et)
                self.hdr[(out, et)] = h


def public_v4(rnd: random.Random) -> str:
    while True:
        a = ipaddress.IPv4Address(rnd.getrandbits(32))
        if a.is_global and not a.is_multicast and int(a) >> 24 not in (0, 127, 100) and int(a) < 0xE0000000:
            return str(a)


V6_POOLS = [0x2A00, 0x2A01, 0x2A02, 0x2400, 0x2404, 0x2600, 0x2606, 0x2607, 0x2800, 0x2C0F, 0x2001]


def public_v6(rnd: random.Random) -> str:
    while True:
        hi = rnd.choice(V6_POOLS)
        # under 2001::/16 keep to a few ordinary /32s: it also holds 2001:db8 and other special blocks
        hi2 = rnd.choice([0x4860, 0x0470, 0x1900, 0x67C]) if hi == 0x2001 else rnd.getrandbits(16)
        a = ipaddress.IPv6Address((hi << 112) | (hi2 << 96) | rnd.getrandbits(96))
        if a.is_global:
            return str(a)


class Service:
    """A name users connect to: maybe a CNAME to a CDN edge name, answered by one to four addresses."""

    def __init__(self, qname: str, cname: str | None, v4: list[str], v6: list[str]):
        self.qname, self.cname, self.v4, self.v6 = qname, cname, v4, v6


def build_world(rnd: random.Random, n_dest: int) -> tuple[list[Device], list[Service], list[str], list[str]]:
    devices = [
        Device("laptop", "192.168.1.23", "2a02:8070:d3c1:5600::23", bytes.fromhex("3c22fb000023"), "eth", (), 0),
        Device("tv", "192.168.10.42", None, bytes.fromhex("a4c138000042"), "eth", (10,), 0),
        Device("desktop", "192.168.1.77", "2a02:8070:d3c1:5600:1c3e:77ff:fe00:77", bytes.fromhex("3c22fb000077"), "eth", (), 0),
        Device("iot", "10.20.0.5", None, bytes.fromhex("b827eb000005"), "eth", (100, 20), 0),
        Device("phone", "10.145.17.9", "2a01:598:b183:4e2a::9", bytes.fromhex("02000000a009"), "sll2", (), 1),
        Device("server", "192.168.1.80", "2a02:8070:d3c1:5600::80", bytes.fromhex("3c22fb000080"), "eth", (), 2),
    ]
    v4pool = [public_v4(rnd) for _ in range(int(n_dest * 0.78))]
    v6pool = [public_v6(rnd) for _ in range(n_dest - len(v4pool))]
    services: list[Service] = []
    i4 = i6 = 0
    n_services = max(1, n_dest // 2)
    for k in range(n_services):
        brand = f"svc{k:04d}"
        qname = f"www.{brand}.example" if k % 3 else f"api.{brand}.example"
        cname = f"{brand}.edge{k % 17}.cdn-synthetic.example" if k % 4 == 0 else None
        n4 = 1 + (k % 3 == 0) + (k % 7 == 0)
        v4 = [v4pool[(i4 + j) % len(v4pool)] for j in range(n4)]
        i4 += n4
        v6: list[str] = []
        if k % 3 != 2 and v6pool:
            v6 = [v6pool[i6 % len(v6pool)]]
            i6 += 1
        services.append(Service(qname, cname, v4, v6))
    return devices, services, v4pool, v6pool


# ---------------------------------------------------------------- flows


class Gen:
    def __init__(self, seed: int, fmt: str, n_dest: int):
        self.rnd = random.Random(seed)
        self.fmt = fmt
        self.devices, self.services, self.v4pool, self.v6pool = build_world(self.rnd, n_dest)
        self.links = {d.name: Link(d, fmt) for d in self.devices}
        self.ident = 1
        self.ch_cache: dict[str, bytes] = {}
        # Zipf-like popularity: cumulative weights for services and for "other" destinations.
        self.svc_cum = _cum([1.0 / (i + 1) ** 0.9 for i in range(len(self.services))])
        allpool = self.v4pool + self.v6pool
        self.other = allpool
        self.other_cum = _cum([1.0 / (i + 1) ** 0.8 for i in range(len(allpool))])
        self.resolvers4 = ["192.168.1.1", "8.8.8.8", "1.1.1.1"]
        self.resolvers6 = ["2001:4860:4860::8888"]
        # truth
        self.ep_pk: dict[str, int] = defaultdict(int)
        self.ep_by: dict[str, int] = defaultdict(int)
        self.remote: dict[str, list[int]] = {}  # addr -> [pk_sent, pk_recv, by_sent, by_recv, flows]
        self.names: dict[str, set[tuple[str, str]]] = defaultdict(set)
        self.kinds: dict[str, int] = defaultdict(int)

    def pick_service(self) -> Service:
        return self.services[_pick(self.rnd, self.svc_cum)]

    def pick_device(self) -> Device:
        r = self.rnd.random()
        # laptop, tv, desktop, iot, phone, server
        return self.devices[0 if r < 0.3 else 1 if r < 0.42 else 2 if r < 0.62 else 3 if r < 0.67 else 4 if r < 0.92 else 5]

    def new_flow(self) -> Iterator[tuple[bytes, int, int, str, str, bool]]:
        """A generator of (frame, iface, caplen, src, dst, is_ip) for one flow."""
        r = self.rnd.random()
        dev = self.pick_device()
        if r < 0.40:
            kind = "tls"
        elif r < 0.48:
            kind = "http"
        elif r < 0.70:
            kind = "dns"
        elif r < 0.72:
            kind = "dns-tcp"
        elif r < 0.84:
            kind = "udp"
        elif r < 0.87:
            kind = "frag"
        elif r < 0.95:
            kind = "tcp"
        elif r < 0.985:
            kind = "mcast"
        else:
            kind = "arp"
        self.kinds[kind] += 1
        return getattr(self, "flow_" + kind.replace("-", "_"))(dev)

    # -- building blocks

    def _addr_pair(self, dev: Device, svc_or_addr: Service | str) -> tuple[str, str, bool] | None:
        """(device address, remote address, is_v6) for a flow to a service or to an address."""
        if isinstance(svc_or_addr, str):
            remote = svc_or_addr
            v6 = ":" in remote
            if v6 and not dev.v6:
                return None
            return (dev.v6 if v6 else dev.v4), remote, v6  # type: ignore[return-value]
        svc = svc_or_addr
        if dev.v6 and svc.v6 and self.rnd.random() < 0.55:
            return dev.v6, self.rnd.choice(svc.v6), True
        return dev.v4, self.rnd.choice(svc.v4), False

    def _packer(self, dev: Device, local: str, remote: str, v6: bool, proto: int):
        """Returns emit(out, l4header+payload, extra=None) -> tuple for the writer; also books the truth."""
        link = self.links[dev.name]
        lb = ipaddress.ip_address(local).packed
        rb = ipaddress.ip_address(remote).packed
        et = ETH_IP6 if v6 else ETH_IP4
        h_out, h_in = link.hdr[(True, et)], link.hdr[(False, et)]
        iface = link.iface
        trunc = iface == 2
        ext = v6 and self.rnd.random() < 0.15  # this flow's IPv6 packets carry a Destination Options header
        rem = self.remote.setdefault(remote, [0, 0, 0, 0, 0])
        rem[4] += 1
        ep_pk, ep_by = self.ep_pk, self.ep_by

        def emit(out: bool, l4: bytes) -> tuple[bytes, int, int, str, str, bool]:
            if v6:
                if ext:
                    ip = ip6_header(lb if out else rb, rb if out else lb, 60, len(l4) + 8)
                    ip += struct.pack("!BB6s", proto, 0, b"\x01\x04\0\0\0\0")
                else:
                    ip = ip6_header(lb if out else rb, rb if out else lb, proto, len(l4))
            else:
                self.ident += 1
                ip = ip4_header(lb if out else rb, rb if out else lb, proto, len(l4), self.ident, 0x4000)
            frame = (h_out if out else h_in) + ip + l4
            n = len(frame)
            ep_pk[local] += 1
            ep_pk[remote] += 1
            ep_by[local] += n
            ep_by[remote] += n
            if out:
                rem[0] += 1
                rem[2] += n
            else:
                rem[1] += 1
                rem[3] += n
            cap = n if not trunc or n <= SNAPLEN_TRUNC else SNAPLEN_TRUNC
            return frame, iface, cap, (local if out else remote), (remote if out else local), True

        return emit

    def _book(self, pkt: tuple[bytes, int, int, str, str, bool], names: list[tuple[str, str, str]]) -> None:
        """Names count in the truth only when the frame that carries them was captured whole (snaplen)."""
        if pkt[2] == len(pkt[0]):
            for addr, name, source in names:
                self.names[addr].add((name, source))

    def _tcp_session(
        self,
        dev: Device,
        pair: tuple[str, str, bool],
        dport: int,
        request: bytes,
        first_reply: bytes,
        down: int,
        up: int,
        names_req: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
        names_reply: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
    ):
        local, remote, v6 = pair
        emit = self._packer(dev, local, remote, v6, IPPROTO_TCP)
        sport = self.rnd.randint(32768, 60999)
        cs, ss = self.rnd.getrandbits(32), self.rnd.getrandbits(32)
        yield emit(True, tcp_header(sport, dport, cs, 0, SYN))
        yield emit(False, tcp_header(dport, sport, ss, cs + 1, SYN | ACK))
        cs += 1
        ss += 1
        yield emit(True, tcp_header(sport, dport, cs, ss, ACK))
        if request:
            pkt = emit(True, tcp_header(sport, dport, cs, ss, PSH | ACK) + request)
            self._book(pkt, names_req)
            yield pkt
            cs += len(request)
        if first_reply:
            pkt = emit(False, tcp_header(dport, sport, ss, cs, PSH | ACK) + first_reply)
            self._book(pkt, names_reply)
            yield pkt
            ss += len(first_reply)
        big = FILL[:1380]
        for i in range(down):
            n = 1380 if i < down - 1 else 1 + (i * 37) % 1380
            yield emit(False, tcp_header(dport, sport, ss, cs, ACK) + big[:n])
            ss += n
            if i % 2:
                yield emit(True, tcp_header(sport, dport, cs, ss, ACK))
        for i in range(up):
            n = 700 + (i * 53) % 680
            yield emit(True, tcp_header(sport, dport, cs, ss, PSH | ACK) + big[:n])
            cs += n
            if i % 2:
                yield emit(False, tcp_header(dport, sport, ss, cs, ACK))
        if self.rnd.random() < 0.08:
            yield emit(False, tcp_header(dport, sport, ss, cs, RST | ACK))
            return
        yield emit(True, tcp_header(sport, dport, cs, ss, FIN | ACK))
        yield emit(False, tcp_header(dport, sport, ss, cs + 1, FIN | ACK))
        yield emit(True, tcp_header(sport, dport, cs + 1, ss + 1, ACK))

    def _size(self) -> int:
        """Data segments in a response: mostly a handful, sometimes a download."""
        r = self.rnd.random()
        if r < 0.65:
            return self.rnd.randint(0, 3)
        if r < 0.97:
            return self.rnd.randint(4, 14)
        return self.rnd.randint(40, 200)

    # -- flow kinds

    def flow_tls(self, dev: Device):
        svc = self.pick_service()
        pair = self._addr_pair(dev, svc)
        ch = self.ch_cache.get(svc.qname)
        if ch is None:
            ch = self.ch_cache[svc.qname] = client_hello(svc.qname, self.rnd)
        up = self.rnd.randint(0, 3) if self.rnd.random() < 0.3 else 0
        yield from self._tcp_session(dev, pair, 443, ch, SERVER_HELLO, self._size(), up, [(pair[1], svc.qname, "sni")])

    def flow_http(self, dev: Device):
        svc = self.pick_service()
        pair = self._addr_pair(dev, svc)
        path = f"/asset/{self.rnd.getrandbits(24):x}.bin"
        req = http_request(svc.qname, path)
        yield from self._tcp_session(dev, pair, 80, req, HTTP_RESPONSE, self._size(), 0, [(pair[1], svc.qname, "http")])

    def flow_tcp(self, dev: Device):
        addr = self.other[_pick(self.rnd, self.other_cum)]
        pair = self._addr_pair(dev, addr) or self._addr_pair(dev, self.v4pool[self.rnd.randrange(len(self.v4pool))])
        port = self.rnd.choice([5222, 5228, 993, 8080, 8443, 1883, 22, 3478])
        req = FILL[: self.rnd.randint(40, 300)]
        yield from self._tcp_session(dev, pair, port, req, FILL[:200], self._size() // 2, self.rnd.randint(0, 2))

    def _dns_answers(self, svc: Service, v6: bool) -> tuple[int, list[tuple[str, int, bytes]], list[str]]:
        qtype = 28 if v6 else 1
        addrs = svc.v6 if v6 else svc.v4
        answers: list[tuple[str, int, bytes]] = []
        owner = svc.qname
        if svc.cname:
            answers.append((svc.qname, 5, dns_name(svc.cname)))
            owner = svc.cname
        for a in addrs:
            answers.append((owner, qtype, ipaddress.ip_address(a).packed))
        return qtype, answers, addrs

    def flow_dns(self, dev: Device):
        svc = self.pick_service()
        want6 = bool(svc.v6) and self.rnd.random() < 0.4
        use6 = bool(dev.v6) and self.rnd.random() < 0.3
        resolver = self.rnd.choice(self.resolvers6) if use6 else self.rnd.choice(self.resolvers4)
        local = dev.v6 if use6 else dev.v4
        emit = self._packer(dev, local, resolver, use6, IPPROTO_UDP)
        qtype, answers, addrs = self._dns_answers(svc, want6)
        txid = self.rnd.getrandbits(16)
        sport = self.rnd.randint(1024, 65535)
        q = dns_message(txid, svc.qname, qtype, [], False)
        yield emit(True, udp_header(sport, 53, len(q)) + q)
        a = dns_message(txid, svc.qname, qtype, answers, True)
        pkt = emit(False, udp_header(53, sport, len(a)) + a)
        self._book(pkt, self._dns_names(svc, addrs))
        yield pkt

    def flow_dns_tcp(self, dev: Device):
        svc = self.pick_service()
        qtype, answers, addrs = self._dns_answers(svc, False)
        txid = self.rnd.getrandbits(16)
        q = dns_message(txid, svc.qname, qtype, [], False)
        a = dns_message(txid, svc.qname, qtype, answers, True)
        pair = (dev.v4, self.rnd.choice(self.resolvers4[1:]), False)
        reply = struct.pack("!H", len(a)) + a
        yield from self._tcp_session(dev, pair, 53, struct.pack("!H", len(q)) + q, reply, 0, 0, [], self._dns_names(svc, addrs))

    @staticmethod
    def _dns_names(svc: Service, addrs: list[str]) -> list[tuple[str, str, str]]:
        """An answer names each address by the query name and by the CNAME target."""
        out = [(a, svc.qname, "dns") for a in addrs]
        if svc.cname:
            out += [(a, svc.cname, "dns") for a in addrs]
        return out

    def flow_udp(self, dev: Device):
        r = self.rnd.random()
        if r < 0.6:  # QUIC-like to a service
            svc = self.pick_service()
            pair = self._addr_pair(dev, svc)
            dport = 443
        elif r < 0.7:
            pair = (dev.v4, self.v4pool[self.rnd.randrange(min(40, len(self.v4pool)))], False)
            dport = 123
        else:
            addr = self.other[_pick(self.rnd, self.other_cum)]
            pair = self._addr_pair(dev, addr) or (dev.v4, self.v4pool[0], False)
            dport = self.rnd.choice([3478, 19302, 50000, 4500, 5060])
        local, remote, v6 = pair
        emit = self._packer(dev, local, remote, v6, IPPROTO_UDP)
        sport = self.rnd.randint(1024, 65535)
        n = self.rnd.randint(1, 12) if dport != 123 else 1
        first = FILL[:1200] if dport == 443 else FILL[:48]
        yield emit(True, udp_header(sport, dport, len(first)) + first)
        for i in range(n):
            pl = FILL[: 60 + (i * 211) % 1140]
            yield emit(False, udp_header(dport, sport, len(pl)) + pl)
            if i % 3 == 2:
                yield emit(True, udp_header(sport, dport, 40) + FILL[:40])

    def flow_frag(self, dev: Device):
        """A large UDP datagram each way, fragmented (IPv4 fragments; IPv6 Fragment header on IPv6)."""
        addr = self.other[_pick(self.rnd, self.other_cum)]
        pair = self._addr_pair(dev, addr) or (dev.v4, self.v4pool[1], False)
        local, remote, v6 = pair
        link = self.links[dev.name]
        lb, rb = ipaddress.ip_address(local).packed, ipaddress.ip_address(remote).packed
        et = ETH_IP6 if v6 else ETH_IP4
        sport, dport = self.rnd.randint(1024, 65535), self.rnd.choice([4500, 27015, 9000])
        rem = self.remote.setdefault(remote, [0, 0, 0, 0, 0])
        rem[4] += 1
        iface = link.iface
        for out in (True, False, False, True):
            size = self.rnd.randint(1600, 4200)
            dgram = udp_header(sport if out else dport, dport if out else sport, size) + FILL[:size]
            src, dst = (lb, rb) if out else (rb, lb)
            self.ident += 1
            ident = self.ident
            off = 0
            mtu = 1448 if v6 else 1480
            while off < len(dgram):
                chunk = dgram[off : off + mtu]
                more = off + len(chunk) < len(dgram)
                if v6:
                    fh = struct.pack("!BBHI", IPPROTO_UDP, 0, off | int(more), ident)
                    ip = ip6_header(src, dst, 44, len(chunk) + 8) + fh
                else:
                    ip = ip4_header(src, dst, IPPROTO_UDP, len(chunk), ident, (0x2000 if more else 0) | (off >> 3))
                frame = link.hdr[(out, et)] + ip + chunk
                n = len(frame)
                self.ep_pk[local] += 1
                self.ep_pk[remote] += 1
                self.ep_by[local] += n
                self.ep_by[remote] += n
                rem[0 if out else 1] += 1
                rem[2 if out else 3] += n
                cap = n if iface != 2 or n <= SNAPLEN_TRUNC else SNAPLEN_TRUNC
                yield frame, iface, cap, local if out else remote, remote if out else local, True
                off += len(chunk)

    def flow_mcast(self, dev: Device):
        r = self.rnd.random()
        if r < 0.4:
            dst, dport, pl = "224.0.0.251", 5353, dns_message(0, f"{dev.name}.local", 1, [], False)
        elif r < 0.7:
            dst, dport, pl = "239.255.255.250", 1900, b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n\r\n"
        elif r < 0.85 and dev.v6:
            dst, dport, pl = "ff02::fb", 5353, dns_message(0, f"{dev.name}.local", 28, [], False)
        else:
            dst, dport, pl = "255.255.255.255", 67, FILL[:300]
        v6 = ":" in dst
        local = dev.v6 if v6 else dev.v4
        if dport == 67:
            local = dev.v4
        emit = self._packer(dev, local, dst, v6, IPPROTO_UDP)
        for _ in range(self.rnd.randint(1, 3)):
            yield emit(True, udp_header(dport, dport, len(pl)) + pl)

    def flow_arp(self, dev: Device):
        link = self.links[dev.name]
        body = struct.pack("!HHBBH6s4s6s4s", 1, ETH_IP4, 6, 4, 1, dev.mac, dev.v4b, b"\0" * 6, bytes([192, 168, 1, 1]))
        yield link.hdr[(True, ETH_ARP)] + body, link.iface, 28 + len(link.hdr[(True, ETH_ARP)]), "", "", False


FILL = bytes(range(256)) * 20
SERVER_HELLO = b"\x16\x03\x03\x00\x7a\x02" + FILL[:1300]


def _cum(weights: list[float]) -> list[float]:
    out, t = [], 0.0
    for w in weights:
        t += w
        out.append(t)
    return [x / t for x in out]


def _pick(rnd: random.Random, cum: list[float]) -> int:
    from bisect import bisect_left

    return min(bisect_left(cum, rnd.random()), len(cum) - 1)


# ---------------------------------------------------------------- writers

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z


class PcapWriter:
    def __init__(self, f: BinaryIO, nano: bool):
        self.f, self.nano = f, nano
        f.write(struct.pack("<IHHiIII", 0xA1B23C4D if nano else 0xA1B2C3D4, 2, 4, 0, 0, 262144, LINKTYPE_ETHERNET))
        self.buf: list[bytes] = []
        self.size = 24

    def write(self, t_us: int, frame: bytes, iface: int, cap: int) -> None:
        sec, us = divmod(t_us, 1_000_000)
        n = len(frame)
        rec = struct.pack("<IIII", sec, us * 1000 + (t_us % 7) if self.nano else us, n, n) + frame
        self.buf.append(rec)
        self.size += len(rec)
        if len(self.buf) >= 4096:
            self.flush()

    def flush(self) -> None:
        self.f.write(b"".join(self.buf))
        self.buf.clear()

    def close(self, stats: dict[int, int]) -> None:
        self.flush()


class PcapngWriter:
    def __init__(self, f: BinaryIO):
        self.f = f
        self.buf: list[bytes] = []
        shb = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + _opt(4, b"ipowner bench/gen_capture.py (synthetic)") + _opt(0, b"")
        f.write(_block(0x0A0D0D0A, shb))
        for linktype, snap, name, tsresol in (
            (LINKTYPE_ETHERNET, 262144, b"eth0", None),
            (LINKTYPE_SLL2, 262144, b"any", 9),
            (LINKTYPE_ETHERNET, SNAPLEN_TRUNC, b"mirror0", None),
        ):
            body = struct.pack("<HHI", linktype, 0, snap) + _opt(2, name)
            if tsresol is not None:
                body += _opt(9, bytes([tsresol]))
            f.write(_block(1, body + _opt(0, b"")))
        self.size = f.tell() if f.seekable() else 0

    def write(self, t_us: int, frame: bytes, iface: int, cap: int) -> None:
        # interface 1 counts nanoseconds, the others microseconds
        ts = t_us * 1000 + (t_us % 7) if iface == 1 else t_us
        data = frame if cap == len(frame) else frame[:cap]
        pad = (-cap) & 3
        total = 32 + cap + pad
        rec = struct.pack("<IIIIIII", 6, total, iface, ts >> 32, ts & 0xFFFFFFFF, cap, len(frame)) + data + b"\0" * pad + struct.pack("<I", total)
        self.buf.append(rec)
        if len(self.buf) >= 4096:
            self.flush()

    def flush(self) -> None:
        self.f.write(b"".join(self.buf))
        self.buf.clear()

    def close(self, stats: dict[int, int]) -> None:
        # Interface Statistics Blocks at the end, as capture tools write them.
        for iface in range(3):
            body = struct.pack("<III", iface, 0, 0) + _opt(4, struct.pack("<Q", stats.get(iface, 0))) + _opt(0, b"")
            self.buf.append(_block(5, body))
        self.flush()


def _opt(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + b"\0" * ((-len(value)) & 3)


def _block(btype: int, body: bytes) -> bytes:
    total = 12 + len(body)
    return struct.pack("<II", btype, total) + body + struct.pack("<I", total)


# ---------------------------------------------------------------- main


def generate(out: BinaryIO, packets: int, fmt: str, seed: int, destinations: int, nano: bool = False) -> Gen:
    g = Gen(seed, fmt, destinations)
    rnd = g.rnd
    w: PcapWriter | PcapngWriter = PcapngWriter(out) if fmt == "pcapng" else PcapWriter(out, nano)
    active = [g.new_flow() for _ in range(48)]
    t_us = 0
    n = 0
    per_iface: dict[int, int] = defaultdict(int)
    gaps = [int(rnd.expovariate(1 / 180)) + 1 for _ in range(4093)]  # ~5.5k packets/s of capture time
    randrange = rnd.randrange
    write = w.write
    while n < packets:
        i = randrange(48)
        try:
            frame, iface, cap, _s, _d, _ip = next(active[i])
        except StopIteration:
            active[i] = g.new_flow()
            continue
        t_us += gaps[n % 4093]
        write(T0 * 1_000_000 + t_us, frame, iface, cap)
        per_iface[iface] += 1
        n += 1
    w.close(per_iface)
    g.packets = n  # type: ignore[attr-defined]
    return g


def truth(g: Gen) -> dict:
    devices = {a for d in g.devices for a in (d.v4, d.v6) if a}
    remotes = {}
    for addr, (ps, pr, bs, br, flows) in sorted(g.remote.items()):
        if addr in devices:
            continue
        ip = ipaddress.ip_address(addr)
        scope = (
            "broadcast"
            if addr == "255.255.255.255"
            else "multicast"
            if ip.is_multicast
            else "lan"
            if ip.is_private and not ip.is_global
            else "internet"
        )
        remotes[addr] = {
            "scope": scope,
            "flows": flows,
            "packets_sent": ps,
            "packets_received": pr,
            "bytes_sent": bs,
            "bytes_received": br,
            "hostnames": [{"name": n, "source": s} for n, s in sorted(g.names.get(addr, ()))],
        }
    return {
        "synthetic": True,
        "generator": "bench/gen_capture.py",
        "packets": g.packets,  # type: ignore[attr-defined]
        "flow_kinds": dict(sorted(g.kinds.items())),
        "devices": {d.name: [a for a in (d.v4, d.v6) if a] for d in g.devices},
        "byte_kind": "frame (original length, link header included)",
        "endpoints": {a: {"packets": g.ep_pk[a], "bytes": g.ep_by[a]} for a in sorted(g.ep_pk)},
        "remotes": remotes,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write a deterministic synthetic capture (see the module docstring).")
    ap.add_argument("output", help="capture to write ('-' for stdout)")
    ap.add_argument("--packets", type=int, default=1_000_000)
    ap.add_argument("--format", choices=["pcap", "pcapng"], default="pcapng")
    ap.add_argument("--nanosecond", action="store_true", help="pcap only: nanosecond timestamps")
    ap.add_argument("--seed", type=int, default=20260101)
    ap.add_argument("--destinations", type=int, default=4000, help="size of the public address pool (default 4000)")
    ap.add_argument("--truth", metavar="PATH", help="write the reference truth as JSON ('-' for stdout)")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args(argv)
    t = time.perf_counter()
    if a.output == "-":
        g = generate(sys.stdout.buffer, a.packets, a.format, a.seed, a.destinations, a.nanosecond)
        sys.stdout.flush()
    else:
        with open(a.output, "wb") as f:
            g = generate(f, a.packets, a.format, a.seed, a.destinations, a.nanosecond)
    dt = time.perf_counter() - t
    if a.truth:
        doc = truth(g)
        text = json.dumps(doc, indent=1)
        if a.truth == "-":
            print(text)
        else:
            with open(a.truth, "w") as f:
                f.write(text + "\n")
    if not a.quiet:
        n_remote = sum(1 for r in g.remote if ipaddress.ip_address(r).is_global)
        print(
            f"gen_capture: {g.packets} packets ({a.format}), {sum(g.kinds.values())} flows, "  # type: ignore[attr-defined]
            f"{n_remote} public remotes, {dt:.1f} s",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
