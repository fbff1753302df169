"""Zeek logs: conn, dns, ssl, http (and quic), as TSV with a ``#fields`` header or as JSON lines.

Timestamps masked as ``XXXXXXXXXX.XXXXXX`` (as in Zeek's test baselines) are read as unknown.
conn.log ``orig_ip_bytes``/``resp_ip_bytes`` are IP-level and mapped to sent/received by the device side.
"""

from __future__ import annotations

import ipaddress
import json

from ipowner.capture.context import ReadContext
from ipowner.capture.protocols.common import normalise_name

_UNSET = {"-", "(empty)", ""}


def _ts(v: object) -> float | None:
    if not isinstance(v, (int, float, str)):
        return None
    try:
        return float(v)
    except (ValueError, OverflowError):
        return None


def _int(v: object) -> int:
    if not isinstance(v, (int, float, str)):
        return 0
    try:
        return int(v)
    except (ValueError, OverflowError):  # not a number, or an infinite one
        return -1  # out of range: the engine reads it as unknown and says so


def _addr(v: object) -> str | None:
    if not isinstance(v, str) or v in _UNSET:
        return None
    try:
        return ipaddress.ip_address(v.split("%", 1)[0]).compressed
    except ValueError:
        return None


def _kind(path: str | None, rec: dict) -> str | None:
    if path:
        for k in ("conn", "dns", "ssl", "http", "quic"):
            if path == k or path.endswith("_" + k) or path.startswith(k):
                return k
    if "conn_state" in rec or "orig_ip_bytes" in rec:
        return "conn"
    if "query" in rec and "answers" in rec or "qtype_name" in rec:
        return "dns"
    if "method" in rec or "user_agent" in rec:
        return "http"
    if "client_initial_dcid" in rec:
        return "quic"
    if "server_name" in rec:
        return "ssl"
    return None


class _ZeekState:
    def __init__(self, ctx: ReadContext) -> None:
        self.ctx = ctx
        self.bad = 0
        self.first_bad: str | None = None
        self.records = 0
        self.kinds: set[str] = set()

    def bad_line(self, lineno: int, why: str) -> None:
        self.bad += 1
        if self.first_bad is None:
            self.first_bad = f"line {lineno}: {why}"

    def record(self, kind: str | None, rec: dict, lineno: int) -> None:
        eng = self.ctx.engine
        orig = _addr(rec.get("id.orig_h"))
        resp = _addr(rec.get("id.resp_h"))
        if kind is None or orig is None or resp is None:
            self.bad_line(lineno, "not a conn/dns/ssl/http/quic record with addresses")
            return
        self.kinds.add(kind)
        self.records += 1
        given = eng.devices_given
        flip = bool(given) and resp in given and orig not in given
        device, remote = (resp, orig) if flip else (orig, resp)
        rport = _int(rec.get("id.orig_p" if flip else "id.resp_p"))
        ts = _ts(rec.get("ts"))
        proto = str(rec.get("proto") or "").lower()
        if kind == "conn":
            dur = _ts(rec.get("duration"))
            last = ts + dur if ts is not None and dur is not None else ts
            ps, pr = _int(rec.get("orig_pkts")), _int(rec.get("resp_pkts"))
            bs, br = _int(rec.get("orig_ip_bytes")), _int(rec.get("resp_ip_bytes"))
            if flip:
                ps, pr, bs, br = pr, ps, br, bs
            eng.add_log_pair(device, remote, None, proto=proto or "ip", port=rport, packets_sent=ps,
                             packets_received=pr, ip_bytes_sent=bs, ip_bytes_received=br, first=ts, last=last)
            return
        if kind == "dns":
            eng.note_peer(device, remote, proto=proto or "udp", port=rport, ts=ts)
            query = rec.get("query")
            answers = rec.get("answers")
            if isinstance(answers, str):
                answers = [] if answers in _UNSET else answers.split(",")
            if not isinstance(query, str) or query in _UNSET or not answers:
                return
            chain = [normalise_name(query)]
            for a in answers:
                if _addr(a) is None and isinstance(a, str) and a not in _UNSET:
                    n = normalise_name(a)
                    if n not in chain:
                        chain.append(n)
            for a in answers:
                ip = _addr(a)
                if ip:
                    for n in chain:
                        eng.add_name(ip, n, "zeek-dns")
            return
        field = {"ssl": "server_name", "quic": "server_name", "http": "host"}[kind]
        name = rec.get(field)
        eng.note_peer(device, remote, proto="udp" if kind == "quic" else "tcp", port=rport, ts=ts)
        if isinstance(name, str) and name not in _UNSET:
            if kind == "http":
                from ipowner.capture.protocols.http import _strip_port

                name = _strip_port(name)
            eng.add_name(remote, normalise_name(name), f"zeek-{kind}")


def read_tsv(ctx: ReadContext) -> None:
    st = _ZeekState(ctx)
    sep = "\t"
    set_sep = ","
    fields: list[str] | None = None
    path: str | None = None
    lineno = 0
    for raw in ctx.lines():
        lineno += 1
        line = raw.rstrip("\r\n")
        if not line:
            continue
        if line.startswith("#"):
            if line.startswith("#separator"):
                v = line.split(" ", 1)[1] if " " in line else "\\x09"
                sep = v.encode().decode("unicode_escape")
            elif line.startswith("#set_separator"):
                set_sep = line.split(sep, 1)[1] if sep in line else ","
            elif line.startswith("#fields"):
                fields = line.split(sep)[1:]
            elif line.startswith("#path"):
                path = line.split(sep, 1)[1] if sep in line else None
            continue
        if fields is None:
            st.bad_line(lineno, "data before the #fields header")
            continue
        cols = line.split(sep)
        if len(cols) != len(fields):
            st.bad_line(lineno, f"{len(cols)} fields where the header names {len(fields)}")
            continue
        rec: dict[str, object] = dict(zip(fields, cols, strict=True))
        ans = rec.get("answers")
        if isinstance(ans, str) and ans not in _UNSET:
            rec["answers"] = ans.split(set_sep)
        st.record(_kind(path, rec), rec, lineno)
    _finish(ctx, st, "zeek-" + (path or "tsv"))


def read_json(ctx: ReadContext) -> None:
    st = _ZeekState(ctx)
    lineno = 0
    for raw in ctx.lines():
        lineno += 1
        line = raw.strip()
        if not line:
            continue
        try:
            rec = json.loads(line)
        except ValueError:
            st.bad_line(lineno, "not JSON")
            continue
        if not isinstance(rec, dict):
            st.bad_line(lineno, "not a JSON object")
            continue
        if isinstance(rec.get("id"), dict):  # nested id form
            for k, v in rec["id"].items():
                rec[f"id.{k}"] = v
        st.record(_kind(rec.get("_path") if isinstance(rec.get("_path"), str) else None, rec), rec, lineno)
    _finish(ctx, st, "zeek-json")


def _finish(ctx: ReadContext, st: _ZeekState, fmt: str) -> None:
    ctx.info.records += st.records
    if st.kinds:
        ctx.info.format = "zeek-" + "+".join(sorted(st.kinds))
    else:
        ctx.info.format = fmt
    if st.bad:
        ctx.stop(f"{st.bad} line(s) could not be read and were skipped (first at {st.first_bad})")
