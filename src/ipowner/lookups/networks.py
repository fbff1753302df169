"""A CIDR block or range answered as a network: the known ranges inside it, and what they hold.

The walk goes from the network's first address to its last, one block at a time: a block is the largest
stretch from the current address that no data source splits (a special-purpose block, or the smallest
network any database's tree puts the address in, with data or without). Adjacent blocks with the same
facts are joined. At most ``MAX_BLOCKS`` blocks are walked; a wider network (``0.0.0.0/0``, ``2000::/3``)
is summarised up to where the walk stopped, and says so.

The registry objects (RDAP IP networks) are walked the same way, object after object, at most
``MAX_OBJECTS`` (online, each is a query; offline, only objects in the RDAP cache are known, and the walk
stops at the first address none is known for, with a note saying so).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ipowner._addr import Address, Addresses, parse_address, text4, text6
from ipowner.lookups.queries import NetworkQuery
from ipowner.model.lookup import NetworkBlock, NetworkSummary, NetworkTally, RegistryObject
from ipowner.model.ranges import RangeFact
from ipowner.providers.base import Provider, winner
from ipowner.providers.mmdb.reader import MmdbProvider
from ipowner.providers.rdap import RdapProvider
from ipowner.providers.special import SpecialProvider, special_of

MAX_BLOCKS = 4096  # database blocks walked per network
MAX_OBJECTS = 16  # registry objects per network (online: one RDAP query each)


def _text(version: int, n: int) -> str:
    return text4(n) if version == 4 else text6(n)


def _address(version: int, n: int) -> Address:
    return _text(version, n), version, n


def _one(address: Address) -> Addresses:
    out = Addresses()
    out.append(address)
    return out


def _prefix(version: int, first: int, last: int) -> str | None:
    return NetworkQuery("", version, first, last).cidr


@dataclass(slots=True)
class _Block:
    first: int
    last: int
    facts: tuple[Any, ...]  # (special, country, registered country, asn, as name)
    sources: dict[str, None] = field(default_factory=dict)


def _database_facts(ranges: Iterable[RangeFact]) -> tuple[tuple[Any, ...], list[str]]:
    got = list(ranges)
    values: list[Any] = [None]
    sources: list[str] = []
    for path in ("location.country", "registered_country", "asn.number", "asn.name"):
        w = winner(got, path)
        values.append(None if w is None else w[0])
        if w is not None and w[1] not in sources:
            sources.append(w[1])
    return tuple(values), sources


def _walk_blocks(q: NetworkQuery, special: SpecialProvider, mmdb: MmdbProvider | None,
                 errors: list[str]) -> tuple[list[_Block], int]:
    """The blocks from the network's first address on, joined; and the address the walk stopped before."""
    blocks: list[_Block] = []
    top = (1 << (32 if q.version == 4 else 128)) - 1
    pos, walked = q.first, 0
    while pos <= q.last and walked < MAX_BLOCKS:
        walked += 1
        addr = _address(q.version, pos)
        end = min(q.last, special.segment_end(q.version, pos))
        got = special.classify_many(_one(addr)).special.get(0)
        block = special_of(got) if got else None
        sources: list[str] = []
        if block is not None:
            facts: tuple[Any, ...] = (block.special, None, None, None, None)
            sources = [block.source]
        elif mmdb is not None:
            answer = mmdb.facts_many(_one(addr))
            ranges = answer.ranges[0]
            for e in answer.errors.get(0, ()):
                if e not in errors:
                    errors.append(e)
            facts, sources = _database_facts(ranges)
            ends = [r.end for r in ranges]
            bound = mmdb.block_end(addr)
            end = min([end, *ends] + ([bound] if bound is not None else []))
        else:
            facts = (None, None, None, None, None)
        end = max(end, pos)  # never walk backwards, whatever a source says
        if blocks and blocks[-1].facts == facts and blocks[-1].last + 1 == pos:
            blocks[-1].last = end
        else:
            blocks.append(_Block(pos, end, facts))
        blocks[-1].sources.update(dict.fromkeys(sources))
        if end >= top:
            return blocks, q.last + 1
        pos = end + 1
    return blocks, pos


def _walk_objects(q: NetworkQuery, special: SpecialProvider, rdap: Provider, offline: bool,
                  notes: list[str], errors: list[str]) -> list[RegistryObject]:
    objects: list[RegistryObject] = []
    pos = q.first
    while pos <= q.last:
        if len(objects) >= MAX_OBJECTS:
            notes.append(f"more than {MAX_OBJECTS} registry objects: the first {MAX_OBJECTS} are listed, "
                         f"up to {objects[-1].last}")
            break
        addr = _address(q.version, pos)
        if special.classify_many(_one(addr)).special.get(0):
            pos = min(q.last, special.segment_end(q.version, pos)) + 1
            continue
        answer = rdap.facts_many(_one(addr))
        reg = answer.ranges[0][0] if answer.ranges and answer.ranges[0] else None
        if reg is None:
            why = "; ".join(answer.errors.get(0, ())) or (
                "not in the RDAP cache (offline: look it up online once)" if offline else "no registry object")
            notes.append(f"no registry object known for {addr[0]}: {why}")
            break
        start, end = _object_range(reg)
        if not start <= pos <= end:  # a source that does not hold the address it answered for: stop, never loop
            errors.append(f"{q.text}: the registry object for {addr[0]} does not hold it; walk stopped")
            break
        objects.append(RegistryObject(
            first=_text(q.version, start), last=_text(q.version, end), handle=reg.handle, name=reg.name,
            holder=reg.holder, holder_country=reg.holder_country, registry=reg.registry,
            covers_network=start <= q.first and end >= q.last, source=reg.source))
        pos = end + 1
    return objects


def _object_range(reg: RangeFact) -> tuple[int, int]:
    """The registry object's own range (its network's start and end), else the range the answer stands for."""
    for path, value, _sid in reg.fields:
        if path == "network":
            try:
                start, end = parse_address(value.start), parse_address(value.end)
            except (AttributeError, TypeError, ValueError):
                break
            if start[1] == end[1] == reg.version and start[2] <= end[2]:
                return start[2], end[2]
            break
    return reg.start, reg.end


def _tally(rows: Iterable[tuple[str | None, str | None, int]]) -> list[NetworkTally]:
    out: dict[str | None, NetworkTally] = {}
    for key, name, n in rows:
        t = out.get(key)
        if t is None:
            out[key] = NetworkTally(key, name, n, 1)
        else:
            t.addresses += n
            t.blocks += 1
            t.name = t.name or name
    return sorted(out.values(), key=lambda t: (t.key is None, -t.addresses, t.key or ""))


def summarise(q: NetworkQuery, special: SpecialProvider, providers: Iterable[Provider], *, offline: bool,
              errors: list[str]) -> NetworkSummary:
    """The summary of one network from the chain's providers (database blocks, then registry objects)."""
    ps = list(providers)
    mmdb = next((p for p in ps if isinstance(p, MmdbProvider)), None)
    rdap = next((p for p in ps if isinstance(p, RdapProvider)), None)
    notes: list[str] = []
    walked, stop = _walk_blocks(q, special, mmdb, errors)
    if stop <= q.last:
        notes.append(f"wide network: the first {MAX_BLOCKS} database blocks are summarised, up to "
                     f"{_text(q.version, stop - 1)} ({stop - q.first} of {q.size} addresses); give a narrower "
                     "network for the rest")
    blocks = []
    for b in walked:
        sp, cc, rc, asn, name = b.facts
        blocks.append(NetworkBlock(first=_text(q.version, b.first), last=_text(q.version, b.last),
                                   prefix=_prefix(q.version, b.first, b.last), addresses=b.last - b.first + 1,
                                   special=sp, country=cc, registered_country=rc, asn=asn, as_name=name,
                                   sources=list(b.sources)))
    objects = _walk_objects(q, special, rdap, offline, notes, errors) if rdap is not None else []
    if rdap is None:
        notes.append("registry objects not asked (RDAP is off)")
    public = [b for b in blocks if b.special is None]
    summary = NetworkSummary(
        query=q.text, network=q.name, version=q.version, first=q.first_text, last=q.last_text,
        addresses=q.size, summarised=sum(b.addresses for b in blocks), complete=stop > q.last, blocks=blocks,
        by_asn=_tally((f"AS{b.asn}" if b.asn is not None else None, b.as_name, b.addresses) for b in public),
        by_country=_tally((b.country, None, b.addresses) for b in public),
        by_registered_country=_tally((b.registered_country, None, b.addresses) for b in public),
        registry_objects=objects,
        by_holder=_tally((o.holder, o.holder_country, _overlap(q, o)) for o in objects),
        notes=notes,
    )
    return summary


def _overlap(q: NetworkQuery, o: RegistryObject) -> int:
    first, last = parse_address(o.first)[2], parse_address(o.last)[2]
    return max(0, min(last, q.last) - max(first, q.first) + 1)


__all__ = ["MAX_BLOCKS", "MAX_OBJECTS", "summarise"]
