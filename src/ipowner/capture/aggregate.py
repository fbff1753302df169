"""Pairs to destinations: the engine's folded (device, destination, app) pairs become the traffic model."""

from __future__ import annotations

from operator import attrgetter

from ipowner.capture.engine import Engine, Pair, port_label, scope_of
from ipowner.capture.formats import CAPTURE_FORMATS
from ipowner.capture.rules import TIME_FIRST, TIME_LAST
from ipowner.model.counts import Counts
from ipowner.model.kinds import ByteKind, Concealment, Scope
from ipowner.model.traffic import (
    AppSummary,
    Destination,
    DeviceSummary,
    InputInfo,
    TrafficPair,
    TrafficResult,
)


def byte_kind_of(infos: list[InputInfo]) -> tuple[ByteKind, bool]:
    """(what the byte counts measure, whether captures and logs are mixed).

    Frame lengths when every input with byte counts is a capture; IP-level counts as soon as one is a
    log, since a log has no frame sizes to add to a capture's; none when no input counts bytes.
    """
    kinds = set()
    for i in infos:
        if i.format in CAPTURE_FORMATS:
            kinds.add(ByteKind.FRAME)
        elif i.format.startswith("zeek") or i.format in ("pcapdroid-csv", "csv"):
            kinds.add(ByteKind.IP)
    kind = ByteKind.IP if ByteKind.IP in kinds else ByteKind.FRAME if kinds else ByteKind.NONE
    return kind, len(kinds) == 2


def pair_counts(p: Pair, byte_kind: ByteKind) -> Counts:
    """A pair's counters, its ``bytes_*`` in the unit of ``byte_kind``."""
    use_ip = byte_kind is ByteKind.IP
    return Counts(
        flows=p.flows, packets_sent=p.packets_sent, packets_received=p.packets_received,
        bytes_sent=p.ip_bytes_sent if use_ip else p.bytes_sent,
        bytes_received=p.ip_bytes_received if use_ip else p.bytes_received,
        ip_bytes_sent=p.ip_bytes_sent, ip_bytes_received=p.ip_bytes_received,
    )


def aggregate(engine: Engine, infos: list[InputInfo], *, pairs: bool = False) -> TrafficResult:
    """Fold every open flow, then sum the pairs per destination, device and app (and keep each pair as a
    row of ``TrafficResult.pairs`` when ``pairs``)."""
    engine.fold_all()
    byte_kind, mixed = byte_kind_of(infos)
    res = TrafficResult(inputs=infos, byte_kind=byte_kind, timeline_bucket=engine.bucket)
    if mixed:
        res.warnings.append("captures and logs mixed: all byte counts shown are IP-level (frame sizes are not in logs)")
    given = engine.devices_given
    dests: dict[str, Destination] = {}
    devs: dict[str, DeviceSummary] = {}
    apps: dict[str, AppSummary] = {}
    l2b: set[str] = set()  # destinations reached by an Ethernet broadcast
    timeline: dict[str, dict[float, list[int]]] = {}
    untimed = 0  # pairs with a packet time no calendar holds
    folded = engine.pairs
    for pair_key in list(folded):  # each pair is let go once added: pairs and destinations are not all held twice
        dev, remote, app = pair_key
        p = folded.pop(pair_key)
        counts = pair_counts(p, byte_kind)
        first, last = _when(p.first_seen), _when(p.last_seen)
        if (first is None) != (p.first_seen is None) or (last is None) != (p.last_seen is None):
            untimed += 1
        tl_flip = False
        if given and remote in given and dev not in given and dev is not None:
            # The pair's "device" is the peer of a device the user named: count it from the named side.
            dev, remote = remote, dev
            counts = counts.reversed()
            tl_flip = True
        d = dests.get(remote)
        if d is None:
            d = dests[remote] = Destination(address=remote)
        d.add(counts)
        d.first_seen = _min(d.first_seen, first)
        d.last_seen = _max(d.last_seen, last)
        for key in p.ports:
            port = port_label(key)
            if port not in d.ports:
                d.ports.append(port)
        # a device or app new to this destination: one more destination for its summary (no set per device)
        new_dev = new_app = False
        if dev is not None and dev not in d.devices:
            d.devices.append(dev)
            new_dev = True
        if app and app not in d.apps:
            d.apps.append(app)
            new_app = True
        if pairs:
            row = TrafficPair(device=dev, address=remote, app=app, first_seen=first, last_seen=last,
                              ports=sorted((port_label(k) for k in p.ports), key=_port_key))
            row.add(counts)
            res.pairs.append(row)
        if p.l2_broadcast:
            l2b.add(remote)
        tl = timeline.setdefault(remote, {}) if p.timeline else {}
        for bk, (s, r) in p.timeline.items():
            if _when(bk * engine.bucket) is None:
                continue
            slot = tl.setdefault(bk, [0, 0])
            slot[0] += r if tl_flip else s
            slot[1] += s if tl_flip else r
        if dev is not None:
            v = devs.get(dev)
            if v is None:
                v = devs[dev] = DeviceSummary(address=dev)
            v.add(counts)
            v.first_seen = _min(v.first_seen, first)
            v.last_seen = _max(v.last_seen, last)
            if new_dev:
                v.destinations += 1
            if app and app not in v.apps:
                v.apps.append(app)
        if app:
            a = apps.get(app)
            if a is None:
                a = apps[app] = AppSummary(app=app)
            a.add(counts)
            if new_app:
                a.destinations.append(remote)
    engine.pairs = {}
    names = engine.names_of(list(dests))
    for addr, d in dests.items():
        d.scope = Scope(scope_of(addr, addr in l2b))
        d.hostnames = names.get(addr, [])
        d.concealment = [Concealment(c) for c in engine.concealment.get(addr, {})]
        d.ports.sort(key=_port_key)
    for row in res.pairs:
        dest = dests[row.address]
        row.scope, row.hostnames = dest.scope, dest.hostnames
    # by bytes, then flows (both descending), then address: stable sorts one key at a time, so that no key
    # tuple per destination is held (millions of destinations)
    ordered = list(dests.values())
    dests.clear()
    ordered.sort(key=attrgetter("address"))
    ordered.sort(key=attrgetter("flows"), reverse=True)
    ordered.sort(key=attrgetter("bytes_total"), reverse=True)
    res.destinations = ordered
    res.device_summaries = sorted(devs.values(), key=lambda v: (-v.bytes_total, v.address))
    res.devices = [v.address for v in res.device_summaries]
    res.app_summaries = sorted(apps.values(), key=lambda a: (-a.bytes_total, a.app))
    b = engine.bucket
    res.timeline = {addr: [(bk * b, s, r) for bk, (s, r) in sorted(tl.items())] for addr, tl in timeline.items() if tl}
    res.warnings.extend(budget_warnings(engine))
    if untimed:
        res.warnings.append(f"{untimed} {'flows carry' if untimed != 1 else 'flow carries'} packet times no calendar date holds "
                            "(damaged records): their times are unknown, their bytes are counted")
    for info in infos:
        info.first_seen, info.last_seen = _when(info.first_seen), _when(info.last_seen)
    firsts = [d.first_seen for d in res.destinations if d.first_seen is not None]
    lasts = [d.last_seen for d in res.destinations if d.last_seen is not None]
    if len(infos) == 1 and (firsts or lasts):  # a pair's first time may be known and its last not, or back
        infos[0].first_seen = min(firsts) if firsts else None
        infos[0].last_seen = max(lasts) if lasts else None
    return res


def budget_warnings(engine: Engine) -> list[str]:
    """One line per memory budget the capture went past (rules.Budget): what was summarised or spilled."""
    out = []
    b = engine.budget
    if engine.untimed_pairs and b.timeline:  # (a budget of 0: no timeline was asked for)
        out.append(f"memory budget: a timeline is kept for the first {b.timeline} (device, destination, app) "
                   f"pairs; the bytes of the {engine.untimed_pairs} later ones are in their totals only "
                   "(summarised)")
    if engine.names_dropped:
        out.append(f"memory budget: at most {b.names} names are kept per address from each source; "
                   f"{engine.names_dropped} more were counted, not kept (summarised)")
    if engine.spill is not None:
        out.append(f"memory budget: names of more than {b.named} addresses were learnt; those of "
                   f"{engine.spill.addresses} were spilled to a temporary file and read back for the destinations "
                   "(DNS answers for addresses never contacted cost disk, not memory)")
    return out


def _when(t: float | None) -> float | None:
    """A packet time, or None when no calendar date holds it (see ``rules.TIME_FIRST``)."""
    return t if t is not None and TIME_FIRST <= t <= TIME_LAST else None


def _port_key(p: str) -> tuple[str, int]:
    proto, _, num = p.partition("/")
    return (proto, int(num) if num.isdigit() else -1)


def _min(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


__all__ = ["aggregate", "budget_warnings", "byte_kind_of", "pair_counts"]
