"""``ipowner.lookup()``: addresses and hostnames in, one record per address out.

Pipeline: parse each query -> resolve hostnames (unless offline) -> one ``AddressRecord`` per
address, in input order -> run the providers in order over the whole batch. The special-purpose
provider always runs first, because every later provider skips special addresses and attributes
the IPv4 address carried inside translation addresses (``record.attributed``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from os import PathLike
from typing import Any

import idna

from ipowner._addr import Address, Addresses, parse, parse_address
from ipowner.errors import InvalidAddressError, IpownerError, ResolutionError
from ipowner.lookups.resolve import DEFAULT_TIMEOUT, Resolver, SystemResolver, resolve_all, resolver_source
from ipowner.model import AddressRecord, ErrorKind, Resolution, SourceInfo
from ipowner.model.lookup import LookupResult, QueryError, RdapRun
from ipowner.providers.base import Provider
from ipowner.providers.chain import Chain
from ipowner.providers.cloud import CloudRangeProvider
from ipowner.providers.mmdb.reader import MmdbProvider
from ipowner.providers.rdap import RdapConfig, RdapProvider

_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")


@dataclass(frozen=True, slots=True)
class ParsedQuery:
    text: str  # as given, whitespace stripped
    address: str | None = None  # canonical address, without zone id
    hostname: str | None = None  # ASCII (IDNA) form, lower case, no trailing dot
    parsed: Address | None = None  # the address as (text, version, integer)


def parse_query(text: str) -> ParsedQuery:
    """An address (IPv4, IPv6 with zone id or brackets) or a hostname; ``InvalidAddressError`` otherwise."""
    got = parse(text)
    if got is not None:  # the common case: a plain address, no whitespace, brackets or zone id
        return ParsedQuery(text, address=got[0], parsed=got)
    raw = text.strip()
    if not raw:
        raise InvalidAddressError(repr(text), "empty input")
    s = raw[1:-1].strip() if raw.startswith("[") and raw.endswith("]") else raw
    addr = s.split("%", 1)[0] if ":" in s else s
    try:
        got = parse_address(addr)
    except ValueError as exc:
        ip_error = str(exc)
    else:
        return ParsedQuery(raw, address=got[0], parsed=got)
    if ":" in s or "/" in s or s.replace(".", "").isdigit():
        reason = "is a network, not an address" if "/" in s else f"not a valid IP address ({ip_error})"
        raise InvalidAddressError(raw, reason)
    return ParsedQuery(raw, hostname=_hostname(raw))


def _hostname(raw: str) -> str:
    name = raw[:-1] if raw.endswith(".") else raw
    try:
        ascii_name = idna.encode(name, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError, ValueError):
        try:
            ascii_name = name.encode("idna").decode("ascii")
        except UnicodeError:
            raise InvalidAddressError(raw, "neither an IP address nor a valid hostname") from None
    ascii_name = ascii_name.lower()
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or not all(_LABEL.match(label) for label in labels) or labels[-1].isdigit():
        raise InvalidAddressError(raw, "neither an IP address nor a valid hostname")
    return ascii_name


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
    problems: list[tuple[str, str]] = []
    if cloud_snapshot or cloud_ranges:
        try:
            providers.append(CloudRangeProvider([str(p) for p in cloud_ranges], snapshot=cloud_snapshot))
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
    queries: Iterable[str] | str,
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

    ``queries``: addresses (IPv4, IPv6, with zone id or in brackets) and hostnames (IDNA allowed).
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
    for q in queries:
        try:
            parsed.append(parse_query(q))
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
    if providers is None and result.records:
        chain = default_chain(mmdb=mmdb, use_embedded=use_embedded, discover=discover, rdap_config=rdap_config,
                              online=not offline and rdap, progress=progress, cloud_ranges=cloud_ranges)
    else:
        chain = Chain(providers or ())
    with chain:
        if result.records:
            chain.enrich(result.records, addresses)
        for kind, message in chain.problems():
            result.errors.append(QueryError(None, ErrorKind(kind), message))
        rdap_stats = chain.stats().get("rdap")
        result.rdap = RdapRun.from_dict(rdap_stats) if rdap_stats is not None else None
        consulted = {s.id: s for s in chain.sources()} if result.records else {}

    # 5. Sources: every one consulted plus any a record names (the resolver).
    for rec in result.records:
        for sid, s in rec.sources.items():
            consulted.setdefault(sid, s)
    result.sources = [consulted[k] for k in sorted(consulted)]
    return result


__all__ = ["LookupResult", "ParsedQuery", "QueryError", "default_chain", "lookup", "parse_query"]
