"""The provider contract: what every source of facts about addresses implements.

A provider answers ``facts_many(addresses)`` (or ``facts(address)``) with ``Facts``: the shared
``RangeFact`` objects of the ranges an address falls in, most authoritative first, and the per-address
errors. Everything else is built on those facts, so no two views of them can disagree:

- ``enrich(records)`` (here, for every provider) copies the facts onto ``AddressRecord`` objects: the
  record view ``lookup()`` gives;
- ``ipowner.enrich()`` hands the same facts out per address without a record.

The lifecycle is that of httpx's transports: open in ``__init__``, ``close()`` (or ``with``) releases
files and connections; ``problems`` lists the data sources that could not be used, ``stats`` what a run
cost, ``sources()`` every source a fact names.
"""

from __future__ import annotations

import abc
import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, NamedTuple, Protocol, Self

from ipowner._addr import Address, parse_address
from ipowner.model import AddressRecord, AsnInfo, RangeFact, SourceInfo, Special


class Facts(NamedTuple):
    """What one provider knows about one address."""

    ranges: tuple[RangeFact, ...] = ()  # the ranges the address falls in, most authoritative first
    errors: tuple[str, ...] = ()  # one-line reasons something could not be answered


NO_FACTS = Facts()  # nothing known: one shared object

# Fields that travel together, in both views: for each slot, the first range with any of its fields wins
# all of them (an AS number never meets another source's AS name; coordinates stay one source's pair).
SLOTS: dict[str, str] = {
    "asn.number": "asn", "asn.name": "asn", "asn.network": "asn",
    "location.latitude": "coords", "location.longitude": "coords", "location.accuracy_km": "coords",
}


class ProviderStats(Protocol):
    """What a provider's run cost (RDAP: requests, cache hits), as a JSON-ready dict."""

    def to_dict(self) -> dict[str, Any]: ...


class Provider(abc.ABC):
    """A source of facts about addresses: special ranges, MaxMind-format databases, RDAP, cloud tables.

    Subclasses implement ``sources()`` and one of ``facts(address)`` / ``facts_many(addresses)``;
    addresses come parsed (``ipowner._addr.Address``: canonical text, version, integer). A provider
    never raises for one address: a per-address failure is a line in ``Facts.errors``, a data source
    that cannot be used is a line in ``problems``. Facts for one range are one shared object.
    """

    name: ClassVar[str] = "provider"  # key of this provider's stats ("rdap", "mmdb", ...)
    problem_kind: ClassVar[str] = "provider"  # what lookup() calls its problems ("database", "provider")
    _problems: list[str]

    @abc.abstractmethod
    def sources(self) -> list[SourceInfo]:
        """Every source a fact may name (for `ipowner data`, report footers and provenance)."""

    def facts(self, address: Address) -> Facts:
        """What this provider knows about one address."""
        if type(self).facts_many is Provider.facts_many:
            raise NotImplementedError(f"{type(self).__name__} defines neither facts() nor facts_many()")
        return self.facts_many([address])[0]

    def facts_many(self, addresses: Sequence[Address]) -> list[Facts]:
        """What this provider knows about each address, in order (batches let it deduplicate and schedule)."""
        if type(self).facts is Provider.facts:
            raise NotImplementedError(f"{type(self).__name__} defines neither facts() nor facts_many()")
        return [self.facts(a) for a in addresses]

    def enrich(self, records: list[AddressRecord]) -> None:
        """Fill in what this provider knows: its facts, copied onto each record with their provenance.

        Records whose ``needs_lookup`` is False are skipped; ``record.attributed`` is what is asked
        about (the embedded IPv4 of a translation address).
        """
        todo = [r for r in records if r.needs_lookup]
        if not todo:
            return
        answers = self.facts_many([parse_address(r.attributed) for r in todo])
        known = {s.id: s for s in self.sources()}  # after the facts: some providers learn sources as they go
        for rec, facts in zip(todo, answers, strict=True):
            if facts is not NO_FACTS:
                apply_facts(rec, facts, known)

    @property
    def problems(self) -> list[str]:
        """Data sources that could not be used, one line each (``"<path>: <reason>"``)."""
        try:
            return self._problems
        except AttributeError:
            self._problems = []
            return self._problems

    @property
    def stats(self) -> ProviderStats | None:
        """What the last run cost, for providers that count (None: nothing to say)."""
        return None

    def close(self) -> None:
        """Release files and connections; the provider answers nothing afterwards."""
        return None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RecordProvider(Provider):
    """A provider that fills records itself and has no range facts (``ipowner.enrich()`` cannot use it)."""

    @abc.abstractmethod
    def enrich(self, records: list[AddressRecord]) -> None:
        """Fill in what this provider knows (skip records whose ``needs_lookup`` is False)."""

    def facts_many(self, addresses: Sequence[Address]) -> list[Facts]:
        raise NotImplementedError(f"{type(self).__name__} fills records directly; it has no range facts")


# -- the views -------------------------------------------------------------------------------------------

def winner(ranges: Sequence[RangeFact], path: str) -> tuple[Any, str] | None:
    """(value, source id) of one field path over ranges ordered best first, or None.

    The field comes from the first range that has it, unless an earlier range owns the field's slot
    (then the slot's other fields come from that range, and this one is not known).
    """
    slot = SLOTS.get(path)
    for r in ranges:
        owns = False
        for p, v, s in r.fields:
            if p == path:
                return (r.prefix if v is None and p == "asn.network" else v), s
            if slot is not None and SLOTS.get(p) == slot:
                owns = True  # the slot is this range's, even without this path
        if owns:
            return None
    return None


def winners(ranges: Sequence[RangeFact]) -> dict[str, tuple[Any, str]]:
    """Every field path the ranges give, path -> (value, source id), by the rule of ``winner``."""
    out: dict[str, tuple[Any, str]] = {}
    for r in ranges:
        for p in {p for p, _v, _s in r.fields}:
            if p not in out:
                got = winner(ranges, p)
                if got is not None:
                    out[p] = got
    return out


def _copy_network(value: Any) -> Any:
    out = copy.copy(value)
    out.cidrs = list(value.cidrs)
    return out


def _copy_chain(value: Any) -> list[Any]:
    return [copy.copy(link) for link in value]


# Fields that are objects of their own: records that share a range get their own copies, so that a
# caller editing one record edits no other.
_OBJECTS: dict[str, Callable[[Any], Any]] = {
    "looked_through": copy.deepcopy,
    "network": _copy_network,
    "holder": copy.deepcopy,
    "registry_chain": _copy_chain,
    "abuse": copy.copy,
}
_LOCATION = frozenset({"country", "represented_country", "continent", "subdivision", "city", "latitude",
                       "longitude", "accuracy_km", "time_zone", "is_anycast"})
_SPECIAL = frozenset({"prefix", "rfc", "globally_reachable"})


def apply_facts(record: AddressRecord, facts: Facts, sources: Mapping[str, SourceInfo]) -> None:
    """The record view: copy one provider's facts onto a record and note each field's source.

    ``sources`` maps every source id the facts name to its ``SourceInfo``. Slots are won as ``winner``
    says: with several ranges, a field is taken from a range only where no earlier range owns its slot.
    """
    ranges = facts.ranges
    if len(ranges) == 1:
        _apply_range(record, ranges[0], sources, None)
    elif ranges:
        owned: set[str] = set()
        for r in ranges:
            owned |= _apply_range(record, r, sources, owned)
    if facts.errors:
        record.errors.extend(facts.errors)


def _apply_range(record: AddressRecord, fact: RangeFact, sources: Mapping[str, SourceInfo],
                 owned: set[str] | None) -> set[str]:
    prov, srcs = record.provenance, record.sources
    mine: set[str] = set()
    for path, value, sid in fact.fields:
        if owned is not None:
            slot = SLOTS.get(path, path)
            if slot in owned:
                continue  # a better range gave this slot
            mine.add(slot)
        head, _, attr = path.partition(".")
        noted = path
        if head == "location" and attr in _LOCATION:
            setattr(record.location, attr, value)
        elif head == "asn" and attr:
            asn = record.asn
            if asn is None:
                asn = record.asn = AsnInfo()
            if attr == "number":
                asn.number = value
            elif attr == "name":
                asn.name = value
            elif attr == "network":
                asn.network = fact.prefix if value is None else value  # the range is the announced prefix
            else:
                continue
        elif path == "registered_country":
            record.registered_country = value
        elif head == "traits" and attr:
            record.traits[attr] = value
        elif head == "special" and attr in _SPECIAL:
            noted = "special"  # the block is noted as a whole
            if attr == "prefix":
                record.special = Special(label=fact.special or "special", name=fact.name or "", prefix=value)
            elif record.special is not None:
                setattr(record.special, attr, value)
        elif path in _OBJECTS:
            setattr(record, path, _OBJECTS[path](value))
        else:
            continue  # a fact no record field holds (it still travels in the RangeFact)
        prov[noted] = sid
        if sid not in srcs:
            srcs[sid] = sources[sid]
    return mine
