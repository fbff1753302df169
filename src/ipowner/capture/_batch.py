"""The batch path: frames are classified many at a time with numpy; only frames that can change flow
state go through the per-frame handler, in their original order.

A frame is "bulk" when all it does is add to its flow direction's counters: TCP or UDP over IPv4
(no options) or IPv6 (at most one hop-by-hop/routing/destination-options header), not a fragment,
not the first frame of a flow unknown so far, and either without payload or in a direction that no
longer inspects payloads (checked in frame order, since payloads change that). Everything else (new
flows, payloads still looked at, fragments, odd link layers) goes through ``make_handler``'s handler
in frame order, and a FIN/RST marks its flow finished at its place in that order, so names, flow
creation, finishing and fragments happen exactly as on the per-frame path; bulk frames are then
added per flow direction. Batches end where the per-frame path would sweep
the flow table, so no flow is folded inside a batch. Sums and time-bucket totals do not depend on the
order frames are added in; a direction's last-seen time does, so it is set from its last frame, and a
direction whose last frame could be followed by a handled frame of the same address pair keeps that
last frame on the handler.
"""

from __future__ import annotations

import numpy as np

from ipowner.capture.engine import BB, BK, BY, FL, IB, INS, LT, PK, Engine
from ipowner.capture.frame import make_handler

_C1 = np.uint64(0x9E3779B97F4A7C15)
_C2 = np.uint64(0xC2B2AE3D27D4EB4F)
_S = np.uint64(31)
_RAW = (12, 14, 101, 228, 229)
MIN_BATCH = 32  # fewer frames than this go through the handler one by one


def _mix(words: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each row (collisions are caught by an exact check, not assumed away)."""
    h = np.zeros(words.shape[0], np.uint64)
    for k in range(words.shape[1]):
        h = (h ^ words[:, k]) * _C1
        h ^= h >> _S
    return h * _C2


def _groups(h: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Group equal hashes: (order, starts, gid, first index) with rows checked equal within each group."""
    order = np.argsort(h, kind="stable")
    hs = h[order]
    brk = np.empty(len(hs), bool)
    brk[0] = True
    np.not_equal(hs[1:], hs[:-1], out=brk[1:])
    starts = np.flatnonzero(brk)
    gid = np.empty(len(h), np.int64)
    gid[order] = np.cumsum(brk) - 1
    first = order[starts]
    if not (rows == rows[first[gid]]).all():
        return None
    return order, starts, gid, first


class Batcher:
    """Feeds batches of frames of one input into ``engine``; see the module docstring."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.handle = make_handler(engine, sweep_mask=-1)
        self.tables = {6: engine.tcp, 17: engine.udp}

    def frames(self, buf: bytes, offs: np.ndarray, incl: np.ndarray, orig: np.ndarray, ts: np.ndarray,
               lt: np.ndarray) -> None:
        """Frames at ``offs`` in ``buf`` (captured and original lengths, times, link types), in capture order."""
        n = len(offs)
        i = 0
        counter = self.engine.counter
        mask = self.engine.sweep_mask
        while i < n:
            # the per-frame path sweeps before the frame that brings the counter to a multiple of 65536
            c0 = counter[0]
            to_sweep = (-c0 - 1) & mask  # frames before the next sweep frame
            j = n if i + to_sweep >= n else i + to_sweep
            if to_sweep == 0:
                j = min(n, i + mask + 1)
            self._batch(buf, offs[i:j], incl[i:j], orig[i:j], ts[i:j], lt[i:j])
            i = j

    def _per_frame(self, buf: bytes, offs: np.ndarray, incl: np.ndarray, orig: np.ndarray, ts: np.ndarray,
                   lt: np.ndarray, c0: int) -> None:
        handle = self.handle
        state = self.engine.counter
        for k, (o, a, b, t, ll) in enumerate(zip(offs.tolist(), incl.tolist(), orig.tolist(), ts.tolist(),
                                               lt.tolist(), strict=True)):
            state[0] = c0 + k
            handle(buf, o, a, b, t, ll)
        state[0] = c0 + len(offs)

    def _batch(self, buf: bytes, offs: np.ndarray, incl: np.ndarray, orig: np.ndarray, ts: np.ndarray,
               lt: np.ndarray) -> None:
        engine = self.engine
        state = engine.counter
        c0 = state[0]
        n = len(offs)
        if not (c0 + 1) & engine.sweep_mask:
            state[0] = c0 + 1
            engine.sweep(float(ts[0]))
            state[0] = c0
        if n < MIN_BATCH:
            self._per_frame(buf, offs, incl, orig, ts, lt, c0)
            return
        u8 = np.frombuffer(buf, np.uint8)
        top = len(u8) - 1
        u16 = _words(buf, ">u2")
        u32 = _words(buf, ">u4")
        u64 = _words(buf, ">u8")

        def g8(idx: np.ndarray) -> np.ndarray:
            return u8[np.minimum(idx, top)].astype(np.int64)

        def g16(idx: np.ndarray) -> np.ndarray:
            return u16[np.minimum(idx, top - 1)].astype(np.int64)

        end = offs + incl
        # ---- link layer: p is where the IP header starts, et its ethertype (0 when unknown)
        eth = lt == 1
        sll = lt == 113
        sll2 = lt == 276
        raw = np.isin(lt, _RAW)
        short = (eth & (incl < 14)) | (sll & (incl < 16)) | (sll2 & (incl < 20)) | (raw & (incl < 1))
        p = offs.copy()
        et = np.zeros(n, np.int64)
        for mask, hdr, at in ((eth, 14, 12), (sll, 16, 14), (sll2, 20, 0)):
            if mask.all():  # one link type: no masking
                p += hdr
                et = g16(offs + at)
            elif mask.any():
                p[mask] += hdr
                et[mask] = g16(offs[mask] + at)
        vlan_cut = np.zeros(n, bool)
        for _ in range(2):
            v = eth & ~short & ((et == 0x8100) | (et == 0x88A8) | (et == 0x9100))
            if not v.any():
                break
            vlan_cut |= v & (p + 4 > end)
            v &= p + 4 <= end
            et[v] = g16(p[v] + 2)
            p[v] += 4
        if raw.any():
            rv = g8(p) >> 4
            et = np.where(raw, np.where(rv == 4, 0x0800, np.where(rv == 6, 0x86DD, 0)), et)
        v4 = (et == 0x0800) & ~short & ~vlan_cut
        v6 = (et == 0x86DD) & ~short & ~vlan_cut
        # frames the handler drops before any flow lookup: cut link headers, not IP, cut IP headers
        eth_other = eth & ~np.isin(et, (0x0800, 0x86DD, 0x8100, 0x88A8, 0x9100, 0x8864, 0x8847, 0x8848))
        not_ip = short | vlan_cut | ((sll | sll2 | raw) & ~v4 & ~v6) | (eth_other & ~short)
        not_ip |= (v4 & (p + 20 > end)) | (v6 & (p + 40 > end))
        loc4 = v4 & (p + 20 <= end)
        loc6 = v6 & (p + 40 <= end)
        # ---- network and transport layers, for the common case
        b0 = g8(p)
        tot = g16(p + 2)
        frag = (g8(p + 6) & 0x3F) | g8(p + 7)
        c4 = loc4 & (b0 == 0x45) & (tot >= 20) & (frag == 0)
        plen = g16(p + 4)
        nh = g8(p + 6)
        ext = np.isin(nh, (0, 43, 60)) & (p + 48 <= end)
        l4_6 = np.where(ext, p + 40 + ((g8(p + 41) + 1) << 3), p + 40)
        pr6 = np.where(ext, g8(p + 40), nh)
        c6 = loc6 & ((b0 >> 4) == 6) & (plen != 0)
        proto = np.where(c4, g8(p + 9), np.where(c6, pr6, -1))
        l4 = np.where(c4, p + 20, l4_6)
        is_tcp = proto == 6
        cls = (c4 | c6) & (is_tcp | (proto == 17)) & (l4 + 4 <= end) & (~is_tcp | (l4 + 14 <= end))
        ip_end = np.where(c4, p + tot, p + 40 + plen)
        cut = ip_end > end
        ipe = np.minimum(ip_end, end)
        iplen = np.where(c4, tot, 40 + plen)
        hl = (g8(l4 + 12) >> 4) << 2
        flags = g8(l4 + 13)
        pay = np.where(is_tcp, (l4 + 20 <= ipe) & (l4 + hl < ipe), (l4 + 8 < ipe) & ~cut)
        finrst = is_tcp & ((flags & 5) != 0)
        loc = loc4 | loc6
        unclass = ~cls & ~not_ip  # handled frame by frame; may touch any flow of its address pair

        # ---- flow keys of the common frames: rows of 64-bit words, both directions
        ci = np.flatnonzero(cls)
        li = np.flatnonzero(loc)
        if len(ci) == 0:
            self._per_frame(buf, offs, incl, orig, ts, lt, c0)
            return
        pl = p[li]
        is6 = v6[li]
        zero = np.uint64(0)
        t64 = top - 7
        t32 = top - 3
        src_hi = np.where(is6, u64[np.minimum(pl + 8, t64)], u32[np.minimum(pl + 12, t32)].astype(np.uint64))
        src_lo = np.where(is6, u64[np.minimum(pl + 16, t64)], zero)
        dst_hi = np.where(is6, u64[np.minimum(pl + 24, t64)], u32[np.minimum(pl + 16, t32)].astype(np.uint64))
        dst_lo = np.where(is6, u64[np.minimum(pl + 32, t64)], zero)
        # address pair, either order: frames handled one by one are matched to directions by it
        hpair = _mix(np.stack([src_hi, src_lo], 1)) + _mix(np.stack([dst_hi, dst_lo], 1))
        pos = np.full(n, -1, np.int64)
        pos[li] = np.arange(len(li))
        cpos = pos[ci]
        l4c = l4[ci]
        ports = u32[np.minimum(l4c, t32)].astype(np.uint64)
        sport = ports >> np.uint64(16)
        dport = ports & np.uint64(0xFFFF)
        pv = (proto[ci].astype(np.uint64) | (v6[ci].astype(np.uint64) << np.uint64(8))) << np.uint64(32)
        sh, sl, dh, dl = src_hi[cpos], src_lo[cpos], dst_hi[cpos], dst_lo[cpos]
        fwd = np.stack([sh, sl, dh, dl, pv | (sport << np.uint64(16)) | dport], 1)
        rev = np.stack([dh, dl, sh, sl, pv | (dport << np.uint64(16)) | sport], 1)
        hf = _mix(fwd)
        hr = _mix(rev)
        dirs = _groups(hf, fwd)
        if dirs is None:
            self._per_frame(buf, offs, incl, orig, ts, lt, c0)
            return
        order, starts, gid, first = dirs
        ng = len(starts)
        last = order[np.r_[starts[1:], len(order)] - 1]  # positions in ci
        # the first frame of each flow (either direction) is the one that creates it if the table
        # does not know it: a direction's first frame, unless its reverse direction started earlier
        hu = hf[first]
        r = np.minimum(np.searchsorted(hu, hr[first]), ng - 1)
        paired = hu[r] == hr[first]
        if not (fwd[first[r[paired]]] == rev[first[paired]]).all():
            self._per_frame(buf, offs, incl, orig, ts, lt, c0)
            return
        opens = ~paired | (first <= first[r])
        cfirst = np.zeros(len(ci), bool)
        cfirst[first[opens]] = True
        # a direction whose last frame may be followed by a handled frame of the same address pair
        ui = np.flatnonzero(unclass)
        force_last = np.zeros(ng, bool)
        if len(ui):
            unknown = unclass & ~loc
            if unknown.any():
                force_last |= ci[last] < np.flatnonzero(unknown)[-1]
            ul = unclass[li]
            if ul.any():
                uh = hpair[ul]
                uidx = li[ul]
                rh, ridx = np.unique(uh[::-1], return_index=True)
                ulast = uidx[::-1][ridx]  # last handled frame per address pair
                gh = hpair[cpos[first]]
                k = np.minimum(np.searchsorted(rh, gh), len(rh) - 1)
                force_last |= (rh[k] == gh) & (ulast[k] > ci[last])
        # ---- kinds: 0 bulk, 1 check (payload, FIN/RST, first of a flow), 2 handler
        kind = np.zeros(len(ci), np.int8)
        kind[pay[ci] | finrst[ci] | cfirst] = 1
        kind[last[force_last]] = 2
        fk = np.zeros(n, np.int8)
        fk[unclass] = 2
        fk[ci] = kind
        sel = np.flatnonzero(fk)
        # group key bytes, as the handler builds them
        tables = self.tables
        fo = ci[first]
        kp = p[fo].tolist()
        kl4 = l4[fo].tolist()
        k6 = v6[fo].tolist()
        kpr = proto[fo].tolist()
        gkeys = []
        gtabs = []
        for pp, q, six, pr in zip(kp, kl4, k6, kpr, strict=True):
            if six:
                gkeys.append(buf[pp + 8 : pp + 44] if q == pp + 40 else buf[pp + 8 : pp + 40] + buf[q : q + 4])
            else:
                gkeys.append(buf[pp + 12 : pp + 24])
            gtabs.append(tables[pr])
        fgid = np.full(n, -1, np.int64)
        fgid[ci] = gid
        handle = self.handle
        mark_finished = engine.mark_finished
        cs: list = [None] * ng  # each direction's counters, once the table has them
        bulk_more: list[int] = []
        for i, k, g, py, fr, o, a, b, t, ll in zip(
            sel.tolist(), fk[sel].tolist(), fgid[sel].tolist(), pay[sel].tolist(), finrst[sel].tolist(),
            offs[sel].tolist(), incl[sel].tolist(), orig[sel].tolist(), ts[sel].tolist(), lt[sel].tolist(),
            strict=True,
        ):
            if k == 1:
                c = cs[g]
                if c is None:
                    c = cs[g] = gtabs[g].get(gkeys[g])
                if c is not None and not (py and c[INS]):
                    if fr and not c[FL].fin:
                        mark_finished(c[FL])  # all the handler would do besides counting
                    bulk_more.append(i)
                    continue
            state[0] = c0 + i
            handle(buf, o, a, b, t, ll)
        state[0] = c0 + n
        # ---- bulk frames, added per flow direction
        bulk = kind == 0
        if bulk_more:
            bulk[pos_in(ci, np.array(bulk_more, np.int64))] = True
        if not bulk.any():
            return
        bi = np.flatnonzero(bulk)  # positions in ci
        bg = gid[bi]
        cnt = np.bincount(bg, minlength=ng)
        so = np.bincount(bg, weights=orig[ci[bi]], minlength=ng)
        si = np.bincount(bg, weights=iplen[ci[bi]], minlength=ng)
        bts = ts[ci[bi]]
        bkt = bts // engine.bucket
        lastb = np.full(ng, -1, np.int64)
        np.maximum.at(lastb, bg, bi)
        bmin = np.full(ng, np.inf)
        bmax = np.full(ng, -np.inf)
        np.minimum.at(bmin, bg, bkt)
        np.maximum.at(bmax, bg, bkt)
        gs = np.flatnonzero(cnt)
        lb = lastb[gs]
        set_lt = lb == last[gs]
        lt_vals = ts[ci[lb]]
        multi = bmin[gs] != bmax[gs]
        for g, nk, sb, sib, setl, tv, mu, bk in zip(
            gs.tolist(), cnt[gs].tolist(), so[gs].tolist(), si[gs].tolist(), set_lt.tolist(), lt_vals.tolist(),
            multi.tolist(), bmin[gs].tolist(), strict=True,
        ):
            c = cs[g] or gtabs[g][gkeys[g]]
            sb = int(sb)
            c[PK] += nk
            c[BY] += sb
            c[IB] += int(sib)
            if setl:
                c[LT] = tv
            if mu:  # the direction crossed a bucket boundary inside the batch
                mine = bg == g
                for t_b, o_b in zip(bkt[mine].tolist(), orig[ci[bi[mine]]].tolist(), strict=True):
                    _add_bucket(c, t_b, o_b)
            else:
                _add_bucket(c, bk, sb)


def _words(buf: bytes, dtype: str) -> np.ndarray:
    """The big-endian word starting at every byte of ``buf`` (overlapping, read-only)."""
    size = np.dtype(dtype).itemsize
    if len(buf) < size:
        return np.zeros(1, dtype)
    base = np.frombuffer(buf, dtype, count=1)
    return np.lib.stride_tricks.as_strided(base, shape=(len(buf) - size + 1,), strides=(1,), writeable=False)


def pos_in(sorted_arr: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Positions of ``values`` in the sorted array that holds them all."""
    return np.searchsorted(sorted_arr, values)


def _add_bucket(c: list, b: float, nbytes: int) -> None:
    # the same totals per time bucket as the handler's running bucket: it parks what it rolls over
    if b == c[BK]:
        c[BB] += nbytes
    elif nbytes:
        f = c[FL]
        if f.timeline is None:
            f.timeline = {}
        f.timeline.setdefault(b, [0, 0])[0 if c is f.a else 1] += nbytes
