"""The per-frame walker: one function per frame that reads fixed offsets from the raw bytes.

This is the readable specification of frame walking; the C core (``_core.c``) follows it step by step
and the differential tests require identical results. No packet object is built. Link layer, IP header
(with IPv6 extension headers and fragments) and the ports are read by offset; the flow's direction is
found with one dict lookup on a key made of raw address and port bytes. Only payloads of flows still
being inspected (DNS, the first client segments, QUIC Initials, a TLS <= 1.2 server flight) are handed
to the engine's parsers. Every number it decides by is a rule in ``rules.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from ipowner.capture.engine import PROTO_BYTE, Direction, Engine
from ipowner.capture.rules import (
    AF_INET6_VALUES,
    AF_INET_VALUES,
    CISCO_METADATA,
    CISCO_METADATA_HEADER,
    ERSPAN_II_HEADER,
    ERSPAN_III_HEADER,
    ERSPAN_III_SUBHEADER,
    ETHERNET_BROADCAST,
    ETHERTYPE_IPV4,
    ETHERTYPE_IPV6,
    GENEVE_HEADER,
    GRE,
    GRE_ERSPAN_II,
    GRE_ERSPAN_III,
    GRE_PPP,
    GRE_TEB,
    GRE_VERSIONS,
    GRE_WLAN,
    GTP_G_PDU,
    GTP_HEADER,
    ICMP,
    ICMPV6,
    IP_IN_IP,
    IPV6_EXTENSION_HEADERS,
    L2TP_VERSION,
    LINK_TYPES,
    LLC_SNAP,
    LLC_SNAP_HEADER,
    MPLS,
    MPLS_LABEL_LENGTH,
    NFLOG_PAYLOAD,
    NFLOG_TLV_ALIGN,
    NO_NEXT_HEADER,
    PCAPDROID_MAGIC,
    PCAPDROID_MIN_FRAME,
    PCAPDROID_TRAILER,
    PPP_ADDRESS_CONTROL,
    PPP_IPV4,
    PPP_IPV6,
    PPPOE_HEADER,
    PPPOE_SESSION,
    TCP,
    TCP_FIN,
    TCP_RST,
    TEREDO_AUTH,
    TEREDO_ORIGIN,
    TUNNEL_DEPTH,
    TUNNEL_PORTS,
    UDP,
    VLAN_TAG_LENGTH,
    VLAN_TAGS,
    VXLAN_HEADER,
    WLAN_DATA,
    WLAN_FOUR_ADDRESS,
    WLAN_HEADER,
    WLAN_HT_CONTROL,
    WLAN_PROTECTED,
    WLAN_QOS_CONTROL,
    ExtLength,
    Framing,
    Tunnel,
)

# handle() results
COUNTED, NOT_IP, TRUNCATED = 0, 1, 2

FrameHandler = Callable[[bytes, int, int, int, float, int], int]  # (buf, offset, captured, original, ts, linktype)
WalkerFactory = Callable[[Engine], FrameHandler]  # an engine -> its frame handler (make_handler, or a test's)

# The rules in the shapes the loop reads them in (module globals: a closure's cells are copied at every call).
_LINKS: Final = {lt: (t.framing, t.header, t.type_at) for lt, t in LINK_TYPES.items()}
_ETHERNET, _RAW, _COOKED, _FAMILY = Framing.ETHERNET, Framing.RAW, Framing.COOKED, Framing.FAMILY
_PPP, _WLAN, _RADIOTAP, _NFLOG, _PKTAP = Framing.PPP, Framing.WLAN, Framing.RADIOTAP, Framing.NFLOG, Framing.PKTAP
_TUNNEL_PROTOS: Final = IP_IN_IP | {GRE}
_TUNNEL_PORTS: Final = {port: int(t) for port, t in TUNNEL_PORTS.items()}
_VXLAN, _GENEVE, _GTP_U, _TEREDO, _L2TP = (int(t) for t in (Tunnel.VXLAN, Tunnel.GENEVE, Tunnel.GTP_U, Tunnel.TEREDO,
                                                             Tunnel.L2TP))
_GRE, _ERSPAN, _IP_IN_IP = int(Tunnel.GRE), int(Tunnel.ERSPAN), int(Tunnel.IP_IN_IP)
_V6_EXT: Final = [IPV6_EXTENSION_HEADERS.get(n, 0) for n in range(256)]  # next header -> ExtLength, or 0
_V6_FRAGMENT, _V6_AH = ExtLength.FRAGMENT, ExtLength.AH
_TRANSPORTS: Final = frozenset({TCP, UDP})  # flows keyed by ports
_ICMPS: Final = frozenset({ICMP, ICMPV6})  # flows opened by an ICMP type
_TCP_ENDS: Final = TCP_FIN | TCP_RST


def pcapdroid_app(buf: bytes, end: int) -> str | None:
    """App name (or uid) from a PCAPdroid trailer at the end of an Ethernet frame, if there is one."""
    t = end - PCAPDROID_TRAILER
    if buf[t : t + 4] != PCAPDROID_MAGIC:
        return None
    uid = int.from_bytes(buf[t + 4 : t + 8], "big", signed=True)
    name = buf[t + 8 : t + 28].split(b"\0", 1)[0].decode("utf-8", "replace")
    return name or f"uid:{uid}"


def after_ethertype(buf: bytes, p: int, end: int, et: int) -> tuple[int, int]:
    """Where the IP header starts after an EtherType ``et`` whose next byte is ``p``, and its version, past
    VLAN tags, a PPPoE session header or an MPLS label stack (version 0: not IP; -1: cut short)."""
    while et in VLAN_TAGS:
        if p + VLAN_TAG_LENGTH > end:
            return p, -1
        et = (buf[p + 2] << 8) | buf[p + 3]  # after the tag control field
        p += VLAN_TAG_LENGTH
    if et == CISCO_METADATA:
        if p + CISCO_METADATA_HEADER > end:
            return p, -1
        et = (buf[p + CISCO_METADATA_HEADER - 2] << 8) | buf[p + CISCO_METADATA_HEADER - 1]
        p += CISCO_METADATA_HEADER
    if et == ETHERTYPE_IPV4:
        return p, 4
    if et == ETHERTYPE_IPV6:
        return p, 6
    if et == PPPOE_SESSION:  # PPPoE session header, then the PPP protocol
        if p + PPPOE_HEADER + 2 > end:
            return p, -1
        pp = (buf[p + PPPOE_HEADER] << 8) | buf[p + PPPOE_HEADER + 1]
        return p + PPPOE_HEADER + 2, 4 if pp == PPP_IPV4 else 6 if pp == PPP_IPV6 else 0
    if et in MPLS:  # skip labels to the bottom of the stack
        while p + MPLS_LABEL_LENGTH <= end and not buf[p + 2] & 1:
            p += MPLS_LABEL_LENGTH
        p += MPLS_LABEL_LENGTH
        if p >= end:
            return p, -1
        return p, buf[p] >> 4
    return p, 0


def after_ethernet(buf: bytes, p: int, end: int) -> tuple[int, int]:
    """``after_ethertype`` for an Ethernet frame starting at ``p``."""
    if p + 14 > end:
        return p, -1
    return after_ethertype(buf, p + 14, end, (buf[p + 12] << 8) | buf[p + 13])


def after_ppp(buf: bytes, p: int, end: int) -> tuple[int, int]:
    """``after_ethertype`` for a PPP frame at ``p``: address and control bytes if there, then a protocol of
    one byte (compressed: an odd first byte) or two."""
    if p + 2 <= end and buf[p : p + 2] == PPP_ADDRESS_CONTROL:
        p += 2
    if p >= end:
        return p, -1
    if buf[p] & 1:
        return p + 1, 4 if buf[p] == PPP_IPV4 else 6 if buf[p] == PPP_IPV6 else 0
    if p + 2 > end:
        return p, -1
    pp = (buf[p] << 8) | buf[p + 1]
    return p + 2, 4 if pp == PPP_IPV4 else 6 if pp == PPP_IPV6 else 0


def after_wlan(buf: bytes, p: int, end: int) -> tuple[int, int]:
    """``after_ethertype`` for an 802.11 frame at ``p``: data frames with a body, then LLC/SNAP. A protected
    (encrypted) body is not read: version 0."""
    if p + WLAN_HEADER > end:
        return p, -1
    fc0, fc1 = buf[p], buf[p + 1]
    if (fc0 >> 2) & 3 != WLAN_DATA or fc0 & 0x40 or fc1 & WLAN_PROTECTED:  # not data, no body, or encrypted
        return p, 0
    q = p + WLAN_HEADER
    if fc1 & 3 == 3:
        q += WLAN_FOUR_ADDRESS
    if fc0 & 0x80:  # a QoS data subtype
        q += WLAN_QOS_CONTROL
        if fc1 & 0x80:  # the order flag of a QoS frame: an HT control field
            q += WLAN_HT_CONTROL
    if q + LLC_SNAP_HEADER > end:
        return p, -1
    if buf[q : q + 3] != LLC_SNAP:
        return p, 0
    return after_ethertype(buf, q + LLC_SNAP_HEADER, end, (buf[q + 6] << 8) | buf[q + 7])


def open_gre(buf: bytes, q: int, end: int) -> tuple[int, int, int]:
    """(tunnel, where the inner IP header starts, its version) of a GRE packet whose header starts at ``q``:
    version 0 when GRE holds what is not read here, -1 when cut short."""
    if q + 4 > end:
        return _GRE, q, -1
    f0, f1 = buf[q], buf[q + 1]
    if f1 & 7 not in GRE_VERSIONS or f0 & 0x40:  # unknown version, or source routing
        return _GRE, q, 0
    pt = (buf[q + 2] << 8) | buf[q + 3]
    h = q + 4 + (4 if f0 & 0x80 else 0) + (4 if f0 & 0x20 else 0) + (4 if f0 & 0x10 else 0)
    if f1 & 0x80:  # enhanced GRE: an acknowledgment number
        h += 4
    if h > end:
        return _GRE, q, -1
    if pt in (ETHERTYPE_IPV4, ETHERTYPE_IPV6):
        return _GRE, h, 4 if pt == ETHERTYPE_IPV4 else 6
    if pt == GRE_TEB:
        p, ver = after_ethernet(buf, h, end)
        return _GRE, p, ver
    if pt == GRE_ERSPAN_II:
        if f0 & 0x10:  # type II; type I has no sequence number and no header of its own
            h += ERSPAN_II_HEADER
        p, ver = after_ethernet(buf, h, end)
        return _ERSPAN, p, ver
    if pt == GRE_ERSPAN_III:
        if h + ERSPAN_III_HEADER > end:
            return _ERSPAN, h, -1
        if (buf[h + 10] >> 2) & 0x1F:  # its frame type: 0 is Ethernet
            return _ERSPAN, h, 0
        sub = ERSPAN_III_SUBHEADER if buf[h + 11] & 1 else 0
        p, ver = after_ethernet(buf, h + ERSPAN_III_HEADER + sub, end)
        return _ERSPAN, p, ver
    if pt in GRE_WLAN:
        p, ver = after_wlan(buf, h, end)
        return _GRE, p, ver
    if pt == GRE_PPP:
        if h >= end:
            return _GRE, h, -1
        p, ver = after_ppp(buf, h, end)
        return _GRE, p, ver
    p, ver = after_ethertype(buf, h, end, pt)  # MPLS, VLAN tags...
    return _GRE, p, ver


def open_udp(buf: bytes, u: int, end: int, kind: int) -> tuple[int, int]:
    """(where the inner IP header starts, its version) of a UDP tunnel ``kind`` whose payload starts at ``u``;
    version 0 when the payload is not that tunnel's, -1 when cut short."""
    if kind == _VXLAN:
        if u + VXLAN_HEADER > end or not buf[u] & 0x08:  # the VNI-valid flag
            return u, 0
        return after_ethernet(buf, u + VXLAN_HEADER, end)
    if kind == _GENEVE:
        if u + GENEVE_HEADER > end or buf[u] >> 6:  # version 0 only
            return u, 0
        h = u + GENEVE_HEADER + ((buf[u] & 0x3F) << 2)
        pt = (buf[u + 2] << 8) | buf[u + 3]
        if pt == GRE_TEB:
            return after_ethernet(buf, h, end)
        return after_ethertype(buf, h, end, pt)
    if kind == _GTP_U:
        if u + GTP_HEADER > end or buf[u] >> 4 != 3 or buf[u + 1] != GTP_G_PDU:  # version 1, protocol type GTP
            return u, 0
        h = u + GTP_HEADER
        if buf[u] & 7:  # sequence number, N-PDU number, next extension header type
            h += 4
            if h > end:
                return u, -1
            nxt = buf[h - 1]
            while nxt:  # extension headers: length in 4-byte units, the next type in the last byte
                if h >= end or not buf[h]:
                    return u, -1 if h >= end else 0
                h += buf[h] << 2
                if h > end:
                    return u, -1
                nxt = buf[h - 1]
        if h >= end:
            return u, -1
        ver = buf[h] >> 4
        return h, ver if ver in (4, 6) else 0
    if kind == _TEREDO:
        h = u
        if h + 2 <= end and buf[h] == 0 and buf[h + 1] == 1:  # authentication indicator
            if h + 4 > end:
                return u, -1
            h += TEREDO_AUTH + buf[h + 2] + buf[h + 3]
        if h + 2 <= end and buf[h] == 0 and buf[h + 1] == 0:  # origin indication
            h += TEREDO_ORIGIN
        if h + 40 > end or buf[h] >> 4 != 6 or h + 40 + ((buf[h + 4] << 8) | buf[h + 5]) > end:
            return u, 0
        return h, 6
    # L2TP version 2: data messages only (the type bit clear), then a PPP frame
    if u + 6 > end:
        return u, 0
    f0, f1 = buf[u], buf[u + 1]
    if f0 & 0x80 or f1 & 0x0F != L2TP_VERSION:
        return u, 0
    h = u + 2 + (2 if f0 & 0x40 else 0) + 4 + (4 if f0 & 0x08 else 0)
    if f0 & 0x02:  # an offset size, then that many bytes
        if h + 2 > end:
            return u, -1
        h += 2 + ((buf[h] << 8) | buf[h + 1])
    if h >= end:
        return u, -1
    return after_ppp(buf, h, end)


def make_handler(engine: Engine) -> FrameHandler:
    """A frame handler bound to ``engine``: handle(buf, offset, captured_len, orig_len, ts, linktype)."""
    tcp, udp, other = engine.tcp, engine.udp, engine.other
    new_flow = engine.new_flow
    inspect = engine.inspect
    bucket = engine.bucket
    frag_owner = engine.frag_owner
    frag_owner_of = engine.frag_owner_of
    state = engine.counter  # frames handled so far
    sweep_mask = engine.sweep_mask

    def roll(c: Direction, b: float, orig: int) -> None:
        # the direction moved to a new time bucket: park the finished one on the flow
        if c.bucket_bytes:
            f = c.flow
            if f.timeline is None:
                f.timeline = {}
            f.timeline.setdefault(c.bucket, [0, 0])[0 if c is f.a else 1] += c.bucket_bytes
        c.bucket = b
        c.bucket_bytes = orig

    def handle(buf: bytes, off: int, incl: int, orig: int, ts: float, lt: int) -> int:
        end = off + incl
        state[0] += 1
        if not state[0] & sweep_mask:
            engine.sweep(ts)
        # ---- link layer: p is where the IP header starts, ver its version (0: not IP)
        link = _LINKS.get(lt)
        if link is None:
            return NOT_IP
        framing, hdr, type_at = link
        if framing is _PKTAP:  # a header of its own length, then a frame of the link type it names
            if incl < hdr:
                return TRUNCATED
            plen = int.from_bytes(buf[off : off + 4], "little")
            link = _LINKS.get(int.from_bytes(buf[off + 4 : off + 8], "little"))
            if link is None or link[0] is _PKTAP or plen < hdr:
                return NOT_IP
            if plen > incl:
                return TRUNCATED
            off += plen
            incl -= plen
            framing, hdr, type_at = link
        if framing is _ETHERNET:
            if incl < hdr:
                return TRUNCATED
            p = off + hdr
            et = (buf[off + type_at] << 8) | buf[off + type_at + 1]
            if et == ETHERTYPE_IPV4:
                ver = 4
            elif et == ETHERTYPE_IPV6:
                ver = 6
            else:
                p, ver = after_ethertype(buf, p, end, et)
                if ver < 0:
                    return TRUNCATED
        elif framing is _RAW:
            p = off + hdr
            if incl < hdr + 1:
                return TRUNCATED
            ver = buf[p] >> 4
        elif framing is _COOKED:
            if incl < hdr:
                return TRUNCATED
            et = (buf[off + type_at] << 8) | buf[off + type_at + 1]
            p = off + hdr
            ver = 4 if et == ETHERTYPE_IPV4 else 6 if et == ETHERTYPE_IPV6 else 0
        elif framing is _FAMILY:  # the address family, in host order: the larger of its first and last byte
            if incl < hdr:
                return TRUNCATED
            p = off + hdr
            fv = max(buf[off], buf[off + 3])
            ver = 4 if fv in AF_INET_VALUES else 6 if fv in AF_INET6_VALUES else 0
        else:
            if incl < hdr + 1:
                return TRUNCATED
            if framing is _PPP:
                p, ver = after_ppp(buf, off, end)
            elif framing is _WLAN:
                p, ver = after_wlan(buf, off, end)
            elif framing is _RADIOTAP:
                p, ver = after_wlan(buf, off + (buf[off + 2] | (buf[off + 3] << 8)), end)
            else:  # NFLOG: the packet is the value of one record
                p, ver = off + hdr, 0
                while p + 4 <= end:
                    tlen = buf[p] | (buf[p + 1] << 8)
                    if tlen < 4:
                        break
                    if buf[p + 2] | ((buf[p + 3] & 0x7F) << 8) == NFLOG_PAYLOAD:
                        p += 4
                        ver = buf[p] >> 4 if p < end else -1
                        break
                    p += (tlen + NFLOG_TLV_ALIGN - 1) & -NFLOG_TLV_ALIGN
            if ver < 0:
                return TRUNCATED
        # ---- network layer: ab..ae are the source and destination addresses, l4 the transport header; a
        # tunnel's inner packet is walked again from here, inside its outer IP packet
        depth = 0
        while True:
            frag_off = 0
            more = False
            if ver == 4:
                if p + 20 > end:
                    return TRUNCATED
                vihl = buf[p]
                if vihl == 0x45:
                    l4 = p + 20
                else:
                    ihl = (vihl & 15) << 2
                    if vihl >> 4 != 4 or ihl < 20:
                        return NOT_IP
                    l4 = p + ihl
                tot = (buf[p + 2] << 8) | buf[p + 3]
                if tot == 0:
                    tot = end - p  # segmentation offload: the length field was left zero
                elif tot < l4 - p:
                    return NOT_IP
                iplen = tot
                ip_end = p + tot
                proto = buf[p + 9]
                ab = p + 12
                ae = p + 20
                if buf[p + 6] & 0x3F or buf[p + 7]:  # more-fragments flag or an offset
                    fo = (buf[p + 6] << 8) | buf[p + 7]
                    frag_off = (fo & 0x1FFF) << 3
                    more = bool(fo & 0x2000)
                    fid = buf[ab:ae] + buf[p + 4 : p + 6] + PROTO_BYTE[proto]
            elif ver == 6:
                if p + 40 > end:
                    return TRUNCATED
                if buf[p] >> 4 != 6:
                    return NOT_IP
                plen = (buf[p + 4] << 8) | buf[p + 5]
                if plen == 0:
                    plen = end - p - 40  # jumbogram or offload
                iplen = 40 + plen
                ip_end = p + iplen
                proto = buf[p + 6]
                ab = p + 8
                ae = p + 40
                l4 = ae
                ext = _V6_EXT[proto]
                while ext:
                    if l4 + 8 > end:
                        proto = NO_NEXT_HEADER
                        break
                    if ext is _V6_FRAGMENT:
                        fo = (buf[l4 + 2] << 8) | buf[l4 + 3]
                        frag_off = fo & 0xFFF8
                        more = bool(fo & 1)
                        fid = buf[ab:ae] + buf[l4 + 4 : l4 + 8] + PROTO_BYTE[buf[l4]]
                        proto = buf[l4]
                        l4 += 8
                        if frag_off:
                            break
                    elif ext is _V6_AH:
                        proto, l4 = buf[l4], l4 + ((buf[l4 + 1] + 2) << 2)
                    else:
                        proto, l4 = buf[l4], l4 + ((buf[l4 + 1] + 1) << 3)
                    ext = _V6_EXT[proto]
            else:
                return NOT_IP
            # ---- tunnels: a whole (unfragmented) outer packet holding a packet the walk can read
            if frag_off or more:  # a fragment of a tunnel packet is not opened
                if proto in _TUNNEL_PROTOS:
                    engine.tunnel(_GRE if proto == GRE else _IP_IN_IP, buf[ab:ae], orig, False)
                elif proto == UDP and not frag_off and l4 + 4 <= end:
                    kind = _TUNNEL_PORTS.get((buf[l4 + 2] << 8) | buf[l4 + 3])
                    if kind is None:
                        kind = _TUNNEL_PORTS.get((buf[l4] << 8) | buf[l4 + 1])
                    if kind is not None:
                        engine.tunnel(kind, buf[ab:ae], orig, False)
                break
            if proto == UDP:
                if l4 + 8 > end:
                    break
                kind = _TUNNEL_PORTS.get((buf[l4 + 2] << 8) | buf[l4 + 3])
                if kind is None:
                    kind = _TUNNEL_PORTS.get((buf[l4] << 8) | buf[l4 + 1])
                    if kind is None:
                        break
                inner_end = ip_end if ip_end < end else end
                q, qv = open_udp(buf, l4 + 8, inner_end, kind)
                if not qv:
                    break  # not the tunnel's header: an ordinary datagram
            elif proto in _TUNNEL_PROTOS:
                inner_end = ip_end if ip_end < end else end
                if proto == GRE:
                    kind, q, qv = open_gre(buf, l4, inner_end)
                else:
                    kind, q, qv = _IP_IN_IP, l4, buf[l4] >> 4 if l4 < inner_end else -1
            else:
                break
            if depth == TUNNEL_DEPTH or qv not in (4, 6):
                engine.tunnel(kind, buf[ab:ae], orig, False)
                break
            engine.tunnel(kind, buf[ab:ae], orig, True)
            depth += 1
            p, ver, end = q, qv, inner_end
        cut = ip_end > end
        if cut:
            ip_end = end  # snaplen: the rest was not captured, so the payload is not parsed
        # ---- transport and flow lookup
        if frag_off:
            c = frag_owner_of(fid)
            if c is None:
                # a later fragment whose first one was not seen: counted on a port-less flow
                addrs = buf[ab:ae]
                t = tcp if proto == TCP else udp if proto == UDP else other
                key = addrs + (PROTO_BYTE[proto] if t is other else b"\0\0\0\0")
                c = t.get(key)
                if c is None:
                    half = (ae - ab) >> 1
                    src, dst = addrs[:half], addrs[half:]
                    c = new_flow(t, key, dst + src + key[ae - ab :], src, dst, proto, 0, 0, 0, ts,
                                 not depth and framing is _ETHERNET and buf[off : off + 6] == ETHERNET_BROADCAST, None)
                if proto == UDP and not cut:  # kept in case the first fragment (with the ports) comes later
                    engine.fragment(fid, frag_off, more, buf[l4:ip_end], None)
            elif c.inspect and proto == UDP and not cut:
                whole = engine.fragment(fid, frag_off, more, buf[l4:ip_end], c)
                if whole is not None and len(whole) > 8:
                    inspect(c, UDP, whole[8:])
        elif proto in _TRANSPORTS:
            t = tcp if proto == TCP else udp
            if l4 + 4 <= end:
                # addresses and ports side by side in the header make the key in one slice
                key = buf[ab : l4 + 4] if l4 == ae else buf[ab:ae] + buf[l4 : l4 + 4]
            else:
                key = buf[ab:ae] + b"\0\0\0\0"
            c = t.get(key)
            if c is None:
                half = (ae - ab) >> 1
                src, dst = key[:half], key[half : 2 * half]
                ports = key[-4:]
                sport = (ports[0] << 8) | ports[1]
                dport = (ports[2] << 8) | ports[3]
                flags = buf[l4 + 13] if proto == TCP and l4 + 14 <= end else 0
                c = new_flow(t, key, dst + src + ports[2:] + ports[:2], src, dst, proto, sport, dport, flags, ts,
                             not depth and framing is _ETHERNET and buf[off : off + 6] == ETHERNET_BROADCAST,
                             pcapdroid_app(buf, end) if not depth and framing is _ETHERNET and incl >= PCAPDROID_MIN_FRAME
                             else None)
            if more:
                frag_owner[fid] = c
            if c.inspect:
                if proto == TCP:
                    if l4 + 20 <= ip_end:
                        hl = (buf[l4 + 12] >> 4) << 2
                        if l4 + hl < ip_end and not more:
                            inspect(c, TCP, buf[l4 + hl : ip_end], int.from_bytes(buf[l4 + 4 : l4 + 8], "big"))
                elif l4 + 8 <= ip_end and not cut:  # a DNS answer cut short is not malformed, only unread
                    if more:
                        whole = engine.fragment(fid, 0, True, buf[l4:ip_end], c)
                        if whole is not None and len(whole) > 8:
                            inspect(c, UDP, whole[8:])
                    else:
                        ulen = (buf[l4 + 4] << 8) | buf[l4 + 5]
                        u_end = l4 + ulen if ulen >= 8 and l4 + ulen < ip_end else ip_end
                        if u_end > l4 + 8:
                            inspect(c, UDP, buf[l4 + 8 : u_end])
            if proto == TCP and l4 + 14 <= end and buf[l4 + 13] & _TCP_ENDS and not c.flow.fin:
                engine.mark_finished(c.flow)
        else:
            addrs = buf[ab:ae]
            key = addrs + PROTO_BYTE[proto]
            c = other.get(key)
            if c is None:
                half = (ae - ab) >> 1
                src, dst = addrs[:half], addrs[half:]
                icmp_type = buf[l4] if proto in _ICMPS and l4 < end else 0
                c = new_flow(other, key, dst + src + PROTO_BYTE[proto], src, dst, proto, icmp_type, 0, 0, ts,
                             not depth and framing is _ETHERNET and buf[off : off + 6] == ETHERNET_BROADCAST, None)
            if more:
                frag_owner[fid] = c
        # ---- accounting
        c.packets += 1
        c.frame_bytes += orig
        c.ip_bytes += iplen
        c.last_ts = ts
        b = ts // bucket
        if b == c.bucket:
            c.bucket_bytes += orig
        else:
            roll(c, b, orig)
        return COUNTED

    return handle
