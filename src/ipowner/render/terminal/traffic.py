"""``TrafficView``: the ``ipowner traffic`` tables, one row per destination, names shown with where they came from."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TextIO

from rich.console import Console, ConsoleOptions, RenderableType
from rich.table import Table

from ipowner.model.traffic import Destination, TrafficResult
from ipowner.render.escape import terminal_safe

BYTE_KIND_TEXT = {
    "frame": "bytes = frame lengths on the wire as originally captured (link header included)",
    "ip": "bytes = IP-level (IP header + payload), as the logs count them",
    "none": "no byte counts: the inputs only name addresses",
}


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


def _names(d: Destination, limit: int = 4) -> str:
    shown: list[str] = []
    for h in d.hostnames:
        label = f"{h.name} ({h.source}{', ' + h.concealment if h.concealment else ''})"
        if label not in shown:
            shown.append(label)
    text = "; ".join(terminal_safe(s, 120) for s in shown[:limit])
    if len(shown) > limit:
        text += f"; +{len(shown) - limit} more"
    return text or "-"


class TrafficView:
    """Destinations by scope, the apps, the devices and what the byte counts mean."""

    def __init__(self, result: TrafficResult) -> None:
        self.result = result

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> Iterator[RenderableType]:
        result = self.result
        for scope, title in (("internet", "Internet destinations"), ("lan", "LAN peers"),
                             ("multicast", "Multicast"), ("broadcast", "Broadcast")):
            rows = [d for d in result.destinations if d.scope == scope]
            if not rows:
                continue
            t = Table(title=f"{title} ({len(rows)})", title_justify="left", show_lines=False)
            for col in ("address", "flows", "sent", "received", "pkts out/in", "first seen (UTC)", "last seen (UTC)",
                        "ports", "hostnames (source)"):
                t.add_column(col, overflow="fold")
            for d in rows:
                conceal = f" [concealment: {', '.join(d.concealment)}]" if d.concealment else ""
                t.add_row(terminal_safe(d.address), str(d.flows), _size(d.bytes_sent), _size(d.bytes_received),
                          f"{d.packets_sent}/{d.packets_received}", _time(d.first_seen), _time(d.last_seen),
                          terminal_safe(" ".join(d.ports[:6]) + (" …" if len(d.ports) > 6 else "")),
                          _names(d) + terminal_safe(conceal))
            yield t
        if result.app_summaries:
            t = Table(title="Apps", title_justify="left")
            for col in ("app", "flows", "sent", "received", "destinations"):
                t.add_column(col)
            for a in result.app_summaries:
                t.add_row(terminal_safe(a.app, 60), str(a.flows), _size(a.bytes_sent), _size(a.bytes_received),
                          str(len(a.destinations)))
            yield t
        devices = ", ".join(terminal_safe(d) for d in result.devices[:8])
        if len(result.devices) > 8:
            devices += f" (+{len(result.devices) - 8} more)"
        yield f"devices (the side that opened the flows, or --device): {devices or '-'}"
        yield BYTE_KIND_TEXT.get(result.byte_kind, f"bytes = {result.byte_kind}")
        if not result.destinations:
            yield "no destinations found"


def write_terminal_traffic(result: TrafficResult, stream: TextIO, *, width: int | None = None) -> None:
    """The tables on ``stream``: coloured on a terminal, 200 columns wide otherwise."""
    tty = stream.isatty()
    console = Console(file=stream, no_color=not tty, highlight=False, soft_wrap=False,
                      width=width or (200 if not tty else None))
    console.print(TrafficView(result))
