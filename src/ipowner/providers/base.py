"""The provider contract: what every source of facts about addresses implements.

A provider answers ``facts_many(addresses)`` with ``Facts`` (or ``facts(address)`` with ``AddressFacts``):
for each address the shared ``RangeFact`` objects of the ranges it falls in, most authoritative first,
and the per-address errors. Everything else is built on those facts, so no two views of them can disagree:

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
import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple, Protocol, Self

from ipowner._addr import Address, Addresses, network_text, parse_all
from ipowner.model import AddressRecord, AsnInfo, RangeFact, SourceInfo, Special

Ranges = tuple[RangeFact, ...]  # the ranges one address falls in, most authoritative first
NO_RANGES: Ranges = ()
NO_ERRORS: tuple[str, ...] = ()


class AddressFacts(NamedTuple):
    """What one provider knows about one address."""

    ranges: Ranges = NO_RANGES  # the ranges the address falls in, most authoritative first
    errors: tuple[str, ...] = NO_ERRORS  # one-line reasons something could not be answered


@dataclass(slots=True)
class Facts:
    """What one provider knows about a batch of addresses, by column: one object per batch.

    ``ranges[i]`` is address ``i``'s ranges (a tuple the provider may hand out for every address of the
    same network: facts for one network are one shared object), ``errors`` only holds the addresses for
    which something failed. A batch costs no object per address, which keeps long runs light.
    """

    ranges: list[Ranges] = field(default_factory=list)
    errors: dict[int, tuple[str, ...]] = field(default_factory=dict)  # address position -> reasons

    def __len__(self) -> int:
        return len(self.ranges)

    def at(self, i: int) -> AddressFacts:
        """Address ``i``'s facts."""
        return AddressFacts(self.ranges[i], self.errors.get(i, NO_ERRORS))

    @classmethod
    def none(cls, n: int) -> Facts:
        """Nothing known about ``n`` addresses."""
        return cls([NO_RANGES] * n)

    @classmethod
    def failed(cls, n: int, reason: str) -> Facts:
        """The same reason for each of ``n`` addresses (a provider that could not run at all)."""
        return cls([NO_RANGES] * n, dict.fromkeys(range(n), (reason,)))


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
    addresses come parsed (``ipowner._addr.Address``: canonical text, version, integer; a batch is an
    ``Addresses``, iterated as such tuples). A provider
    never raises for one address: a per-address failure is a line in ``Facts.errors``, a data source
    that cannot be used is a line in ``problems``. Facts for one range are one shared object.
    """

    name: ClassVar[str] = "provider"  # key of this provider's stats ("rdap", "mmdb", ...)
    problem_kind: ClassVar[str] = "provider"  # what lookup() calls its problems ("database", "provider")
    _problems: list[str]

    @abc.abstractmethod
    def sources(self) -> list[SourceInfo]:
        """Every source a fact may name (for `ipowner data`, report footers and provenance)."""

    def facts(self, address: Address) -> AddressFacts:
        """What this provider knows about one address."""
        if type(self).facts_many is Provider.facts_many:
            raise NotImplementedError(f"{type(self).__name__} defines neither facts() nor facts_many()")
        return self.facts_many(Addresses.of([address])).at(0)

    def facts_many(self, addresses: Addresses) -> Facts:
        """What this provider knows about each address, in order (batches let it deduplicate and schedule)."""
        if type(self).facts is Provider.facts:
            raise NotImplementedError(f"{type(self).__name__} defines neither facts() nor facts_many()")
        out = Facts()
        for i, a in enumerate(addresses):
            ranges, errors = self.facts(a)
            out.ranges.append(ranges)
            if errors:
                out.errors[i] = errors
        return out

    def enrich(self, records: list[AddressRecord]) -> None:
        """Fill in what this provider knows: its facts, copied onto each record with their provenance.

        Records whose ``needs_lookup`` is False are skipped; ``record.attributed`` is what is asked
        about (the embedded IPv4 of a translation address).
        """
        todo = [r for r in records if r.needs_lookup]
        if todo:
            facts = self.facts_many(parse_all([r.attributed for r in todo]))
            apply_all(todo, facts, self.sources())  # sources after the facts: some are learnt as they go

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

    def facts_many(self, addresses: Addresses) -> Facts:
        raise NotImplementedError(f"{type(self).__name__} fills records directly; it has no range facts")


def _fact_maker() -> Callable[..., RangeFact]:
    """``RangeFact(*values)`` (values in field order), three times faster, for facts made per network.

    A frozen dataclass sets each field through ``object.__setattr__``. Here the fields are set on a
    plain object with the same slots and the object then becomes a ``RangeFact`` (``__class__``
    assignment, which Python allows between classes of the same layout): the very object the
    constructor makes. Should the layout ever differ, the constructor is used.
    """
    names = [f.name for f in dataclasses.fields(RangeFact)]
    twin = type("_RangeFactInTheMaking", (), {"__slots__": tuple(names)})
    ns: dict[str, Any] = {"_blank": object.__new__, "_twin": twin, "_cls": RangeFact}
    args = ", ".join(f"a{i}" for i in range(len(names)))
    body = "".join(f"    o.{n} = a{i}\n" for i, n in enumerate(names))
    exec(f"def make_fact({args}):\n    o = _blank(_twin)\n{body}    o.__class__ = _cls\n    return o\n", ns)  # noqa: S102
    maker: Callable[..., RangeFact] = ns["make_fact"]
    probe: tuple[Any, ...] = tuple(range(len(names)))
    try:
        if maker(*probe) == RangeFact(*probe):
            return maker
    except TypeError:  # not the same layout
        pass
    return RangeFact


make_fact = _fact_maker()


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
    "registry": copy.copy,
    "holder": copy.deepcopy,
    "registry_chain": _copy_chain,
    "abuse": copy.copy,
}
_LOCATION = frozenset({"country", "represented_country", "continent", "subdivision", "city", "latitude",
                       "longitude", "accuracy_km", "time_zone", "is_anycast"})
_SPECIAL = frozenset({"prefix", "rfc", "globally_reachable"})


def apply_all(records: Sequence[AddressRecord], facts: Facts, sources: Iterable[SourceInfo]) -> None:
    """The record view of a batch: ``facts`` (one entry per record, in order) copied onto the records."""
    if len(facts) != len(records):
        raise ValueError(f"{len(facts)} answers for {len(records)} addresses")
    view = _View({s.id: s for s in sources})
    apply, plans, planned = view.apply, view.plans, view.planned
    errors = facts.errors
    for i, (rec, ranges) in enumerate(zip(records, facts.ranges, strict=True)):
        if len(ranges) == 1:  # the common case: one range whose field list many share, planned
            fact = ranges[0]
            plan = plans.get(id(fact.fields))
            if plan is not None:
                planned(rec, fact, plan)
            else:
                apply(rec, ranges)
        elif ranges:
            apply(rec, ranges)
        if errors and i in errors:
            rec.errors.extend(errors[i])


def apply_facts(record: AddressRecord, ranges: Ranges, sources: Mapping[str, SourceInfo]) -> None:
    """The record view of one address: its ranges copied onto the record, each field's source noted.

    ``sources`` maps every source id the facts name to its ``SourceInfo``. Slots are won as ``winner``
    says: with several ranges, a field is taken from a range only where no earlier range owns its slot.
    """
    _View(sources).apply(record, ranges)


# Where the record view puts a field, by path: (what, attribute, path noted, slot).
_LOC, _ASN, _REGISTERED, _TRAIT, _SPECIAL_BLOCK, _SPECIAL_ATTR, _OBJECT, _NOWHERE = range(8)
_Place = tuple[int, str, str, str]


def _place(path: str) -> _Place:
    head, _, attr = path.partition(".")
    slot = SLOTS.get(path, path)
    if head == "location" and attr in _LOCATION:
        return _LOC, attr, path, slot
    if path in ("asn.number", "asn.name", "asn.network"):
        return _ASN, attr, path, slot
    if path == "registered_country":
        return _REGISTERED, path, path, slot
    if head == "traits" and attr:
        return _TRAIT, attr, path, slot
    if path == "special.prefix":
        return _SPECIAL_BLOCK, attr, "special", slot  # the block is noted as a whole
    if head == "special" and attr in _SPECIAL:
        return _SPECIAL_ATTR, attr, "special", slot
    if path in _OBJECTS:
        return _OBJECT, path, path, slot
    return _NOWHERE, path, path, slot  # a fact no record field holds (it still travels in the RangeFact)


def _prefix(fact: RangeFact) -> str | None:
    """``fact.prefix``, written with the address codec (database ranges are CIDR blocks)."""
    size = fact.end - fact.start + 1
    if size > 0 and not size & (size - 1) and not fact.start & (size - 1):
        return network_text(fact.version, fact.start, (32 if fact.version == 4 else 128) - size.bit_length() + 1)
    return fact.prefix


_UNSET: Any = object()


class _Plan:
    """Copying one field list onto records, worked out for a list many ranges share (an AS, a country):
    the fields grouped so that a record takes them in a few steps (dict updates, one AsnInfo)."""

    __slots__ = ("location", "registered", "asn", "traits", "rest", "provenance", "sources")

    def __init__(self, fields: tuple[tuple[str, Any, str], ...], places: dict[str, _Place],
                 sources: Mapping[str, SourceInfo]) -> None:
        self.location: list[tuple[str, Any]] = []
        self.registered: Any = _UNSET
        self.asn: list[Any] | None = None  # [number, name, network] (_UNSET: not given; None network: the prefix)
        self.traits: dict[str, Any] = {}
        self.rest: list[tuple[int, str, Any]] = []  # the other fields, one by one
        self.provenance: dict[str, str] = {}
        self.sources: dict[str, SourceInfo] = {}
        for path, value, sid in fields:
            what, attr, noted, _slot = places[path]
            if what == _LOC:
                self.location.append((attr, value))
            elif what == _REGISTERED:
                self.registered = value
            elif what == _ASN:
                if self.asn is None:
                    self.asn = [_UNSET, _UNSET, _UNSET]
                self.asn[("number", "name", "network").index(attr)] = value
            elif what == _TRAIT:
                self.traits[attr] = value
            elif what == _NOWHERE:
                continue
            else:
                self.rest.append((what, attr, value))
            self.provenance[noted] = sid
            self.sources.setdefault(sid, sources[sid])


class _View:
    """The record view of one batch.

    A field list met once is copied field by field; one met again gets a ``_Plan``. Plans and prefixes
    are kept for this batch only (its facts are alive while it runs, so their ids are theirs).
    """

    __slots__ = ("sources", "places", "seen", "plans", "prefixes")

    def __init__(self, sources: Mapping[str, SourceInfo]) -> None:
        self.sources = sources
        self.places: dict[str, _Place] = {}
        self.seen: set[int] = set()
        self.plans: dict[int, _Plan] = {}
        self.prefixes: dict[int, str | None] = {}

    def apply(self, record: AddressRecord, ranges: Ranges) -> None:
        if len(ranges) != 1:
            # The best range gives all its fields; each later one those of slots no earlier one has.
            best = ranges[0]
            self._fields(record, best, None)
            places = self.places
            owned = {places[p][3] for p, _v, _s in best.fields}
            for r in ranges[1:]:
                owned |= self._fields(record, r, owned)
            return
        fact = ranges[0]
        key = id(fact.fields)
        plan = self.plans.get(key)
        if plan is None:
            if key not in self.seen:
                self.seen.add(key)
                self._fields(record, fact, None)
                return
            self._places(fact)
            plan = self.plans[key] = _Plan(fact.fields, self.places, self.sources)
        self.planned(record, fact, plan)

    def _places(self, fact: RangeFact) -> dict[str, _Place]:
        places = self.places
        for path, _v, _s in fact.fields:
            if path not in places:
                places[path] = _place(path)
        return places

    def _prefix(self, fact: RangeFact) -> str | None:
        got = self.prefixes.get(id(fact), False)
        if got is False:
            got = self.prefixes[id(fact)] = _prefix(fact)  # the range is the announced prefix
        return got  # type: ignore[return-value]

    def planned(self, record: AddressRecord, fact: RangeFact, plan: _Plan) -> None:
        if plan.location:
            loc = record.location
            for attr, value in plan.location:
                setattr(loc, attr, value)
        if plan.registered is not _UNSET:
            record.registered_country = plan.registered
        if plan.asn is not None:
            number, name, network = plan.asn
            if network is None:
                network = self._prefix(fact)
            asn = record.asn
            if asn is None:
                record.asn = AsnInfo(None if number is _UNSET else number, None if name is _UNSET else name,
                                     None if network is _UNSET else network)
            else:
                for attr, value in (("number", number), ("name", name), ("network", network)):
                    if value is not _UNSET:
                        setattr(asn, attr, value)
        if plan.traits:
            record.traits.update(plan.traits)
        for what, attr, value in plan.rest:
            self._put(record, fact, what, attr, value)
        record.provenance.update(plan.provenance)
        srcs = record.sources
        if srcs:
            for sid, source in plan.sources.items():
                srcs.setdefault(sid, source)
        else:
            srcs.update(plan.sources)

    def _fields(self, record: AddressRecord, fact: RangeFact, owned: set[str] | None) -> set[str]:
        """One range's fields, one by one (with ``owned``: only those of slots no better range gave)."""
        prov, srcs, sources, places = record.provenance, record.sources, self.sources, self.places
        mine: set[str] = set()
        loc = record.location
        for path, value, sid in fact.fields:
            place = places.get(path)
            if place is None:
                place = places[path] = _place(path)
            what, attr, noted, slot = place
            if owned is not None:
                if slot in owned:
                    continue  # a better range gave this slot
                mine.add(slot)
            if what == _LOC:
                setattr(loc, attr, value)
            elif what == _ASN:
                asn = record.asn
                if asn is None:
                    asn = record.asn = AsnInfo()
                setattr(asn, attr, self._prefix(fact) if attr == "network" and value is None else value)
            elif what == _REGISTERED:
                record.registered_country = value
            elif what == _NOWHERE:
                continue
            else:
                self._put(record, fact, what, attr, value)
            prov[noted] = sid
            if sid not in srcs:
                srcs[sid] = sources[sid]
        return mine

    def _put(self, record: AddressRecord, fact: RangeFact, what: int, attr: str, value: Any) -> None:
        if what == _ASN:
            asn = record.asn
            if asn is None:
                asn = record.asn = AsnInfo()
            setattr(asn, attr, self._prefix(fact) if attr == "network" and value is None else value)
        elif what == _TRAIT:
            record.traits[attr] = value
        elif what == _SPECIAL_BLOCK:
            record.special = Special(label=fact.special or "special", name=fact.name or "", prefix=value)
        elif what == _SPECIAL_ATTR:
            if record.special is not None:
                setattr(record.special, attr, value)
        elif what == _OBJECT:
            setattr(record, attr, _OBJECTS[attr](value))
