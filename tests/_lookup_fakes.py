"""Synthetic stand-ins for lookup tests: data providers with made-up facts, and resolvers.

Nothing here is real data; the facts are invented so that tests can tell which provider answered.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ipowner.errors import ResolutionError
from ipowner.model import AddressRecord, AsnInfo, RangeFact, SourceInfo
from ipowner.providers import Address, Addresses, AddressFacts, Facts, Provider

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


class SyntheticProvider(Provider):
    """Answers from FACTS, one address at a time; records which addresses it was asked about."""

    def __init__(self, problems: list[str] | None = None, fail_on: str | None = None) -> None:
        self.problems.extend(problems or [])
        self.asked: list[str] = []
        self.fail_on = fail_on
        self.closed = False

    def sources(self) -> list[SourceInfo]:
        return [SYNTHETIC_SOURCE]

    def facts(self, address: Address) -> AddressFacts:
        text, version, value = address
        self.asked.append(text)
        if text == self.fail_on:
            return AddressFacts(errors=("synthetic database: corrupt record",))
        fact = FACTS.get(text)
        if fact is None:
            return AddressFacts()
        country, asn, name = fact
        sid = SYNTHETIC_SOURCE.id
        return AddressFacts((RangeFact(start=value, end=value, version=version, source=sid, asn=asn, as_name=name,
                                       country=country, fields=(("location.country", country, sid),
                                                                ("asn.number", asn, sid), ("asn.name", name, sid))),))

    def close(self) -> None:
        self.closed = True


class BrokenProvider(Provider):
    """Fails as a whole, whatever it is asked."""

    def sources(self) -> list[SourceInfo]:
        return []

    def facts_many(self, addresses: Addresses) -> Facts:
        raise RuntimeError("boom")


class OldStyleProvider:
    """The protocol before the provider base: ``sources()`` and ``enrich(records)``, nothing else."""

    problems = ["old style: one problem"]

    def sources(self) -> list[SourceInfo]:
        return [SYNTHETIC_SOURCE]

    def enrich(self, records: list[AddressRecord]) -> None:
        for rec in records:
            if rec.needs_lookup:
                rec.asn = AsnInfo(number=64496, name="OLD-STYLE")
                rec.note("asn.number", SYNTHETIC_SOURCE)


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
