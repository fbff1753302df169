"""``ipowner.enrich()``: the offline facts of many addresses, as shared per-range objects.

``lookup()`` builds one ``AddressRecord`` per address with its own provenance; that costs tens of
microseconds an address. ``enrich()`` answers the same offline questions (special-purpose block,
looked-through IPv4, every MaxMind-format database, the RDAP cache) but hands out, for each address,
the ``RangeFact`` objects of the ranges it falls in: each is built once, the first time an address
of its range is seen, and shared by every later address of that range. Per address it only parses
(``inet_pton``), bisects the special-purpose segments, reads each database
(``get_with_prefix_len``, memoised by network) and bisects the RDAP cache's ranges (read with one
query when the run starts). It never opens a socket.

The facts equal what ``lookup(offline=True)`` says for the same address (the tests check this).
"""

from __future__ import annotations

import dataclasses
import gc
import socket
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, islice
from os import PathLike
from typing import TYPE_CHECKING, Any, NamedTuple

from ipowner.errors import InvalidAddressError, IpownerError
from ipowner.model import LookedThrough, SourceInfo, SourceKind
from ipowner.model.ranges import RangeFact
from ipowner.providers.mmdb.reader import _LOOKUP_PREFIX, MmdbProvider, _facts_embedded, _one_line
from ipowner.providers.special import SpecialProvider, flat_registry

if TYPE_CHECKING:
    from ipowner.providers.rdap._config import RdapConfig


class Enriched(NamedTuple):
    """The offline facts of one input, in input order (an input that is not an address gets ``errors``)."""

    query: str  # the input (as lookup() gives it: without surrounding whitespace)
    address: str | None  # canonical address; None when the input is not an address
    special: RangeFact | None  # the IANA special-purpose block (``.special`` is the label)
    looked_through: LookedThrough | None  # the IPv4 address a translation address carries
    ranges: tuple[RangeFact, ...]  # database ranges that matched, most authoritative first
    registration: RangeFact | None  # the RDAP cache's answer: holder, holder country, registry, handle
    errors: tuple[str, ...]  # one-line reasons something could not be answered

    def get(self, path: str) -> tuple[Any, str] | None:
        """(value, source id) of a field by its ``AddressRecord`` path ("location.country", "asn.number",
        "holder", ...), from the range that wins it (the same choice ``lookup`` makes), or None."""
        if path in _REGISTRATION:
            r = self.registration
            if r is not None:
                for p, v, s in r.fields:
                    if p == path:
                        return None if v is None else (v, s)
            return None
        slot = _SLOTS.get(path)
        for r in self.ranges:
            found = None
            for p, v, s in r.fields:
                if p == path:
                    found = (r.prefix if p == "asn.network" else v, s)
                elif slot is None or _SLOTS.get(p) != slot:
                    continue
                else:
                    found = found or False  # the slot is this range's, even without this path
            if found is not None:
                return found or None
        return None

    def paths(self) -> dict[str, tuple[Any, str]]:
        """Every database field this address gets, path -> (value, source id)."""
        out: dict[str, tuple[Any, str]] = {}
        for r in self.ranges:
            for p in {p for p, _v, _s in r.fields}:
                if p not in out:
                    got = self.get(p)
                    if got is not None:
                        out[p] = got
        return out

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


# Fields that travel together: the winner of one is the winner of all (as in lookup()).
_SLOTS = {
    "asn.number": "asn", "asn.name": "asn", "asn.network": "asn",
    "location.latitude": "coords", "location.longitude": "coords", "location.accuracy_km": "coords",
}
_REGISTRATION = frozenset({"holder", "holder.country", "network.registry", "network.handle"})


def _value(got: tuple[Any, str] | None) -> Any:
    return None if got is None else got[0]


BATCH = 1024  # inputs read ahead: the loop runs over a list, and iteration stays in C
_new = tuple.__new__
_PTON, _NTOP, _AF4, _AF6 = socket.inet_pton, socket.inet_ntop, socket.AF_INET, socket.AF_INET6
# Frozen dataclasses set each field through object.__setattr__; a range met once per address of a
# large batch cannot afford that, so facts are made by setting the slots directly (the same object
# RangeFact(...) makes), in a function written out once for the current field list.
def _make_fact_builder() -> Any:
    names = [f.name for f in dataclasses.fields(RangeFact)]
    ns: dict[str, Any] = {"_blank": object.__new__, "_cls": RangeFact}
    ns.update({f"_s{i}": RangeFact.__dict__[n].__set__ for i, n in enumerate(names)})
    args = ", ".join(f"a{i}" for i in range(len(names)))
    body = "".join(f"    _s{i}(o, a{i})\n" for i in range(len(names)))
    exec(f"def _fact({args}):\n    o = _blank(_cls)\n{body}    return o\n", ns)  # noqa: S102
    return ns["_fact"]


_fact = _make_fact_builder()
_NO_RANGES: tuple[RangeFact, ...] = ()
_NO_ERRORS: tuple[str, ...] = ()


class Enrichment:
    """One offline enrichment run: the databases and the RDAP cache opened once, iterated per address.

    Iterate over it (or call ``run(addresses)`` for more batches with the same memo); ``sources`` lists
    every source id a fact names, ``problems`` the databases or cache that could not be used. Close it
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
        if isinstance(mmdb, (str, PathLike)):
            mmdb = [mmdb]
        self._addresses = addresses
        self._closed = False
        self.special = SpecialProvider()
        self.sources: dict[str, SourceInfo] = {self.special.source.id: self.special.source}
        self._provider = MmdbProvider(tuple(str(p) for p in mmdb), use_embedded=use_embedded, discover=discover)
        self.problems: list[str] = list(self._provider.problems)
        self._dbs = list(self._provider._dbs)
        for s in self._provider.sources():
            self.sources.setdefault(s.id, s)
        # per database, per IP version: network key -> (fact,) or ()
        self._memo: list[tuple[dict[int, Any], dict[int, Any]]] = [({}, {}) for _ in self._dbs]
        self._fields: dict[Any, tuple[tuple[str, Any, str], ...]] = {}
        # per database: field path -> source id (the embedded database's inputs differ per field)
        self._ids = [{p: src.id for p, src in db.by_path.items()} for db in self._dbs]
        for ids, db in zip(self._ids, self._dbs, strict=True):
            for p in ("location.country", "registered_country", "asn.number", "asn.name", "asn.network"):
                ids.setdefault(p, db.source.id)
        self._embedded = [db.map is _facts_embedded for db in self._dbs]
        self._specials: dict[tuple[str, str], RangeFact] = {}
        self._flat: tuple[Any, ...] | None = None
        self._rdap: Any = None
        self._cache: Any = None
        self._index: Any = None
        self._registrations: dict[int, tuple[RangeFact | None, str | None]] = {}
        if rdap_cache:
            self._open_rdap(rdap_config)

    # -- set-up ------------------------------------------------------------------------------------
    def _open_rdap(self, config: RdapConfig | None) -> None:
        from ipowner.providers.rdap._cache import RdapCache
        from ipowner.providers.rdap._client import AsyncRdapClient
        from ipowner.providers.rdap._config import RdapConfig

        try:
            cfg = config if config is not None else RdapConfig.from_env()
            cfg = dataclasses.replace(cfg, offline=True, evidence_dir=None)
            self._cache = RdapCache(cfg.cache_dir, ttl=cfg.cache_ttl)
            self._index = self._cache.index()
        except IpownerError as exc:
            self.problems.append(str(exc))
            if self._cache is not None:
                self._cache.close()
            self._cache = self._index = None
            return
        self._rdap = AsyncRdapClient(cfg, cache=self._cache)

    def close(self) -> None:
        self._closed = True
        self._provider.close()
        if self._cache is not None:
            self._cache.close()
            self._cache = None

    def __enter__(self) -> Enrichment:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Enriched]:
        return chain.from_iterable(self._batches(self._addresses, close=True))

    # -- facts built once per range ------------------------------------------------------------------
    def _db_fact(self, i: int, data: Any, plen: int, version: int, n: int) -> RangeFact | None:
        db = self._dbs[i]
        if self._embedded[i]:
            # Our own layout, read as lookup() reads it; anything unexpected goes the general way below.
            try:
                c = data.get("country")
                cc = None if c is None else c["iso_code"]
                c = data.get("registered_country")
                rc = None if c is None else c["iso_code"]
                asn = data.get("autonomous_system_number")
                name = None if asn is None else data.get("autonomous_system_organization")
            except (AttributeError, KeyError, TypeError):
                cc = rc = 0
            key = (cc, rc, asn, name)
            fields = self._fields.get(key)
            if fields is None and (
                (cc is None or type(cc) is str) and (rc is None or type(rc) is str)
                and (asn is None or (type(asn) is int and asn > 0)) and (name is None or type(name) is str)
            ):
                ids = self._ids[i]
                got = [(p, v, ids[p]) for p, v in (("location.country", cc), ("registered_country", rc),
                                                    ("asn.number", asn), ("asn.name", name)) if v is not None]
                if asn is not None:
                    got.append(("asn.network", None, ids["asn.network"]))
                fields = self._fields[key] = tuple(got)
            if fields is not None:
                if not fields:
                    return None
                shift = (32 if version == 4 else 128) - plen
                start = n >> shift << shift
                return _fact(start, start + (1 << shift) - 1, version, db.source.id, None, None, asn, name, cc, rc,
                             None, None, None, None, None, None, None, fields)
        facts = db.map(data)
        if not facts:
            return None
        ids = self._ids[i]
        default = db.source.id
        shift = (32 if version == 4 else 128) - plen
        start = n >> shift << shift
        # Many ranges share one set of facts (an AS, a country): their field tuples are shared too.
        key = (i, tuple(facts.items()))
        fields = self._fields.get(key)
        if fields is None:
            got = [(p, v, ids.get(p, default)) for p, v in facts.items()]
            if "asn.number" in facts:
                got.append(("asn.network", None, ids["asn.network"]))  # the value is the range's own prefix
            fields = self._fields[key] = tuple(got)
        return _fact(start, start + (1 << shift) - 1, version, default, None, None, facts.get("asn.number"),
                     facts.get("asn.name"), facts.get("location.country"), facts.get("registered_country"),
                     None, None, None, None, None, None, None, fields)

    def _special_fact(self, label: str, name: str, prefix: str, rfc: str | None, reachable: bool | None) -> RangeFact:
        key = (prefix, label)
        fact = self._specials.get(key)
        if fact is None:
            import ipaddress

            net = ipaddress.ip_network(prefix)
            sid = self.special.source.id
            fact = self._specials[key] = RangeFact(
                start=int(net.network_address), end=int(net.broadcast_address), version=net.version, source=sid,
                special=label, name=name,
                fields=(("special.prefix", prefix, sid), ("special.rfc", rfc, sid),
                        ("special.globally_reachable", reachable, sid)),
            )
        return fact

    def _segment_facts(self, blocks: list[Any]) -> list[RangeFact | None]:
        """The special-purpose fact of each flattened segment (None outside every block)."""
        return [None if b is None else self._special_fact(b.label, b.name, str(b.network), b.rfc,
                                                         b.globally_reachable) for b in blocks]

    def _registration(self, rowid: int, address: str) -> tuple[RangeFact | None, str | None]:
        got = self._registrations.get(rowid)
        if got is not None:
            return got
        from ipowner.providers.rdap._client import _drive
        from ipowner.providers.rdap._provider import _source

        fact: RangeFact | None = None
        error: str | None = None
        cached = self._index.answer(rowid)
        if cached is not None:
            try:
                ans = _drive(self._rdap.from_cache(address, cached))
            except IpownerError as exc:
                ans = None
                error = f"RDAP: {exc}"
            if ans is not None and ans.error:
                error = ans.error
            elif ans is not None and ans.decision is not None and ans.network is not None:
                d, net = ans.decision, ans.network
                src = _source(ans, ans.url)
                self.sources.setdefault(src.id, src)
                # The holder may rest on an entity response rather than the network's (as in lookup).
                hid = src.id if d.claims.get("holder", ans.url) == ans.url else (
                    f"rdap:{ans.registry or 'unknown'}:entity:{d.holder.handle}")
                registry = d.nir.name if d.nir else (d.rir.name if d.rir else None)
                if hid != src.id:
                    self.sources.setdefault(hid, SourceInfo(id=hid, kind=SourceKind.RDAP, name=f"{src.name} entity",
                                                            date=src.date, path=d.claims.get("holder")))
                fact = RangeFact(
                    start=cached.lo, end=cached.hi, version=cached.version, source=src.id,
                    holder=d.holder.name, holder_country=d.holder.country,
                    registry=registry, handle=net.handle, name=net.name,
                    fields=(("holder", d.holder.name, hid), ("holder.country", d.holder.country, hid),
                            ("network.registry", registry, src.id), ("network.handle", net.handle, src.id)),
                )
        got = self._registrations[rowid] = (fact, error)
        return got

    # -- the hot loop ----------------------------------------------------------------------------------
    def run(self, addresses: Iterable[str]) -> Iterator[Enriched]:
        """One ``Enriched`` per input, in order (inputs are read ahead in batches of ``BATCH``)."""
        return chain.from_iterable(self._batches(addresses))

    def _batches(self, addresses: Iterable[str], close: bool = False) -> Iterator[list[Enriched]]:
        if self._closed:
            raise ValueError("this enrichment run is closed (iterating it closes it): start a new one")
        if isinstance(addresses, str):
            addresses = [addresses]
        it = iter(addresses)
        try:
            while batch := list(islice(it, BATCH)):
                # Cyclic collection paused while a batch is made (only while this code runs, never while
                # the caller's does): the facts made here stay referenced, so it would only find nothing.
                paused = gc.isenabled()
                if paused:
                    gc.disable()
                try:
                    out = self._batch(batch)
                finally:
                    if paused:
                        gc.enable()
                yield out
        finally:
            if close:
                self.close()

    def _batch(self, addresses: list[str]) -> list[Enriched]:
        out: list[Enriched] = []
        put = out.append
        if self._flat is None:
            flat = flat_registry(self.special.registry)
            self._flat = (flat[4][0], self._segment_facts(flat[4][1]), flat[6][0], self._segment_facts(flat[6][1]),
                          flat[6][2])
        s4, f4, s6, f6, t6 = self._flat
        dbs = [(i, db.get, db.ipv4_only, db.tier, self._memo[i]) for i, db in enumerate(self._dbs)]
        seg = self._index.segments if self._index is not None else {}
        c4, o4 = seg.get(4, ([0], [None]))
        c6, o6 = seg.get(6, ([0], [None]))
        rdap4, rdap6 = len(c4) > 1, len(c6) > 1  # an empty cache costs nothing per address
        registrations = self._registrations
        db_fact, new, bis = self._db_fact, _new, bisect_right
        pton, ntop, frombytes, af4, af6 = _PTON, _NTOP, int.from_bytes, _AF4, _AF6
        no_ranges, no_errors = _NO_RANGES, _NO_ERRORS
        single = len(dbs) == 1
        if single:
            k, get, v4only, _tier, memo = dbs[0]
            memo4, memo6 = memo
        for q in addresses:
            # Parse (inline: this loop runs once per address).
            try:
                if ":" in q:
                    packed = pton(af6, q)
                    n = frombytes(packed, "big")
                    if n >> 32 == 0:
                        raise ValueError  # IPv4-compatible ::/96: the C library prints it differently
                    addr, v = ntop(af6, packed), 6
                else:
                    n, addr, v = frombytes(pton(af4, q), "big"), q, 4
            except (OSError, ValueError, TypeError):
                got = self._slow_parse(q)
                if type(got) is str:
                    put(new(Enriched, (q, None, None, None, no_ranges, None, (got,))))
                    continue
                addr, v, n, q = got  # type: ignore[misc]  # q: the input without surrounding whitespace
            lt = None
            if v == 4:
                sp = f4[bis(s4, n) - 1]
                if sp is not None:
                    put(new(Enriched, (q, addr, sp, None, no_ranges, None, no_errors)))
                    continue
                target, tv, tn = addr, 4, n
            else:
                i = bis(s6, n) - 1
                sp = f6[i]
                if t6[i]:
                    # A translation prefix: the IPv4 address it carries is what the databases are asked about.
                    special, lt = self.special.classify(addr)
                    if special is not None:
                        sp = self._special_fact(special.label, special.name, special.prefix, special.rfc,
                                                special.globally_reachable)
                    if lt is None or lt.special is not None:
                        put(new(Enriched, (q, addr, sp, lt, no_ranges, None, no_errors)))
                        continue
                    target, tv, tn = lt.ipv4, 4, frombytes(pton(af4, lt.ipv4), "big")
                elif sp is not None:
                    put(new(Enriched, (q, addr, sp, None, no_ranges, None, no_errors)))
                    continue
                else:
                    target, tv, tn = addr, 6, n
            errors: Any = no_errors
            # Databases: one read each; a range's fact is built the first time the range is seen.
            if single:
                ranges = no_ranges
                if tv == 4 or not v4only:
                    try:
                        data, plen = get(target)
                    except Exception as exc:
                        errors = (self._read_error(k, target, exc),)
                    else:
                        if data is not None:
                            if tv == 4:
                                key = tn >> (32 - plen) << 8 | plen
                                ranges = memo4.get(key)
                                if ranges is None:
                                    fact = db_fact(k, data, plen, 4, tn)
                                    ranges = memo4[key] = (fact,) if fact is not None else no_ranges
                            else:
                                key = tn >> (128 - plen) << 8 | plen
                                ranges = memo6.get(key)
                                if ranges is None:
                                    fact = db_fact(k, data, plen, 6, tn)
                                    ranges = memo6[key] = (fact,) if fact is not None else no_ranges
            else:
                hits: list[tuple[tuple[int, int, int], RangeFact]] = []
                for k, get, v4only, tier, memo in dbs:
                    if v4only and tv == 6:
                        continue
                    try:
                        data, plen = get(target)
                    except Exception as exc:
                        errors = (*errors, self._read_error(k, target, exc))
                        continue
                    if data is None:
                        continue
                    key = tn >> ((32 if tv == 4 else 128) - plen) << 8 | plen
                    table = memo[0] if tv == 4 else memo[1]
                    got_r = table.get(key)
                    if got_r is None:
                        fact = db_fact(k, data, plen, tv, tn)
                        got_r = table[key] = (fact,) if fact is not None else no_ranges
                    if got_r:
                        # user databases before the embedded one, then the longest prefix, then order
                        hits.append(((tier, -plen, k), got_r[0]))
                if len(hits) > 1:
                    hits.sort(key=_rank)
                ranges = tuple([h[1] for h in hits]) if hits else no_ranges
            # The RDAP cache.
            reg = None
            if tv == 4:
                rowid = o4[bis(c4, tn) - 1] if rdap4 else None
            else:
                rowid = o6[bis(c6, tn) - 1] if rdap6 else None
            if rowid is not None:
                got_reg = registrations.get(rowid)
                if got_reg is None:
                    got_reg = self._registration(rowid, target)
                reg = got_reg[0]
                if got_reg[1] is not None:
                    errors = (*errors, got_reg[1])
            put(new(Enriched, (q, addr, sp, lt, ranges, reg, errors)))
        return out

    def _slow_parse(self, q: str) -> tuple[str, int, int, str] | str:
        """What ``lookup`` makes of an input that is not a plain address: the address, or an error line."""
        from ipowner.lookups.lookup import parse_query

        try:
            p = parse_query(q)
        except InvalidAddressError as exc:
            return str(exc)
        if p.address is None:
            return f"{p.text}: cannot resolve offline"
        import ipaddress

        ip = ipaddress.ip_address(p.address)
        return p.address, ip.version, int(ip), p.text

    def _read_error(self, k: int, address: str, exc: BaseException) -> str:
        reason = _LOOKUP_PREFIX.sub("", _one_line(exc))
        return f"{self._dbs[k].path}: lookup of {address} failed ({reason})"


def _rank(hit: tuple[tuple[int, int, int], RangeFact]) -> tuple[int, int, int]:
    return hit[0]


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
