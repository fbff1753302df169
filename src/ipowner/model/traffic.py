"""Observed traffic, folded per destination (the device's remote peers).

``bytes_*`` are on-the-wire frame lengths as originally captured when the input is a capture, and
IP-level byte counts when the input is a log; ``TrafficResult.byte_kind`` says which.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ipowner.model.serialize import plain

SCHEMA_TRAFFIC = "ipowner.traffic/1"


@dataclass(slots=True, frozen=True)
class Hostname:
    name: str
    source: str  # "dns" | "sni" | "http" | "quic" | "cert" | "zeek-dns" | "zeek-ssl" | "zeek-http" | "log"
    concealment: str | None = None  # "ech-outer" | "doh" | "dot" when the name hides the real destination


@dataclass(slots=True)
class Destination:
    address: str
    scope: str = "internet"  # "internet" | "lan" | "multicast" | "broadcast"
    flows: int = 0
    packets_sent: int = 0  # device -> destination
    packets_received: int = 0
    bytes_sent: int = 0  # frame bytes for captures, IP bytes for logs (see TrafficResult.byte_kind)
    bytes_received: int = 0
    ip_bytes_sent: int = 0
    ip_bytes_received: int = 0
    first_seen: float | None = None  # epoch seconds, UTC
    last_seen: float | None = None
    hostnames: list[Hostname] = field(default_factory=list)
    ports: list[str] = field(default_factory=list)  # "tcp/443", "udp/53"
    devices: list[str] = field(default_factory=list)
    apps: list[str] = field(default_factory=list)
    concealment: list[str] = field(default_factory=list)  # "dot" | "doh" | "ech-outer": names here may hide the real one

    def to_dict(self) -> dict[str, Any]:
        return plain(self)


@dataclass(slots=True)
class DeviceSummary:
    """One device (the side that opened the flows), all destinations together."""

    address: str
    flows: int = 0
    destinations: int = 0
    packets_sent: int = 0
    packets_received: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    ip_bytes_sent: int = 0
    ip_bytes_received: int = 0
    first_seen: float | None = None
    last_seen: float | None = None
    apps: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return plain(self)


@dataclass(slots=True)
class AppSummary:
    """One app (as PCAPdroid names it), all its destinations together."""

    app: str
    flows: int = 0
    packets_sent: int = 0
    packets_received: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    ip_bytes_sent: int = 0
    ip_bytes_received: int = 0
    destinations: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return plain(self)


@dataclass(slots=True)
class InputInfo:
    name: str
    sha256: str | None
    format: str  # "pcap" | "pcapng" | "zeek-conn" | "pcapdroid-csv" | "csv" | "text" | ...
    records: int = 0
    partial: bool = False
    warnings: list[str] = field(default_factory=list)
    first_seen: float | None = None
    last_seen: float | None = None


@dataclass(slots=True)
class TrafficResult:
    inputs: list[InputInfo] = field(default_factory=list)
    destinations: list[Destination] = field(default_factory=list)
    byte_kind: str = "frame"  # "frame" | "ip" (also when captures and logs are mixed) | "none" (address lists)
    devices: list[str] = field(default_factory=list)
    timeline: dict[str, list[tuple[float, int, int]]] = field(default_factory=dict)  # address -> (bucket start, sent, received)
    timeline_bucket: float = 60.0
    warnings: list[str] = field(default_factory=list)
    device_summaries: list[DeviceSummary] = field(default_factory=list)
    app_summaries: list[AppSummary] = field(default_factory=list)

    @property
    def partial(self) -> bool:
        return any(i.partial for i in self.inputs)

    def to_dict(self) -> dict[str, Any]:
        d = plain(self)
        d["schema"] = SCHEMA_TRAFFIC
        d["partial"] = self.partial
        return d
