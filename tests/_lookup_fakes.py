"""Synthetic stand-ins for lookup tests: a data provider with made-up facts and resolvers.

Nothing here is real data; the facts are invented so that tests can tell which provider answered.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ipowner.errors import ResolutionError
from ipowner.model import AddressRecord, AsnInfo, SourceInfo

SYNTHETIC_SOURCE = SourceInfo(
    id="synthetic",
    kind="mmdb",
    name="synthetic test facts",
    date=datetime(2026, 1, 2, tzinfo=UTC),
    credit="Synthetic test data",
)

FACTS = {
    "8.8.8.8": ("US", 15169, "GOOGLE"),
    "192.0.2.45": ("ZZ", 64500, "SHOULD-NOT-BE-ASKED"),
}


class SyntheticProvider:
    """Answers from FACTS; records which addresses it was asked about."""

    def __init__(self, problems: list[str] | None = None, fail_on: str | None = None) -> None:
        self.problems = list(problems or [])
        self.asked: list[str] = []
        self.fail_on = fail_on

    def sources(self) -> list[SourceInfo]:
        return [SYNTHETIC_SOURCE]

    def enrich(self, records: list[AddressRecord]) -> None:
        for rec in records:
            if not rec.needs_lookup:
                continue
            self.asked.append(rec.attributed)
            if rec.attributed == self.fail_on:
                rec.errors.append("synthetic database: corrupt record")
                continue
            fact = FACTS.get(rec.attributed)
            if fact is None:
                continue
            country, asn, name = fact
            rec.location.country = country
            rec.note("location.country", SYNTHETIC_SOURCE)
            rec.asn = AsnInfo(number=asn, name=name)
            rec.note("asn.number", SYNTHETIC_SOURCE)
            rec.note("asn.name", SYNTHETIC_SOURCE)


class BrokenProvider:
    def sources(self) -> list[SourceInfo]:
        return []

    def enrich(self, records: list[AddressRecord]) -> None:
        raise RuntimeError("boom")


class FakeResolver:
    """A synthetic zone: name -> answers; anything else is NXDOMAIN."""

    name = "fake"

    def __init__(self, zone: dict[str, list[str]]) -> None:
        self.zone = zone
        self.asked: list[str] = []

    def __call__(self, hostname: str) -> list[str]:
        self.asked.append(hostname)
        if hostname not in self.zone:
            raise ResolutionError(hostname, "does not resolve (NXDOMAIN)")
        return self.zone[hostname]
