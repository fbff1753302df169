"""``TrafficView``: the ``ipowner traffic`` tables, one row per destination, names shown with where they came from.

Laid out for 80 columns and up (``_console``): a scope's table is shown whole when it fits, else each
destination is a first line (address, flows, bytes) with its packets, times, ports and hostnames folded
into detail lines. Addresses and numbers never wrap; ``verbose`` lists every port and hostname.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TextIO

from rich import box
from rich.console import Console, ConsoleOptions, RenderableType
from rich.table import Table
from rich.text import Text

from ipowner.model.traffic import Destination, TrafficResult
from ipowner.render.escape import terminal_safe
from ipowner.render.terminal._console import Col, detail, emit, fits, safe, stacked, title, wrapped
from ipowner.reports.names import from_certificate_only, names_by_evidence

BYTE_KIND_TEXT = {
    "frame": "bytes = frame lengths on the wire as originally captured (link header included)",
    "ip": "bytes = IP-level (IP header + payload), as the logs count them",
    "none": "no byte counts: the inputs only name addresses",
}
NAMES = 4  # hostnames shown per destination unless verbose
PORTS = 12  # ports shown per destination unless verbose


def _size(n: int) -> str:
    value: float = n
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return str(value)


def _time(ts: float | None) -> str:
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _labels(d: Destination) -> list[tuple[str, bool]]:
    """ "name (sources, concealment)" per distinct name, strongest evidence first, and whether only a
    certificate named it."""
    conceal: dict[str, list[str]] = {}
    for h in d.hostnames:
        if h.concealment and str(h.concealment) not in conceal.setdefault(h.name, []):
            conceal[h.name].append(str(h.concealment))
    return [(f"{name} ({', '.join([*sources, *conceal.get(name, [])])})", from_certificate_only(sources))
            for name, sources in names_by_evidence(d.hostnames)]


def _names(d: Destination, limit: int | None = NAMES, sep: str = "; ") -> str:
    labels = _labels(d)
    shown = labels if limit is None else labels[:limit]
    text = sep.join(terminal_safe(label) for label, _ in shown)
    if len(labels) > len(shown):
        rest = labels[len(shown):]
        certs = sum(1 for _, cert in rest if cert)
        kind = ", all from the certificate" if certs == len(rest) else (f", {certs} of them from the certificate" if certs else "")
        text += f"{sep}+{len(rest)} more{kind}"
    return text or "-"


def _ports(d: Destination, limit: int | None = PORTS) -> str:
    ports = d.ports if limit is None else d.ports[:limit]
    text = " ".join(terminal_safe(p) for p in ports)
    if limit is not None and len(d.ports) > limit:
        text += f" +{len(d.ports) - limit} more"
    return text or "-"


class TrafficView:
    """Destinations by scope, the apps, the devices and what the byte counts mean."""

    def __init__(self, result: TrafficResult, *, verbose: bool = False) -> None:
        self.result = result
        self.verbose = verbose

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[RenderableType]:
        result = self.result
        limit_names = None if self.verbose else NAMES
        limit_ports = None if self.verbose else PORTS
        for scope, heading in (("internet", "Internet destinations"), ("lan", "LAN peers"),
                               ("cgnat", "Carrier-grade NAT space (not on the public internet)"),
                               ("multicast", "Multicast"), ("broadcast", "Broadcast"),
                               ("reserved", "Reserved or unallocated space (not on the public internet)"),
                               ("documentation", "Documentation ranges (not on any real network)")):
            rows = [d for d in result.destinations if d.scope == scope]
            if not rows:
                continue
            yield title(f"{heading} ({len(rows)})")
            wide = Table(box=box.SIMPLE_HEAD, pad_edge=False)
            for col in ("address", "flows", "sent", "received", "pkts out/in", "first seen (UTC)", "last seen (UTC)",
                        "ports", "hostnames (source)"):
                wide.add_column(col, no_wrap=True, justify="right" if col in ("flows", "sent", "received") else "left")
            for d in rows:
                conceal = f" [concealment: {', '.join(d.concealment)}]" if d.concealment else ""
                wide.add_row(safe(d.address), Text(str(d.flows)), Text(_size(d.bytes_sent)), Text(_size(d.bytes_received)),
                             Text(f"{d.packets_sent}/{d.packets_received}"), Text(_time(d.first_seen)),
                             Text(_time(d.last_seen)), Text(_ports(d, limit_ports)),
                             Text(_names(d, limit_names, "\n") + terminal_safe(conceal)))
            if fits(console, wide, options.max_width):
                yield wide
                continue
            cols = [Col("address"), Col("flows", "right"), Col("sent", "right"), Col("received", "right"),
                    Col("pkts out/in", grows=True)]
            out = []
            for d in rows:
                first = [safe(d.address), Text(str(d.flows)), Text(_size(d.bytes_sent)), Text(_size(d.bytes_received)),
                         Text(f"{d.packets_sent}/{d.packets_received}")]
                lines = [detail(("seen", f"{_time(d.first_seen)} to {_time(d.last_seen)} UTC"),
                                ("ports", _ports(d, limit_ports)))]
                if d.hostnames:
                    lines.append(detail(("names", _names(d, limit_names, ", "))))
                if d.concealment:
                    lines.append(detail(("concealment", terminal_safe(", ".join(d.concealment)))))
                out.append((first, lines))
            yield stacked(cols, out, indent=2)
        if result.app_summaries:
            t = Table(title="Apps", title_justify="left", title_style="bold", box=box.SIMPLE_HEAD, pad_edge=False)
            t.add_column("app", overflow="fold", ratio=1)
            for col in ("flows", "sent", "received", "destinations"):
                t.add_column(col, justify="right", no_wrap=True)
            for a in result.app_summaries:
                t.add_row(safe(a.app), Text(str(a.flows)), Text(_size(a.bytes_sent)), Text(_size(a.bytes_received)),
                          Text(str(len(a.destinations))))
            yield t
        shown = result.devices if self.verbose else result.devices[:8]
        devices = ", ".join(terminal_safe(d) for d in shown)
        if len(result.devices) > len(shown):
            devices += f" (+{len(result.devices) - len(shown)} more, -v lists them)"
        yield wrapped(Text(f"devices (the side that opened the flows, or --device): {devices or '-'}"), 0)
        yield Text(BYTE_KIND_TEXT.get(result.byte_kind, f"bytes = {terminal_safe(result.byte_kind)}"))
        if not result.destinations:
            yield Text("no destinations found")


def write_terminal_traffic(result: TrafficResult, stream: TextIO, *, width: int | None = None,
                           verbose: bool = False) -> None:
    """The tables on ``stream``: coloured on a terminal, plain and ``COLUMNS`` wide otherwise."""
    emit(stream, TrafficView(result, verbose=verbose), width)
