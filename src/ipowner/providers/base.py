"""The provider interface."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ipowner.model import AddressRecord, SourceInfo


@runtime_checkable
class Provider(Protocol):
    """Something that fills in facts about a batch of addresses.

    Providers work on batches so that those who query a network can deduplicate and schedule.
    They skip records whose ``needs_lookup`` is False, look up ``record.attributed`` (the embedded
    IPv4 for translation addresses), and note each field they set with ``record.note(path, source)``.
    A per-address failure goes into ``record.errors``; it never raises for one address.
    """

    def sources(self) -> list[SourceInfo]:
        """The data sources this provider reads (for `ipowner data` and report footers)."""
        ...

    def enrich(self, records: list[AddressRecord]) -> None:
        """Fill in what this provider knows."""
        ...
