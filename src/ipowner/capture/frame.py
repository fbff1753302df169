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

from ipowner.capture import rules
from ipowner.capture.engine import PROTO_BYTE, Direction, Engine
from ipowner.capture.rules import Framing

# handle() results
COUNTED, NOT_IP, TRUNCATED = 0, 1, 2

FrameHandler = Callable[[bytes, int, int, int, float, int], int]  # (buf, offset, captured, original, ts, linktype)
WalkerFactory = Callable[[Engine], FrameHandler]  # an engine -> its frame handler (make_handler, or a test's)


def pcapdroid_app(buf: bytes, end: int) -> str | None:
    """App name (or uid) from a PCAPdroid trailer at the end of an Ethernet frame, if there is one."""
    t = end - rules.PCAPDROID_TRAILER
    if buf[t : t + 4] != rules.PCAPDROID_MAGIC:
        return None
    uid = int.from_bytes(buf[t + 4 : t + 8], "big", signed=True)
    name = buf[t + 8 : t + 28].split(b"\0", 1)[0].decode("utf-8", "replace")
    return name or f"uid:{uid}"


_NOT_EXT: Final = 0


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
    # the rules, read once per handler (the tests change some in a fresh process)
    links = {lt: (t.framing, t.header, t.type_at) for lt, t in rules.LINK_TYPES.items()}
    ethernet, raw, cooked = Framing.ETHERNET, Framing.RAW, Framing.COOKED
    ipv4, ipv6 = rules.ETHERTYPE_IPV4, rules.ETHERTYPE_IPV6
    vlan, vlan_len = rules.VLAN_TAGS, rules.VLAN_TAG_LENGTH
    pppoe, pppoe_len, ppp4, ppp6 = rules.PPPOE_SESSION, rules.PPPOE_HEADER, rules.PPP_IPV4, rules.PPP_IPV6
    mpls, mpls_len = rules.MPLS, rules.MPLS_LABEL_LENGTH
    af4, af6 = rules.AF_INET_VALUES, rules.AF_INET6_VALUES
    bcast = rules.ETHERNET_BROADCAST
    trailer_from = rules.PCAPDROID_MIN_FRAME
    v6_ext = [rules.IPV6_EXTENSION_HEADERS.get(n, _NOT_EXT) for n in range(256)]
    v6_frag, v6_ah = rules.ExtLength.FRAGMENT, rules.ExtLength.AH
    no_next = rules.NO_NEXT_HEADER
    TCP, UDP = rules.TCP, rules.UDP
    transports = frozenset({TCP, UDP})  # flows keyed by ports
    icmps = frozenset({rules.ICMP, rules.ICMPV6})  # flows opened by an ICMP type
    tcp_ends = rules.TCP_FIN | rules.TCP_RST

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
        link = links.get(lt)
        if link is None:
            return NOT_IP
        framing, hdr, type_at = link
        if framing is ethernet:
            if incl < hdr:
                return TRUNCATED
            p = off + hdr
            et = (buf[off + type_at] << 8) | buf[off + type_at + 1]
            while et in vlan:
                if p + vlan_len > end:
                    return TRUNCATED
                et = (buf[p + 2] << 8) | buf[p + 3]  # after the tag control field
                p += vlan_len
            if et == ipv4:
                ver = 4
            elif et == ipv6:
                ver = 6
            elif et == pppoe:  # PPPoE session header, then the PPP protocol
                if p + pppoe_len + 2 > end:
                    return TRUNCATED
                pp = (buf[p + pppoe_len] << 8) | buf[p + pppoe_len + 1]
                p += pppoe_len + 2
                ver = 4 if pp == ppp4 else 6 if pp == ppp6 else 0
            elif et in mpls:  # skip labels to the bottom of the stack
                while p + mpls_len <= end and not buf[p + 2] & 1:
                    p += mpls_len
                p += mpls_len
                if p >= end:
                    return TRUNCATED
                ver = buf[p] >> 4
            else:
                return NOT_IP
        elif framing is raw:
            p = off + hdr
            if incl < hdr + 1:
                return TRUNCATED
            ver = buf[p] >> 4
        elif framing is cooked:
            if incl < hdr:
                return TRUNCATED
            et = (buf[off + type_at] << 8) | buf[off + type_at + 1]
            p = off + hdr
            ver = 4 if et == ipv4 else 6 if et == ipv6 else 0
        else:  # the address family, in host order: the larger of its first and last byte
            if incl < hdr:
                return TRUNCATED
            p = off + hdr
            fv = max(buf[off], buf[off + 3])
            ver = 4 if fv in af4 else 6 if fv in af6 else 0
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
            ext = v6_ext[proto]
            while ext:
                if l4 + 8 > end:
                    proto = no_next
                    break
                if ext is v6_frag:
                    fo = (buf[l4 + 2] << 8) | buf[l4 + 3]
                    frag_off = fo & 0xFFF8
                    more = bool(fo & 1)
                    fid = buf[ab:ae] + buf[l4 + 4 : l4 + 8] + PROTO_BYTE[buf[l4]]
                    proto = buf[l4]
                    l4 += 8
                    if frag_off:
                        break
                elif ext is v6_ah:
                    proto, l4 = buf[l4], l4 + ((buf[l4 + 1] + 2) << 2)
                else:
                    proto, l4 = buf[l4], l4 + ((buf[l4 + 1] + 1) << 3)
                ext = v6_ext[proto]
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
                                 framing is ethernet and buf[off : off + 6] == bcast, None)
                if proto == UDP and not cut:  # kept in case the first fragment (with the ports) comes later
                    engine.fragment(fid, frag_off, more, buf[l4:ip_end], None)
            elif c.inspect and proto == UDP and not cut:
                whole = engine.fragment(fid, frag_off, more, buf[l4:ip_end], c)
                if whole is not None and len(whole) > 8:
                    inspect(c, UDP, whole[8:])
        elif proto in transports:
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
                             framing is ethernet and buf[off : off + 6] == bcast,
                             pcapdroid_app(buf, end) if framing is ethernet and incl >= trailer_from else None)
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
            if proto == TCP and l4 + 14 <= end and buf[l4 + 13] & tcp_ends and not c.flow.fin:
                engine.mark_finished(c.flow)
        else:
            addrs = buf[ab:ae]
            key = addrs + PROTO_BYTE[proto]
            c = other.get(key)
            if c is None:
                half = (ae - ab) >> 1
                src, dst = addrs[:half], addrs[half:]
                icmp_type = buf[l4] if proto in icmps and l4 < end else 0
                c = new_flow(other, key, dst + src + PROTO_BYTE[proto], src, dst, proto, icmp_type, 0, 0, ts,
                             framing is ethernet and buf[off : off + 6] == bcast, None)
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
