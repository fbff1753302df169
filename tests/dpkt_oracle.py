"""The dpkt oracle: every frame decoded into dpkt objects, then accounted like the frame walkers.

It exists to check the walkers that ship (the C core and capture/frame.py): the differential tests run
all three over every capture in the test data and require identical results. It parses with dpkt, an
independent library, and takes from capture/rules.py only the tables (which link types, families and
extension headers there are); it is several times slower and not part of the product.

It is independent for frames only: records and blocks come from the same pcap and pcapng readers as the
walkers' (capture/formats/), so file structure is checked by crafted files and the mutation fuzz instead.
The IP version is the one the link header names (EtherType, PPP protocol, address family), as the walkers
take it; a packet whose own version nibble disagrees is not IP. Where only the nibble says (raw IP, below
MPLS), the nibble decides.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import dpkt

from ipowner.capture import rules
from ipowner.capture.engine import PROTO_BYTE, Engine
from ipowner.capture.frame import COUNTED, NOT_IP, TRUNCATED, FrameHandler, pcapdroid_app
from ipowner.capture.rules import ExtLength, Framing
from ipowner.capture.traffic import read_traffic
from ipowner.model.traffic import TrafficResult


def oracle_traffic(inputs: Iterable[str | os.PathLike[str]], **kw: Any) -> TrafficResult:
    """``ipowner.traffic()`` with every capture frame read by the dpkt oracle."""
    return read_traffic(inputs, walker=make_dpkt_handler, **kw)


_IP_TYPES = (rules.ETHERTYPE_IPV4, rules.ETHERTYPE_IPV6)
_FAMILIES = rules.AF_INET_VALUES | rules.AF_INET6_VALUES


def _link(frame: bytes, lt: int) -> tuple[bytes | None, bool, int, int]:
    """(IP packet bytes, sent to the Ethernet broadcast address, status, IP version the link header names:
    4 or 6 from an EtherType, PPP protocol or address family; 0 where only the packet's own version nibble
    says, as for raw IP and below MPLS)."""
    try:
        if lt == 1:
            if frame[12:14] in (b"\x88\xa8", b"\x91\x00"):
                frame = frame[:12] + b"\x81\x00" + frame[14:]  # dpkt knows stacked tags only as 802.1Q
            eth = dpkt.ethernet.Ethernet(frame)
            bcast = eth.dst == b"\xff" * 6
            inner = eth.data
            version = 0
            if isinstance(inner, dpkt.pppoe.PPPoE):
                ppp = inner.data
                is_ip = isinstance(ppp, dpkt.ppp.PPP) and ppp.p in (0x0021, 0x0057)
                version = 4 if is_ip and ppp.p == 0x0021 else 6
            elif getattr(eth, "mpls_labels", None):
                is_ip = True
            else:
                tags = getattr(eth, "vlan_tags", None)
                etype = tags[-1].type if tags else eth.type  # the EtherType after the last tag
                is_ip = etype in _IP_TYPES
                version = 4 if etype == rules.ETHERTYPE_IPV4 else 6
            if not is_ip:
                return None, bcast, NOT_IP, 0
            raw = _raw_ip(frame, eth)
            return raw, bcast, COUNTED if raw else TRUNCATED, version
        link = rules.LINK_TYPES.get(lt)
        if link is None:
            return None, False, NOT_IP, 0
        if link.framing is Framing.RAW:
            return frame, False, COUNTED if frame else TRUNCATED, 0
        if link.name in ("linux-sll", "linux-sll2"):
            sll2 = link.name == "linux-sll2"
            ethtype = dpkt.sll2.SLL2(frame).ethtype if sll2 else dpkt.sll.SLL(frame).ethtype
            if ethtype not in _IP_TYPES:
                return None, False, NOT_IP, 0
            return frame[20 if sll2 else 16 :], False, COUNTED, 4 if ethtype == rules.ETHERTYPE_IPV4 else 6
        if link.framing is Framing.FAMILY:
            if len(frame) < 4:
                return None, False, TRUNCATED, 0
            fam = max(frame[0], frame[3])
            if fam not in _FAMILIES:
                return None, False, NOT_IP, 0
            return frame[4:], False, COUNTED, 4 if fam in rules.AF_INET_VALUES else 6
    except (dpkt.NeedData, dpkt.UnpackError):
        return None, False, TRUNCATED, 0
    return None, False, NOT_IP, 0


def _raw_ip(frame: bytes, eth: dpkt.ethernet.Ethernet) -> bytes | None:
    """The IP packet inside an Ethernet frame, after VLAN, PPPoE and MPLS headers as dpkt decoded them."""
    hdr = 14 + 4 * len(getattr(eth, "vlan_tags", []) or [])
    if getattr(eth, "mpls_labels", None):
        hdr += 4 * len(eth.mpls_labels)
    if isinstance(eth.data, dpkt.pppoe.PPPoE):
        hdr += 8
    return frame[hdr:] if len(frame) > hdr else None


def make_dpkt_handler(engine: Engine) -> FrameHandler:
    tcp, udp, other = engine.tcp, engine.udp, engine.other
    state = engine.counter
    sweep_mask = engine.sweep_mask

    def handle(buf: bytes, off: int, incl: int, orig: int, ts: float, lt: int) -> int:
        state[0] += 1
        if not state[0] & sweep_mask:
            engine.sweep(ts)
        frame = buf[off : off + incl]
        raw, bcast, status, named = _link(frame, lt)
        if raw is None:
            return status
        nibble = raw[0] >> 4 if raw else 0
        version = named or nibble  # the link header decides; the packet's own nibble must then agree
        frag_off, more, fid = 0, False, b""
        try:
            if version == 4:
                if len(raw) < 20:
                    return TRUNCATED
                if nibble != 4:
                    return NOT_IP
                ip = dpkt.ip.IP(raw)
                if ip.hl < 5:
                    return NOT_IP
                if ip.len == 0:
                    ip_len = len(raw)
                elif ip.len < ip.hl * 4:
                    return NOT_IP
                else:
                    ip_len = ip.len
                addrs = ip.src + ip.dst
                proto = ip.p
                l4 = raw[ip.hl * 4 : ip_len]
                if ip.mf or ip.offset:
                    frag_off, more = ip.offset << 3, bool(ip.mf)  # dpkt gives 8-byte units
                    fid = addrs + ip.id.to_bytes(2, "big") + PROTO_BYTE[proto]
            elif version == 6:
                if len(raw) < 40:
                    return TRUNCATED
                if nibble != 6:
                    return NOT_IP
                ip6 = dpkt.ip6.IP6.__new__(dpkt.ip6.IP6)
                dpkt.Packet.unpack(ip6, raw[:40])  # fixed header only: extension headers are walked below
                plen = ip6.plen or len(raw) - 40
                ip_len = 40 + plen
                addrs = ip6.src + ip6.dst
                proto = ip6.nxt
                body = raw[40:ip_len]
                pos = 0
                while proto in rules.IPV6_EXTENSION_HEADERS:
                    if pos + 8 > len(raw) - 40:
                        proto = rules.NO_NEXT_HEADER
                        break
                    kind = rules.IPV6_EXTENSION_HEADERS[proto]
                    if kind is ExtLength.FRAGMENT:
                        fh = dpkt.ip6.IP6FragmentHeader(body[pos : pos + 8])
                        frag_off = fh.frag_off << 3
                        more = bool(fh.m_flag)
                        fid = addrs + fh.id.to_bytes(4, "big") + PROTO_BYTE[fh.nxt]
                        proto = fh.nxt
                        pos += 8
                        if frag_off:
                            break
                    elif kind is ExtLength.AH:
                        proto, pos = body[pos], pos + ((body[pos + 1] + 2) << 2)
                    else:
                        ext = dpkt.ip6.IP6OptsHeader(body[pos:]) if proto != 43 else dpkt.ip6.IP6RoutingHeader(body[pos:])
                        proto, pos = ext.nxt, pos + ext.length
                l4 = body[pos:]
            else:
                return NOT_IP
        except (dpkt.NeedData, dpkt.UnpackError, IndexError):
            return TRUNCATED
        cut = ip_len > len(raw)  # snaplen cut the packet: its payload is not parsed
        half = len(addrs) >> 1
        src, dst = addrs[:half], addrs[half:]
        end = off + incl
        app = pcapdroid_app(buf, end) if lt == 1 and incl >= 46 else None
        if frag_off:
            c = engine.frag_owner_of(fid)
            if c is None:
                t = tcp if proto == 6 else udp if proto == 17 else other
                key = addrs + (b"\0\0\0\0" if t is not other else PROTO_BYTE[proto])
                c = t.get(key)
                if c is None:
                    c = engine.new_flow(t, key, dst + src + key[len(addrs) :], src, dst, proto, 0, 0, 0, ts, bcast,
                                        None)
                if proto == 17 and not cut:
                    engine.fragment(fid, frag_off, more, l4, None)
            elif c.inspect and proto == 17 and not cut:
                whole = engine.fragment(fid, frag_off, more, l4, c)
                if whole is not None and len(whole) > 8:
                    engine.inspect(c, 17, whole[8:])
        elif proto in (6, 17):
            t = tcp if proto == 6 else udp
            seg = None
            try:
                seg = dpkt.tcp.TCP(l4) if proto == 6 else dpkt.udp.UDP(l4)
            except (dpkt.NeedData, dpkt.UnpackError):
                seg = None
            if seg is not None:
                ports = seg.sport.to_bytes(2, "big") + seg.dport.to_bytes(2, "big")
            elif len(l4) >= 4:
                ports = l4[:4]
            else:
                ports = b"\0\0\0\0"
            key = addrs + ports
            c = t.get(key)
            if c is None:
                flags = seg.flags if proto == 6 and seg is not None else (l4[13] if proto == 6 and len(l4) >= 14 else 0)
                sport = int.from_bytes(ports[:2], "big")
                dport = int.from_bytes(ports[2:], "big")
                c = engine.new_flow(t, key, dst + src + ports[2:] + ports[:2], src, dst, proto, sport, dport, flags,
                                    ts, bcast, app)
            if more:
                engine.frag_owner[fid] = c
            if c.inspect:
                if proto == 6:
                    if seg is not None and seg.data and not more:
                        engine.inspect(c, 6, bytes(seg.data), seg.seq)
                    elif seg is None and len(l4) >= 20 and not more:
                        hl = (l4[12] >> 4) << 2
                        if hl < len(l4):
                            engine.inspect(c, 6, l4[hl:], int.from_bytes(l4[4:8], "big"))
                elif len(l4) >= 8 and not cut:  # a DNS answer cut short is not malformed, only unread
                    if more:
                        whole = engine.fragment(fid, 0, True, l4, c)
                        if whole is not None and len(whole) > 8:
                            engine.inspect(c, 17, whole[8:])
                    else:
                        ulen = int.from_bytes(l4[4:6], "big")
                        data = l4[8:ulen] if 8 <= ulen < len(l4) else l4[8:]
                        if data:
                            engine.inspect(c, 17, data)
            if proto == 6 and len(l4) >= 14 and l4[13] & 5 and not c.flow.fin:
                engine.mark_finished(c.flow)
        else:
            key = addrs + PROTO_BYTE[proto]
            c = other.get(key)
            if c is None:
                icmp_type = l4[0] if proto in (1, 58) and l4 else 0
                c = engine.new_flow(other, key, dst + src + PROTO_BYTE[proto], src, dst, proto, icmp_type, 0, 0, ts,
                                    bcast, None)
            if more:
                engine.frag_owner[fid] = c
        c.packets += 1
        c.frame_bytes += orig
        c.ip_bytes += ip_len
        c.last_ts = ts
        b = ts // engine.bucket
        if b == c.bucket:
            c.bucket_bytes += orig
        else:
            if c.bucket_bytes:
                f = c.flow
                if f.timeline is None:
                    f.timeline = {}
                f.timeline.setdefault(c.bucket, [0, 0])[0 if c is f.a else 1] += c.bucket_bytes
            c.bucket = b
            c.bucket_bytes = orig
        return COUNTED

    return handle
