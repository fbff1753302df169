"""Observed traffic, folded per destination (the device's remote peers).

``bytes_*`` are on-the-wire frame lengths as originally captured when the input is a capture, and
IP-level byte counts when the input is a log; ``TrafficResult.byte_kind`` says which. Times are epoch
seconds (UTC) in the model and ISO 8601 in the ``ipowner.traffic/3`` document.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ipowner.model.counts import Counts
from ipowner.model.kinds import ByteKind, Concealment, HostnameSource, Scope
from ipowner.model.serialize import Epoch, check_schema, from_plain, record_from_plain, to_plain

SCHEMA_TRAFFIC = "ipowner.traffic/3"
# Version 1 wrote times as epoch seconds (numbers); it is still read.
SCHEMA_TRAFFIC_READ = ("ipowner.traffic/1", "ipowner.traffic/2", SCHEMA_TRAFFIC)

_COUNTS = ("flows", "packets_sent", "packets_received", "bytes_sent", "bytes_received", "ip_bytes_sent",
           "ip_bytes_received")


@dataclass(slots=True, frozen=True)
class Hostname:
    """A name seen for a destination, and where it was seen."""

    name: str
    source: HostnameSource
    concealment: Concealment | None = None  # set when the name may hide the real destination


@dataclass(slots=True)
class Destination(Counts):
    """One remote peer of the device(s): its traffic both ways, names, ports, devices and apps."""

    address: str
    scope: Scope = Scope.INTERNET
    first_seen: Epoch | None = None
    last_seen: Epoch | None = None
    hostnames: list[Hostname] = field(default_factory=list)
    ports: list[str] = field(default_factory=list)  # "tcp/443", "udp/53", "icmpv6"
    devices: list[str] = field(default_factory=list)
    apps: list[str] = field(default_factory=list)
    concealment: list[Concealment] = field(default_factory=list)  # names here may hide the real one

    _json_keys: ClassVar[tuple[str, ...]] = ("address", "scope", *_COUNTS, "first_seen", "last_seen", "hostnames", "ports",
                            "devices", "apps", "concealment")

    def to_dict(self) -> dict[str, Any]:
        return to_plain(self)


@dataclass(slots=True)
class DeviceSummary(Counts):
    """One device (the side that opened the flows), all destinations together."""

    address: str
    destinations: int = 0
    first_seen: Epoch | None = None
    last_seen: Epoch | None = None
    apps: list[str] = field(default_factory=list)

    _json_keys: ClassVar[tuple[str, ...]] = ("address", "flows", "destinations", *_COUNTS[1:], "first_seen", "last_seen", "apps")

    def to_dict(self) -> dict[str, Any]:
        return to_plain(self)


@dataclass(slots=True)
class AppSummary(Counts):
    """One app (as PCAPdroid names it), all its destinations together."""

    app: str
    destinations: list[str] = field(default_factory=list)

    _json_keys: ClassVar[tuple[str, ...]] = ("app", *_COUNTS, "destinations")

    def to_dict(self) -> dict[str, Any]:
        return to_plain(self)


@dataclass(slots=True)
class InputInfo:
    """One capture or log read: its digest, format, records and time span."""

    name: str
    sha256: str | None
    format: str  # "pcap" | "pcapng" | "zeek-conn" | "zeek-conn+dns" | "pcapdroid-csv" | "csv" | "text" | ...
    records: int = 0
    partial: bool = False
    warnings: list[str] = field(default_factory=list)
    first_seen: Epoch | None = None
    last_seen: Epoch | None = None


def nothing_read(inputs: Sequence[InputInfo]) -> bool:
    """Whether no input could be read at all: every one unreadable or refused (partial, no record read).
    The commands exit 1 then, and 4 when only some are (``exitcodes``)."""
    return bool(inputs) and all(i.partial and not i.records for i in inputs)


@dataclass(slots=True)
class TrafficPair(Counts):
    """One device-destination(-app) pair: its counters, ports and the destination's names.

    The rows of the flow tables (``traffic --format parquet``, docs/tables.md): a pair from a folded
    capture or log, or, when a log is streamed, one connection record (``flows`` 1, or 0 for a record
    that names a peer without counting it); rows of one pair may then repeat and are summed by readers.
    """

    device: str | None
    address: str
    app: str | None = None
    scope: Scope = Scope.INTERNET
    first_seen: Epoch | None = None
    last_seen: Epoch | None = None
    ports: list[str] = field(default_factory=list)
    hostnames: list[Hostname] = field(default_factory=list)


# (bucket start, bytes sent, bytes received)
TimelinePoint = tuple[Epoch, int, int]


@dataclass(slots=True)
class TrafficResult:
    """The destinations seen in captures and logs, with per-device and per-app summaries (no lookups)."""

    inputs: list[InputInfo] = field(default_factory=list)
    destinations: list[Destination] = field(default_factory=list)
    byte_kind: ByteKind = ByteKind.FRAME
    devices: list[str] = field(default_factory=list)
    timeline: dict[str, list[TimelinePoint]] = field(default_factory=dict)  # address -> points
    timeline_bucket: float = 60.0
    warnings: list[str] = field(default_factory=list)
    device_summaries: list[DeviceSummary] = field(default_factory=list)
    app_summaries: list[AppSummary] = field(default_factory=list)
    # Not written in the document (its keys are ``_json_keys``): one row per (device, destination, app),
    # kept only when ``traffic(pairs=True)`` asks for them (the Parquet flow table).
    pairs: list[TrafficPair] = field(default_factory=list)

    SCHEMA: ClassVar[str] = SCHEMA_TRAFFIC
    _json_keys: ClassVar[tuple[str, ...]] = ("inputs", "partial", "byte_kind", "destinations", "devices", "timeline_bucket",
                            "timeline", "warnings", "device_summaries", "app_summaries")

    @property
    def partial(self) -> bool:
        return any(i.partial for i in self.inputs)

    def to_dict(self) -> dict[str, Any]:
        """The ``ipowner.traffic/3`` document (docs/schema.md)."""
        return {"schema": SCHEMA_TRAFFIC, **to_plain(self)}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> TrafficResult:
        """A traffic document (``ipowner.traffic/1``, ``/2`` or ``/3``) back into the model."""
        check_schema(doc, SCHEMA_TRAFFIC_READ)
        return record_from_plain(cls, doc, "traffic")

    def lines(self) -> Iterable[dict[str, Any]]:
        """The JSON Lines form: one object per destination, with the schema and the traffic's ``byte_kind``."""
        for d in self.destinations:
            yield {"schema": SCHEMA_TRAFFIC, **d.to_dict(), "byte_kind": self.byte_kind.value}

    @classmethod
    def from_lines(cls, lines: Iterable[Mapping[str, Any]]) -> TrafficResult:
        """A traffic result from its JSON Lines form (destinations and byte kind only: the lines carry no more)."""
        res = cls()
        for i, line in enumerate(lines):
            check_schema(line, SCHEMA_TRAFFIC_READ)
            res.destinations.append(from_plain(Destination, line, f"line {i + 1}"))
            res.byte_kind = from_plain(ByteKind, line.get("byte_kind", "frame"), f"line {i + 1}.byte_kind")
        return res


__all__ = [
    "SCHEMA_TRAFFIC",
    "AppSummary",
    "Destination",
    "DeviceSummary",
    "Hostname",
    "InputInfo",
    "TimelinePoint",
    "TrafficPair",
    "TrafficResult",
    "nothing_read",
]
