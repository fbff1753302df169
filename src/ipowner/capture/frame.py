"""The fast path: one function per frame that reads fixed offsets from the raw bytes.

No packet object is built. Link layer, IP header (with IPv6 extension headers and fragments) and the
ports are read by offset; the flow's direction counters are found with one dict lookup on a key made
of raw address and port bytes. Only payloads of flows still being inspected (DNS, the first client
segments, QUIC Initials, a TLS <= 1.2 server flight) are handed to real parsers.
"""

from __future__ import annotations

from collections.abc import Callable

from ipowner.capture.engine import (
    BB,
    BK,
    BY,
    FL,
    IB,
    INS,
    LT,
    PK,
    PROTO_BYTE,
    Engine,
)

# Link types (LINKTYPE_* values as written in pcap/pcapng files)
LT_NULL, LT_ETHERNET, LT_RAW_12, LT_RAW_14, LT_RAW, LT_LOOP, LT_SLL, LT_IPV4, LT_IPV6, LT_SLL2 = (
    0, 1, 12, 14, 101, 108, 113, 228, 229, 276)
SUPPORTED_LINKTYPES = frozenset({LT_NULL, LT_ETHERNET, LT_RAW_12, LT_RAW_14, LT_RAW, LT_LOOP, LT_SLL, LT_IPV4,
                                 LT_IPV6, LT_SLL2})
_RAW = frozenset({LT_RAW_12, LT_RAW_14, LT_RAW, LT_IPV4, LT_IPV6})
_VLAN = frozenset({0x8100, 0x88A8, 0x9100})
_V6_EXT = frozenset({0, 43, 60, 135, 139, 140})  # hop-by-hop, routing, dest opts, mobility, HIP, shim6
PCAPDROID_MAGIC = b"\x01\x07\x20\x21"
_FF6 = b"\xff" * 6

# handle() results
COUNTED, NOT_IP, TRUNCATED = 0, 1, 2


def pcapdroid_app(buf: bytes, end: int) -> str | None:
    """App name (or uid) from a PCAPdroid trailer at the end of an Ethernet frame, if there is one."""
    t = end - 32
    if buf[t : t + 4] != PCAPDROID_MAGIC:
        return None
    uid = int.from_bytes(buf[t + 4 : t + 8], "big", signed=True)
    name = buf[t + 8 : t + 28].split(b"\0", 1)[0].decode("utf-8", "replace")
    return name or f"uid:{uid}"


def make_handler(engine: Engine, sweep_mask: int | None = None) -> Callable[[bytes, int, int, int, float, int], int]:
    """A frame handler bound to ``engine``: handle(buf, offset, captured_len, orig_len, ts, linktype).

    ``sweep_mask=-1`` never sweeps: the batch path sweeps itself, at the same frames.
    """
    tcp, udp, other = engine.tcp, engine.udp, engine.other
    new_flow = engine.new_flow
    inspect = engine.inspect
    bucket = engine.bucket
    frag_owner = engine.frag_owner
    frag_owner_of = engine.frag_owner_of
    state = engine.counter  # frames handled so far
    if sweep_mask is None:
        sweep_mask = engine.sweep_mask

    def roll(c: list, b: float, orig: int) -> None:
        # the direction moved to a new time bucket: park the finished one on the flow
        if c[BB]:
            f = c[FL]
            if f.timeline is None:
                f.timeline = {}
            f.timeline.setdefault(c[BK], [0, 0])[0 if c is f.a else 1] += c[BB]
        c[BK] = b
        c[BB] = orig

    def handle(buf: bytes, off: int, incl: int, orig: int, ts: float, lt: int) -> int:
        end = off + incl
        state[0] += 1
        if not state[0] & sweep_mask:
            engine.sweep(ts)
        # ---- link layer
        if lt == 1:
            if incl < 14:
                return TRUNCATED
            p = off + 14
            et = (buf[off + 12] << 8) | buf[off + 13]
            while et in _VLAN:
                if p + 4 > end:
                    return TRUNCATED
                et = (buf[p + 2] << 8) | buf[p + 3]
                p += 4
            if et == 0x0800:
                ver = 4
            elif et == 0x86DD:
                ver = 6
            elif et == 0x8864:  # PPPoE session: 6-byte header, then the PPP protocol
                if p + 8 > end:
                    return TRUNCATED
                pp = (buf[p + 6] << 8) | buf[p + 7]
                p += 8
                ver = 4 if pp == 0x0021 else 6 if pp == 0x0057 else 0
            elif et == 0x8847 or et == 0x8848:  # MPLS: skip labels to the bottom of the stack
                while p + 4 <= end and not buf[p + 2] & 1:
                    p += 4
                p += 4
                if p >= end:
                    return TRUNCATED
                ver = buf[p] >> 4
            else:
                return NOT_IP
        elif lt in _RAW:
            p = off
            if incl < 1:
                return TRUNCATED
            ver = buf[p] >> 4
        elif lt == 113:
            if incl < 16:
                return TRUNCATED
            et = (buf[off + 14] << 8) | buf[off + 15]
            p = off + 16
            ver = 4 if et == 0x0800 else 6 if et == 0x86DD else 0
        elif lt == 276:
            if incl < 20:
                return TRUNCATED
            et = (buf[off] << 8) | buf[off + 1]
            p = off + 20
            ver = 4 if et == 0x0800 else 6 if et == 0x86DD else 0
        elif lt == 0 or lt == 108:
            if incl < 4:
                return TRUNCATED
            p = off + 4
            fam = buf[off : off + 4]
            # AF_INET is 2 everywhere; AF_INET6 is 10, 24, 28 or 30 depending on the OS; NULL is host order
            fv = max(fam[0], fam[3])
            ver = 4 if fv == 2 else 6 if fv in (10, 24, 28, 30) else 0
        else:
            return NOT_IP
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
            while proto in _V6_EXT or proto == 44 or proto == 51:
                if l4 + 8 > end:
                    proto = 59
                    break
                if proto == 44:
                    fo = (buf[l4 + 2] << 8) | buf[l4 + 3]
                    frag_off = fo & 0xFFF8
                    more = bool(fo & 1)
                    fid = buf[ab:ae] + buf[l4 + 4 : l4 + 8] + PROTO_BYTE[buf[l4]]
                    proto = buf[l4]
                    l4 += 8
                    if frag_off:
                        break
                elif proto == 51:
                    proto, l4 = buf[l4], l4 + ((buf[l4 + 1] + 2) << 2)
                else:
                    proto, l4 = buf[l4], l4 + ((buf[l4 + 1] + 1) << 3)
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
                t = tcp if proto == 6 else udp if proto == 17 else other
                key = addrs + (PROTO_BYTE[proto] if t is other else b"\0\0\0\0")
                c = t.get(key)
                if c is None:
                    half = (ae - ab) >> 1
                    src, dst = addrs[:half], addrs[half:]
                    c = new_flow(t, key, dst + src + key[ae - ab :], src, dst, proto, 0, 0, 0, ts,
                                 lt == 1 and buf[off : off + 6] == _FF6, None)
                if proto == 17 and not cut:  # kept in case the first fragment (with the ports) comes later
                    engine.fragment(fid, frag_off, more, buf[l4:ip_end], None)
            elif c[INS] and proto == 17 and not cut:
                whole = engine.fragment(fid, frag_off, more, buf[l4:ip_end], c)
                if whole is not None and len(whole) > 8:
                    inspect(c, 17, whole[8:])
        elif proto == 6 or proto == 17:
            t = tcp if proto == 6 else udp
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
                flags = buf[l4 + 13] if proto == 6 and l4 + 14 <= end else 0
                c = new_flow(t, key, dst + src + ports[2:] + ports[:2], src, dst, proto, sport, dport, flags, ts,
                             lt == 1 and buf[off : off + 6] == _FF6,
                             pcapdroid_app(buf, end) if lt == 1 and incl >= 46 else None)
            if more:
                frag_owner[fid] = c
            if c[INS]:
                if proto == 6:
                    if l4 + 20 <= ip_end:
                        hl = (buf[l4 + 12] >> 4) << 2
                        if l4 + hl < ip_end and not more:
                            inspect(c, 6, buf[l4 + hl : ip_end], int.from_bytes(buf[l4 + 4 : l4 + 8], "big"))
                elif l4 + 8 <= ip_end and not cut:  # a DNS answer cut short is not malformed, only unread
                    if more:
                        whole = engine.fragment(fid, 0, True, buf[l4:ip_end], c)
                        if whole is not None and len(whole) > 8:
                            inspect(c, 17, whole[8:])
                    else:
                        ulen = (buf[l4 + 4] << 8) | buf[l4 + 5]
                        u_end = l4 + ulen if ulen >= 8 and l4 + ulen < ip_end else ip_end
                        if u_end > l4 + 8:
                            inspect(c, 17, buf[l4 + 8 : u_end])
            if proto == 6 and l4 + 14 <= end and buf[l4 + 13] & 5 and not c[FL].fin:
                engine.mark_finished(c[FL])
        else:
            addrs = buf[ab:ae]
            key = addrs + PROTO_BYTE[proto]
            c = other.get(key)
            if c is None:
                half = (ae - ab) >> 1
                src, dst = addrs[:half], addrs[half:]
                icmp_type = buf[l4] if (proto == 1 or proto == 58) and l4 < end else 0
                c = new_flow(other, key, dst + src + PROTO_BYTE[proto], src, dst, proto, icmp_type, 0, 0, ts,
                             lt == 1 and buf[off : off + 6] == _FF6, None)
            if more:
                frag_owner[fid] = c
        # ---- accounting
        c[PK] += 1
        c[BY] += orig
        c[IB] += iplen
        c[LT] = ts
        b = ts // bucket
        if b == c[BK]:
            c[BB] += orig
        else:
            roll(c, b, orig)
        return COUNTED

    return handle

