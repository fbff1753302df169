"""``ipowner.enrich()``: the offline facts of many addresses, as shared per-range objects.

``lookup()`` builds one ``AddressRecord`` per address with its own provenance; that costs tens of
microseconds an address. ``enrich()`` asks the same providers the same questions (``providers.chain``:
special-purpose block, looked-through IPv4, every MaxMind-format database, the RDAP cache) and hands
out, for each address, the ``RangeFact`` objects they answer with: each is made once, the first time an
address of its range is seen, and shared by every later address of that range. It never opens a socket.

What ``lookup(offline=True)`` says is these same facts copied onto records (``providers.base.apply_facts``),
so the two cannot disagree; the tests compare them anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from functools import partial
from itertools import chain, islice, repeat
from os import PathLike
from typing import TYPE_CHECKING, Any, NamedTuple

from ipowner._addr import Addresses, parse_many
from ipowner.errors import InvalidAddressError
from ipowner.lookups.lookup import default_chain, parse_query
from ipowner.model import LookedThrough, SourceInfo
from ipowner.model.ranges import RangeFact
from ipowner.providers.base import NO_ERRORS, NO_RANGES, winner, winners
from ipowner.providers.cloud import CloudRangeProvider
from ipowner.providers.delegations import DelegationProvider
from ipowner.providers.rdap import RdapProvider
from ipowner.providers.special import looked_through, special_of

if TYPE_CHECKING:
    from ipowner.providers.rdap import RdapConfig


class Enriched(NamedTuple):
    """The offline facts of one input, in input order (an input that is not an address gets ``errors``)."""

    query: str  # the input (as lookup() gives it: without surrounding whitespace)
    address: str | None  # canonical address; None when the input is not an address
    special: RangeFact | None  # the IANA special-purpose block (``.special`` is the label)
    looked_through: LookedThrough | None  # the IPv4 address a translation address carries
    ranges: tuple[RangeFact, ...]  # database ranges that matched, most authoritative first
    registration: RangeFact | None  # the RDAP cache's answer: holder, holder country, registry, handle
    errors: tuple[str, ...]  # one-line reasons something could not be answered
    delegation: RangeFact | None = None  # the registry of the block from the delegation statistics or IANA's
    #                                      tables (``registry``; its field "registry" is a ``Registration``)

    def get(self, path: str) -> tuple[Any, str] | None:
        """(value, source id) of a field by its ``AddressRecord`` path ("location.country", "asn.number",
        "holder", ...), from the range that wins it (the same choice ``lookup`` makes), or None."""
        reg = _REGISTRATION.get(path)
        if reg is not None:
            r = self.registration
            if r is None:
                return None
            column, noted = reg
            value = getattr(r, column)
            if value is None:
                return None
            return value, next((s for p, _v, s in r.fields if p == noted), r.source)
        return winner(self.ranges, path)

    def paths(self) -> dict[str, tuple[Any, str]]:
        """Every database field this address gets, path -> (value, source id)."""
        return winners(self.ranges)

    @property
    def country(self) -> str | None:
        return _value(self.get("location.country"))

    @property
    def registered_country(self) -> str | None:
        return _value(self.get("registered_country"))

    @property
    def asn(self) -> int | None:
        return _value(self.get("asn.number"))

    @property
    def as_name(self) -> str | None:
        return _value(self.get("asn.name"))

    @property
    def network(self) -> str | None:
        """The announced prefix of the AS answer."""
        return _value(self.get("asn.network"))

    @property
    def holder(self) -> str | None:
        return self.registration.holder if self.registration else None

    @property
    def holder_country(self) -> str | None:
        return self.registration.holder_country if self.registration else None

    @property
    def registry(self) -> str | None:
        return self.registration.registry if self.registration else None


# The registration's answers by record path: (its flat column, the field whose source it names).
_REGISTRATION = {
    "holder": ("holder", "holder"), "holder.country": ("holder_country", "holder"),
    "network.registry": ("registry", "network"), "network.handle": ("handle", "network"),
}


def _value(got: tuple[Any, str] | None) -> Any:
    return None if got is None else got[0]


BATCH = 1024  # inputs read ahead: the providers' loops run over a list, and iteration stays in C
_make = partial(tuple.__new__, Enriched)  # Enriched from one zipped row, without a Python frame


class Enrichment:
    """One offline enrichment run: the databases and the RDAP cache opened once, iterated per address.

    Iterate over it (or call ``run(addresses)`` for more batches with the same facts); ``sources`` lists
    every source a fact names, ``problems`` the databases or cache that could not be used. Close it
    (or use ``with``) to release the databases.
    """

    def __init__(
        self,
        addresses: Iterable[str] = (),
        *,
        mmdb: Sequence[str | PathLike[str]] = (),
        use_embedded: bool = True,
        discover: bool = True,
        rdap_cache: bool = True,
        rdap_config: RdapConfig | None = None,
    ) -> None:
        self._addresses = addresses
        self._closed = False
        # The same providers lookup(offline=True) uses, without evidence files.
        self._chain = default_chain(mmdb=mmdb, use_embedded=use_embedded, discover=discover, rdap=rdap_cache,
                                    rdap_config=rdap_config, online=False, evidence=False)
        self.special = self._chain.special
        kinds = [type(p) for p in self._chain.providers]
        # Where the registry table's and the RDAP cache's answers are in the chain (None: not asked).
        self._delegation = kinds.index(DelegationProvider) if DelegationProvider in kinds else None
        self._registration = kinds.index(RdapProvider) if RdapProvider in kinds else None
        self._cloud = kinds.index(CloudRangeProvider) if CloudRangeProvider in kinds else None
        self._final: tuple[dict[str, SourceInfo], list[str]] | None = None

    @property
    def sources(self) -> dict[str, SourceInfo]:
        """Source id -> source, for every source a fact handed out so far may name."""
        if self._final is not None:
            return self._final[0]
        out: dict[str, SourceInfo] = {}
        for provider in (self._chain.special, *self._chain.providers):
            for s in provider.sources():
                out.setdefault(s.id, s)
        return out

    @property
    def problems(self) -> list[str]:
        """The databases or cache that could not be used, one line each."""
        if self._final is not None:
            return self._final[1]
        return [message for _kind, message in self._chain.problems()]

    def close(self) -> None:
        if not self._closed:
            self._final = (self.sources, self.problems)  # still there once the providers are gone
            self._closed = True
            self._chain.close()

    def __enter__(self) -> Enrichment:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Enriched]:
        return chain.from_iterable(self._batches(self._addresses, close=True))

    def run(self, addresses: Iterable[str]) -> Iterator[Enriched]:
        """One ``Enriched`` per input, in order (inputs are read ahead in batches of ``BATCH``)."""
        return chain.from_iterable(self._batches(addresses))

    def _batches(self, addresses: Iterable[str], close: bool = False) -> Iterator[Iterator[Enriched]]:
        if self._closed:
            raise ValueError("this enrichment run is closed (iterating it closes it): start a new one")
        if isinstance(addresses, str):
            addresses = [addresses]
        it = iter(addresses)
        try:
            while batch := list(islice(it, BATCH)):
                yield self._batch(batch)
        finally:
            if close:
                self.close()

    def _batch(self, inputs: list[str]) -> Iterator[Enriched]:
        """The answers of one batch, made as they are read: each ``Enriched`` can be dropped before the
        next is made, so that a long run leaves nothing behind for the garbage collector but the facts."""
        addresses, others = parse_many(inputs)
        if not others:
            return self._answers(inputs, addresses)
        # Inputs that are not plain addresses, as lookup() reads them: an address (the query then loses
        # its surrounding whitespace) or an error line in its place.
        queries, addresses, bad = _slow(inputs, addresses, others)
        out = list(self._answers(queries, addresses))
        for i, e in bad:
            out.insert(i, e)
        return iter(out)

    def _answers(self, queries: list[str], addresses: Addresses) -> Iterator[Enriched]:
        """The chain's answers, one ``Enriched`` per address, built column by column (most columns are
        the same value throughout: no special address, no error, nothing in the RDAP cache)."""
        got = self._chain.answers(addresses)
        n = len(addresses)
        db = got.facts[0]
        reg = got.facts[self._registration] if self._registration is not None else None
        deleg = got.facts[self._delegation] if self._delegation is not None else None
        delegation: Iterable[RangeFact | None]
        if deleg is not None and any(deleg.ranges):
            delegation = got.spread([r[0] if r else None for r in deleg.ranges], None)
        else:
            delegation = repeat(None, n)
        cloud = got.facts[self._cloud] if self._cloud is not None else None
        assert db is not None
        db_ranges = db.ranges
        if cloud is not None and any(cloud.ranges):
            # The cloud range files' facts follow the databases', as they do on a record.
            db_ranges = [a + b if b else a for a, b in zip(db_ranges, cloud.ranges, strict=True)]
        ranges = got.spread(db_ranges, NO_RANGES)
        if reg is not None and any(reg.ranges):
            registration: Iterable[RangeFact | None] = got.spread([r[0] if r else None for r in reg.ranges], None)
        else:
            registration = repeat(None, n)
        reg_errors = reg.errors if reg is not None else {}
        if db.errors or reg_errors:
            errors: Iterable[tuple[str, ...]] = got.spread([
                db.errors.get(j, NO_ERRORS) + reg_errors.get(j, NO_ERRORS) for j in range(len(got.asked))
            ], NO_ERRORS)
        else:
            errors = repeat(NO_ERRORS, n)
        blocks: Iterable[RangeFact | None]
        carried: Iterable[LookedThrough | None]
        if got.special:
            blocks, carried = [None] * n, [None] * n
            for i, f in got.special.items():
                blocks[i], carried[i] = special_of(f), looked_through(f)
        else:
            blocks, carried = repeat(None, n), repeat(None, n)
        return map(_make, zip(queries, addresses.texts, blocks, carried, ranges, registration, errors, delegation,
                              strict=True))


def _slow(inputs: list[str], fast: Addresses, others: list[int]) -> tuple[list[str], Addresses,
                                                                         list[tuple[int, Enriched]]]:
    """The batch again, with the inputs at ``others`` (those ``fast`` lacks) read as ``lookup`` reads
    queries: the addresses with their queries, and an ``Enriched`` with the one-line error of each input
    that is none, at its position."""
    queries: list[str] = []
    addresses = Addresses()
    bad: list[tuple[int, Enriched]] = []
    slow = set(others)
    plain = iter(fast)
    for i, q in enumerate(inputs):
        if i not in slow:
            queries.append(q)
            addresses.append(next(plain))
            continue
        try:
            p = parse_query(q)
        except InvalidAddressError as exc:
            bad.append((i, Enriched(q, None, None, None, (), None, (str(exc),))))
            continue
        if p.parsed is None:
            bad.append((i, Enriched(q, None, None, None, (), None, (f"{p.text}: cannot resolve offline",))))
            continue
        queries.append(p.text)  # as lookup() gives it: without surrounding whitespace
        addresses.append(p.parsed)
    return queries, addresses, bad


def enrich(
    addresses: Iterable[str],
    *,
    mmdb: Sequence[str | PathLike[str]] = (),
    use_embedded: bool = True,
    discover: bool = True,
    rdap_cache: bool = True,
    rdap_config: RdapConfig | None = None,
) -> Enrichment:
    """The offline facts of many addresses: iterate for one ``Enriched`` per input, in input order.

    Same sources as ``lookup(offline=True)``: ``mmdb`` (extra MaxMind-format databases, most specific
    answer per field wins), the shipped database (``use_embedded``), those found in the usual places
    (``discover``) and, with ``rdap_cache``, holders already in the RDAP cache (``rdap_config``: where
    it is; default ``RdapConfig.from_env()``). Never opens a socket; hostnames get an error, not an answer.
    Each range's facts are one shared ``RangeFact``: compare them by identity, do not expect copies.
    """
    return Enrichment(addresses, mmdb=mmdb, use_embedded=use_embedded, discover=discover,
                      rdap_cache=rdap_cache, rdap_config=rdap_config)


__all__ = ["Enriched", "Enrichment", "enrich"]
