"""Generic CSV of connections or addresses, with options naming the columns.

Without options the columns are guessed from the header (``dst_ip``, ``destination``, ``bytes_out``...).
Byte counts from a CSV are taken as IP-level, like other logs.
"""

from __future__ import annotations

import csv as _csv
import ipaddress
import itertools
from collections.abc import Mapping, Sequence
from datetime import UTC

from ipowner.capture.context import ReadContext
from ipowner.capture.protocols.common import normalise_name

ROLES = ("address", "device", "port", "proto", "bytes_sent", "bytes_received", "packets_sent",
         "packets_received", "first_seen", "last_seen", "hostname", "app")

_GUESS = {
    "address": ("dst", "dst_ip", "dstip", "dstaddr", "daddr", "destination", "destination_ip", "dest_ip", "remote",
                "remote_ip", "remote_addr", "server", "server_ip", "id.resp_h", "resp_h", "address", "ip",
                "ip_address"),
    "device": ("src", "src_ip", "srcip", "srcaddr", "saddr", "source", "source_ip", "local", "local_ip", "client",
               "client_ip", "device", "id.orig_h", "orig_h"),
    "port": ("dst_port", "dstport", "dport", "destination_port", "remote_port", "port", "id.resp_p", "resp_p"),
    "proto": ("proto", "protocol", "ipproto", "transport"),
    # IP-level names first: Zeek's orig_ip_bytes beats its payload-only orig_bytes when a file has both.
    "bytes_sent": ("bytes_sent", "bytes_out", "sent_bytes", "tx_bytes", "bytessent", "orig_ip_bytes", "out_bytes",
                   "bytes_tx", "bytes_up", "upload_bytes", "orig_bytes", "src_bytes", "client_bytes", "sent",
                   "out", "tx", "upload", "up"),
    "bytes_received": ("bytes_received", "bytes_in", "rcvd_bytes", "rx_bytes", "bytesrcvd", "resp_ip_bytes",
                       "in_bytes", "bytes_rx", "bytes_down", "download_bytes", "resp_bytes", "dst_bytes",
                       "server_bytes", "received", "rcvd", "recv", "in", "rx", "download", "down"),
    "packets_sent": ("packets_sent", "pkts_sent", "tx_packets", "pktssent", "orig_pkts", "packets_out"),
    "packets_received": ("packets_received", "pkts_rcvd", "rx_packets", "pktsrcvd", "resp_pkts", "packets_in"),
    "first_seen": ("first_seen", "firstseen", "start", "start_time", "ts", "timestamp", "time"),
    "last_seen": ("last_seen", "lastseen", "end", "end_time"),
    "hostname": ("hostname", "host", "domain", "server_name", "sni", "query", "info"),
    "app": ("app", "application", "package", "packagename", "process"),
}


def _sniff_delimiter(line: str) -> str:
    counts = {d: line.count(d) for d in (",", "\t", ";")}
    return max(counts, key=lambda d: counts[d])


def guess_columns(header_line: str) -> dict[str, str] | None:
    """Role -> column name from a header line; None when no address column is recognisable."""
    delim = _sniff_delimiter(header_line)
    names = next(_csv.reader([header_line], delimiter=delim))
    lower = {n.strip().lower(): n for n in names}
    roles: dict[str, str] = {}
    for role, candidates in _GUESS.items():
        for c in candidates:
            if c in lower and lower[c] not in roles.values():
                roles[role] = lower[c]
                break
    return roles if "address" in roles else None


def _num(v: str | None) -> int:
    try:
        return int(float(v)) if v not in (None, "") else 0
    except ValueError:
        return 0
    except OverflowError:  # an infinite number
        return -1  # out of range: the engine reads it as unknown and says so


def _time(v: str | None) -> float | None:
    if not v:
        return None
    try:
        t = float(v)
    except ValueError:
        from datetime import datetime

        try:
            dt = datetime.fromisoformat(v.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.timestamp()
    return t / 1000.0 if t > 1e11 else t  # milliseconds since the epoch


def _addr(v: str | None) -> str | None:
    if not v:
        return None
    try:
        return ipaddress.ip_address(v.strip().strip("[]").split("%", 1)[0]).compressed
    except ValueError:
        return None


def _say_columns(ctx: ReadContext, roles: Mapping[str, str], header: Sequence[str]) -> None:
    """The columns guessed and the ones ignored, in one warning, when a file has columns left over; with no
    byte count among those guessed, that counts are read as nothing rather than as zero, and how to name them."""
    used = set(roles.values())
    ignored = [c for c in header if c not in used]
    if not ignored:
        return  # every column is read (or a plain list of addresses): nothing to say
    shown = ", ".join(f"{role}={name}" for role, name in roles.items())
    rest = ", ".join(ignored[:12]) + (f" and {len(ignored) - 12} more" if len(ignored) > 12 else "")
    if "bytes_sent" in roles or "bytes_received" in roles:
        ctx.warn(f"columns read: {shown}; ignored: {rest} (--column ROLE=NAME reads another)")
        return
    ctx.warn(f"no byte-count column recognised, so no bytes are counted (used {shown}; ignored {rest}); "
             "name them with --column bytes_sent=NAME --column bytes_received=NAME")


def read(ctx: ReadContext, columns: Mapping[str, str] | None = None, *, source: str = "csv",
         app_fallback: tuple[str, ...] = (), query_rows: tuple[str, frozenset[str]] | None = None) -> None:
    """Rows into the engine. ``query_rows``: (column, values) of rows whose hostname is a name the device
    asked a resolver for, not the name of the row's destination: such a name is not given to it."""
    lines = ctx.lines()
    first = next(lines, "").lstrip("\ufeff")
    if not first.strip():
        ctx.stop("empty CSV")
        return
    delim = _sniff_delimiter(first)
    reader = _csv.DictReader(itertools.chain([first], lines), delimiter=delim)
    header = reader.fieldnames or []
    roles = dict(columns) if columns else (guess_columns(first) or {})
    missing = [c for c in roles.values() if c not in header]
    if missing:
        ctx.stop(f"column(s) {', '.join(missing)} not in the header")
        return
    if "address" not in roles:
        ctx.stop("no address column (name it with --column address=NAME)")
        return
    if not columns:
        _say_columns(ctx, roles, header)
    eng = ctx.engine
    bad, first_bad, records = 0, None, 0
    for lineno, row in enumerate(reader, start=2):
        remote = _addr(row.get(roles["address"]))
        if remote is None:
            bad += 1
            first_bad = first_bad or f"line {lineno}: no address in column {roles['address']}"
            continue
        records += 1
        device = _addr(row.get(roles["device"])) if "device" in roles else None
        flip = bool(eng.devices_given) and device is not None and remote in eng.devices_given \
            and device not in eng.devices_given
        if flip:
            device, remote = remote, device
        proto = (row.get(roles["proto"]) or "").strip().lower() if "proto" in roles else ""
        proto = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}.get(proto, proto)
        port = _num(row.get(roles["port"])) if "port" in roles else None
        app = (row.get(roles["app"]) or "").strip() if "app" in roles else ""
        for extra in app_fallback:
            app = app or (row.get(extra) or "").strip()
        ps, pr = _num(row.get(roles.get("packets_sent", ""))), _num(row.get(roles.get("packets_received", "")))
        bs, br = _num(row.get(roles.get("bytes_sent", ""))), _num(row.get(roles.get("bytes_received", "")))
        if flip:
            ps, pr, bs, br = pr, ps, br, bs
        first_ts = _time(row.get(roles["first_seen"])) if "first_seen" in roles else None
        last_ts = _time(row.get(roles["last_seen"])) if "last_seen" in roles else None
        if any(r in roles for r in ("bytes_sent", "bytes_received", "packets_sent", "packets_received")):
            eng.add_log_pair(device, remote, app or None, proto=proto, port=port, packets_sent=ps,
                             packets_received=pr, ip_bytes_sent=bs, ip_bytes_received=br, first=first_ts,
                             last=last_ts)
        else:
            eng.note_peer(device, remote, proto=proto, port=port, ts=first_ts, app=app or None)
        is_query = query_rows is not None and (row.get(query_rows[0]) or "").strip().lower() in query_rows[1]
        if "hostname" in roles and not is_query:
            name = (row.get(roles["hostname"]) or "").strip()
            if name and _addr(name) is None:
                eng.add_name(remote, normalise_name(name), source)
    ctx.info.records += records
    if bad:
        ctx.stop(f"{bad} row(s) could not be read and were skipped (first at {first_bad})")
