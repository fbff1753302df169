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
    ETHERNET_BROADCAST,
    ETHERTYPE_IPV4,
    ETHERTYPE_IPV6,
    ICMP,
    ICMPV6,
    IPV6_EXTENSION_HEADERS,
    LINK_TYPES,
    MPLS,
    MPLS_LABEL_LENGTH,
    NO_NEXT_HEADER,
    PCAPDROID_MAGIC,
    PCAPDROID_MIN_FRAME,
    PCAPDROID_TRAILER,
    PPP_IPV4,
    PPP_IPV6,
    PPPOE_HEADER,
    PPPOE_SESSION,
    TCP,
    TCP_FIN,
    TCP_RST,
    UDP,
    VLAN_TAG_LENGTH,
    VLAN_TAGS,
    ExtLength,
    Framing,
)

# handle() results
COUNTED, NOT_IP, TRUNCATED = 0, 1, 2

FrameHandler = Callable[[bytes, int, int, int, float, int], int]  # (buf, offset, captured, original, ts, linktype)
WalkerFactory = Callable[[Engine], FrameHandler]  # an engine -> its frame handler (make_handler, or a test's)

# The rules in the shapes the loop reads them in (module globals: a closure's cells are copied at every call).
_LINKS: Final = {lt: (t.framing, t.header, t.type_at) for lt, t in LINK_TYPES.items()}
_ETHERNET, _RAW, _COOKED = Framing.ETHERNET, Framing.RAW, Framing.COOKED
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
        if framing is _ETHERNET:
            if incl < hdr:
                return TRUNCATED
            p = off + hdr
            et = (buf[off + type_at] << 8) | buf[off + type_at + 1]
            while et in VLAN_TAGS:
                if p + VLAN_TAG_LENGTH > end:
                    return TRUNCATED
                et = (buf[p + 2] << 8) | buf[p + 3]  # after the tag control field
                p += VLAN_TAG_LENGTH
            if et == ETHERTYPE_IPV4:
                ver = 4
            elif et == ETHERTYPE_IPV6:
                ver = 6
            elif et == PPPOE_SESSION:  # PPPoE session header, then the PPP protocol
                if p + PPPOE_HEADER + 2 > end:
                    return TRUNCATED
                pp = (buf[p + PPPOE_HEADER] << 8) | buf[p + PPPOE_HEADER + 1]
                p += PPPOE_HEADER + 2
                ver = 4 if pp == PPP_IPV4 else 6 if pp == PPP_IPV6 else 0
            elif et in MPLS:  # skip labels to the bottom of the stack
                while p + MPLS_LABEL_LENGTH <= end and not buf[p + 2] & 1:
                    p += MPLS_LABEL_LENGTH
                p += MPLS_LABEL_LENGTH
                if p >= end:
                    return TRUNCATED
                ver = buf[p] >> 4
            else:
                return NOT_IP
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
        else:  # the address family, in host order: the larger of its first and last byte
            if incl < hdr:
                return TRUNCATED
            p = off + hdr
            fv = max(buf[off], buf[off + 3])
            ver = 4 if fv in AF_INET_VALUES else 6 if fv in AF_INET6_VALUES else 0
        # ---- network layer: ab..ae are the source and destination addresses, l4 the transport header
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
                                 framing is _ETHERNET and buf[off : off + 6] == ETHERNET_BROADCAST, None)
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
                             framing is _ETHERNET and buf[off : off + 6] == ETHERNET_BROADCAST,
                             pcapdroid_app(buf, end) if framing is _ETHERNET and incl >= PCAPDROID_MIN_FRAME else None)
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
                             framing is _ETHERNET and buf[off : off + 6] == ETHERNET_BROADCAST, None)
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
