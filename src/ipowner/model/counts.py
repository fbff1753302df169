"""The counter block every traffic summary carries: flows, packets and bytes, each way.

``Counts`` is the base of ``Destination``, ``DeviceSummary``, ``AppSummary`` and the report's
``RollupRow``, so their counters are declared once and summed by ``add``/``+``. "Sent" is always
device -> peer. ``bytes_*`` are what the summary shows (frame lengths for captures, IP-level counts
for logs: ``TrafficResult.byte_kind``); ``ip_bytes_*`` are always IP-level.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True, kw_only=True)
class Counts:
    flows: int = 0
    packets_sent: int = 0
    packets_received: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    ip_bytes_sent: int = 0
    ip_bytes_received: int = 0

    def add(self, other: Counts) -> None:
        """Add ``other``'s counters to these, in place."""
        self.flows += other.flows
        self.packets_sent += other.packets_sent
        self.packets_received += other.packets_received
        self.bytes_sent += other.bytes_sent
        self.bytes_received += other.bytes_received
        self.ip_bytes_sent += other.ip_bytes_sent
        self.ip_bytes_received += other.ip_bytes_received

    def __add__(self, other: Counts) -> Counts:
        total = self.counts()
        total.add(other)
        return total

    def counts(self) -> Counts:
        """The counters alone, as a new ``Counts`` (for a summary that is a ``Counts`` and more)."""
        return Counts(
            flows=self.flows, packets_sent=self.packets_sent, packets_received=self.packets_received,
            bytes_sent=self.bytes_sent, bytes_received=self.bytes_received, ip_bytes_sent=self.ip_bytes_sent,
            ip_bytes_received=self.ip_bytes_received,
        )

    def reversed(self) -> Counts:
        """The same traffic seen from the other end: sent and received swapped."""
        return Counts(
            flows=self.flows, packets_sent=self.packets_received, packets_received=self.packets_sent,
            bytes_sent=self.bytes_received, bytes_received=self.bytes_sent, ip_bytes_sent=self.ip_bytes_received,
            ip_bytes_received=self.ip_bytes_sent,
        )

    @property
    def bytes_total(self) -> int:
        return self.bytes_sent + self.bytes_received

__all__ = ["Counts"]
