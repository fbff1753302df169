"""``ipowner.lookup()``: addresses and hostnames in, one record per address out.

Pipeline: parse each query -> resolve hostnames (unless offline) -> one ``AddressRecord`` per
address, in input order -> run the providers in order over the whole batch. The special-purpose
provider always runs first, because every later provider skips special addresses and attributes
the IPv4 address carried inside translation addresses (``record.attributed``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from os import PathLike
from typing import Any

from ipowner._addr import Address, Addresses, parse, parse_address
from ipowner.errors import InputNotFoundError, InvalidAddressError, IpownerError, ResolutionError
from ipowner.lookups.networks import summarise
from ipowner.lookups.queries import (
    AddressQuery,
    BadQuery,
    HostnameQuery,
    NetworkQuery,
    Query,
    parse_item,
)
from ipowner.lookups.resolve import DEFAULT_TIMEOUT, Resolver, SystemResolver, resolve_all, resolver_source
from ipowner.model import AddressRecord, ErrorKind, Resolution, SourceInfo
from ipowner.model.lookup import LookupResult, QueryError, RdapRun
from ipowner.providers.base import Provider
from ipowner.providers.chain import Chain
from ipowner.providers.cloud import CloudRangeProvider
from ipowner.providers.delegations import DelegationProvider
from ipowner.providers.mmdb.reader import MmdbProvider
from ipowner.providers.rdap import RdapConfig, RdapProvider


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    text: str  # as given, whitespace stripped
    address: str | None = None  # canonical address, without zone id
    hostname: str | None = None  # ASCII (IDNA) form, lower case, no trailing dot
    parsed: Address | None = None  # the address as (text, version, integer)


def parse_query(text: str) -> ParsedQuery:
    """An address (IPv4, IPv6 with zone id or brackets, with a port or in a URL) or a hostname (also with
    a port or in a URL), by ``queries.parse_item``'s rules; ``InvalidAddressError`` for anything else
    (a network, an AS number, free text: the command line answers those, ``lookup()`` answers addresses)."""
    got = parse(text)
    if got is not None:  # the common case: a plain address, no whitespace, brackets or zone id
        return ParsedQuery(text, address=got[0], parsed=got)
    return from_query(_one(text))


def _one(text: str) -> Query:
    items = parse_item(text)
    if len(items) != 1:
        raise InvalidAddressError(text.strip(), "free text with several queries in it, not one address")
    q = items[0]
    if isinstance(q, BadQuery):
        raise InvalidAddressError(q.text, q.reason)
    return q


def from_query(q: Query) -> ParsedQuery:
    """The ``ParsedQuery`` of a typed address or hostname query; ``InvalidAddressError`` for the others."""
    if isinstance(q, AddressQuery):
        return ParsedQuery(q.text, address=q.address, parsed=q.parsed)
    if isinstance(q, HostnameQuery):
        return ParsedQuery(q.text, hostname=q.hostname)
    if isinstance(q, NetworkQuery):
        raise InvalidAddressError(q.text, "is a network, not an address")
    raise InvalidAddressError(q.text, "is an AS number, not an address")


def default_chain(
    *,
    mmdb: Sequence[str | PathLike[str]] = (),
    use_embedded: bool = True,
    discover: bool = True,
    rdap: bool = True,
    rdap_config: RdapConfig | None = None,
    online: bool = True,
    evidence: bool = True,
    progress: Callable[[int, int], None] | None = None,
    cloud_ranges: Sequence[str | PathLike[str]] = (),
    cloud_snapshot: bool = True,
) -> Chain:
    """The providers ``lookup()`` and ``enrich()`` use, owned by the chain (closed with it).

    Location and ASN come from MaxMind-format databases; ownership (holder, registry chain) from RDAP
    after them, with ``rdap_config`` as its settings (default ``RdapConfig.from_env()``; not ``online``:
    cached answers only; not ``evidence``: no evidence files). Settings that cannot be read cost the
    RDAP provider only, as a "database" problem. ``cloud_ranges``: a user's provider range files, each
    replacing the shipped snapshot's list of its kind (``cloud_snapshot``: read the snapshot at all).
    """
    if isinstance(mmdb, (str, PathLike)):
        mmdb = [mmdb]  # one path, not a sequence of characters
    providers: list[Provider] = [MmdbProvider(tuple(str(p) for p in mmdb), use_embedded=use_embedded,
                                              discover=discover)]
    if use_embedded:
        providers.append(DelegationProvider())  # the registry of each block, from the shipped registry table
    problems: list[tuple[str, str]] = []
    if cloud_snapshot or cloud_ranges:
        try:
            providers.append(CloudRangeProvider([str(p) for p in cloud_ranges], snapshot=cloud_snapshot))
        except InputNotFoundError:
            raise  # a file the caller named that is not there, as traffic() and report() raise it
        except IpownerError as exc:
            problems.append(("database", str(exc)))
    if rdap:
        try:
            cfg = rdap_config if rdap_config is not None else RdapConfig.from_env()
        except IpownerError as exc:
            problems.append(("database", str(exc)))
        else:
            changes: dict[str, Any] = {}
            if not online:
                changes["offline"] = True
            if not evidence:
                changes["evidence_dir"] = None
            if changes:
                cfg = dataclasses.replace(cfg, **changes)  # never edit the caller's settings
            providers.append(RdapProvider(cfg, progress=progress))
    return Chain(providers, own=True, problems=problems)


def lookup(
    queries: Iterable[str | Query] | str,
    *,
    offline: bool = False,
    mmdb: Sequence[str | PathLike[str]] = (),
    use_embedded: bool = True,
    discover: bool = True,
    resolver: Resolver | Callable[[str], list[str]] | None = None,
    resolve_timeout: float = DEFAULT_TIMEOUT,
    providers: Sequence[Provider] | None = None,
    rdap: bool = True,
    rdap_config: RdapConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
    cloud_ranges: Sequence[str | PathLike[str]] = (),
) -> LookupResult:
    """Look up addresses and hostnames; never raises for one bad input.

    ``queries``: addresses (IPv4, IPv6, with zone id or in brackets, with a port, in a URL) and hostnames
    (IDNA allowed), as text or as ``lookups.queries`` queries. Networks are answered when given as
    ``NetworkQuery`` (``queries.parse_item("8.8.8.0/24")``), in ``result.networks``: the database blocks
    inside, their AS and countries, and the registry objects; as text, a network is an error here, as it is
    for ``enrich()``, so that the two read text the same way.
    ``offline``: no socket is opened; hostnames are reported as errors, addresses answered.
    ``mmdb``: extra MaxMind-format databases (most specific answer per field wins);
    ``use_embedded``/``discover``: the shipped database and those found in the usual places.
    ``resolver``: a callable hostname -> list of addresses (default: the system resolver, abandoned
    when no answer has come for ``resolve_timeout`` seconds).
    ``providers``: replaces the data providers (the special-purpose provider still runs first);
    providers passed in are not closed.
    ``rdap``: ask the registries over RDAP for holder and registry chain; False (or ``offline``) answers
    from the RDAP cache only. ``rdap_config``: bootstrap, rewrites, limits, deadline, cache, evidence
    (default: ``RdapConfig.from_env()``). ``progress``: called with (done, total) as RDAP answers come.
    ``cloud_ranges``: a user's provider range files, newer than the shipped snapshot (``--cloud-ranges``).
    """
    if isinstance(queries, str):
        queries = [queries]
    if isinstance(mmdb, (str, PathLike)):
        mmdb = [mmdb]  # one path, not a sequence of characters
    result = LookupResult()

    # 1. Parse, keeping input order.
    parsed: list[ParsedQuery] = []
    networks: list[NetworkQuery] = []
    for q in queries:
        try:
            if isinstance(q, NetworkQuery):
                networks.append(q)
                continue
            parsed.append(parse_query(q) if isinstance(q, str) else from_query(q))
        except InvalidAddressError as exc:
            result.errors.append(QueryError(exc.input_name, ErrorKind.INVALID_ADDRESS, str(exc)))

    # 2. Resolve hostnames, all at once so that the timeout bounds the whole batch.
    hostnames = [p.hostname for p in parsed if p.hostname]
    answers: dict[str, list[str] | ResolutionError] = {}
    res_source: SourceInfo | None = None
    if hostnames and not offline:
        the_resolver = resolver if resolver is not None else SystemResolver(timeout=resolve_timeout)
        res_source = resolver_source(the_resolver)
        answers = resolve_all(hostnames, the_resolver)

    # 3. One record per address.
    addresses = Addresses()
    for p in parsed:
        if p.address is not None:
            assert p.parsed is not None
            result.records.append(AddressRecord(query=p.text, address=p.address))
            addresses.append(p.parsed)
            continue
        assert p.hostname is not None
        if offline:
            result.errors.append(QueryError(p.text, ErrorKind.OFFLINE, f"{p.text}: cannot resolve offline"))
            continue
        got = answers.get(p.hostname)
        if isinstance(got, ResolutionError) or not got:
            reason = got.reason if isinstance(got, ResolutionError) else "does not resolve"
            result.errors.append(QueryError(p.text, ErrorKind.RESOLUTION, f"{p.text}: {reason}"))
            continue
        assert res_source is not None
        for a in got:
            rec = AddressRecord(query=p.text, address=a)
            rec.resolution = Resolution(hostname=p.hostname, answers=list(got), resolver=res_source.name,
                                        time=res_source.date)
            rec.note("resolution", res_source)
            result.records.append(rec)
            addresses.append(parse_address(a))

    # 4. Providers, special first: each one's facts copied onto the records.
    if providers is None and (result.records or networks):
        chain = default_chain(mmdb=mmdb, use_embedded=use_embedded, discover=discover, rdap_config=rdap_config,
                              online=not offline and rdap, progress=progress, cloud_ranges=cloud_ranges)
    else:
        chain = Chain(providers or ())
    with chain:
        if result.records:
            chain.enrich(result.records, addresses)
        walk_errors: list[str] = []
        for nq in networks:
            result.networks.append(summarise(nq, chain.special, chain.providers, offline=offline or not rdap,
                                             errors=walk_errors))
        result.errors += [QueryError(None, ErrorKind.DATABASE, m) for m in walk_errors]
        for kind, message in chain.problems():
            result.errors.append(QueryError(None, ErrorKind(kind), message))
        rdap_stats = chain.stats().get("rdap")
        result.rdap = RdapRun.from_dict(rdap_stats) if rdap_stats is not None else None
        consulted = {s.id: s for s in chain.sources()} if result.records else {}
        if networks:
            for provider in (chain.special, *chain.providers):
                for s in provider.sources():
                    consulted.setdefault(s.id, s)

    # 5. Sources: every one consulted plus any a record names (the resolver).
    for rec in result.records:
        for sid, s in rec.sources.items():
            consulted.setdefault(sid, s)
    result.sources = [consulted[k] for k in sorted(consulted)]
    return result


__all__ = ["LookupResult", "ParsedQuery", "QueryError", "default_chain", "from_query", "lookup", "parse_query"]
