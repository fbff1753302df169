"""Pairs to destinations: the engine's folded (device, destination, app) pairs become the traffic model."""

from __future__ import annotations

from array import array
from collections.abc import Iterator

from ipowner.capture.engine import Engine, PortKey, port_label, scope_of
from ipowner.capture.formats import CAPTURE_FORMATS
from ipowner.capture.pairs import CounterColumns, PairTable, SetColumn, TimeColumns
from ipowner.capture.rules import TIME_FIRST, TIME_LAST
from ipowner.model.counts import Counts
from ipowner.model.kinds import ByteKind, Concealment, Scope
from ipowner.model.traffic import (
    AppSummary,
    Destination,
    DeviceSummary,
    Hostname,
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


LABELS_MAX = 1 << 16  # port labels kept for reuse (a log can name any number of protocols)


def aggregate(engine: Engine, infos: list[InputInfo], *, pairs: bool = False) -> TrafficResult:
    """Fold every open flow, then sum the pairs per destination, device and app (and keep each pair as a
    row of ``TrafficResult.pairs`` when ``pairs``)."""
    res, rows = aggregate_rows(engine, infos, pairs=pairs)
    res.destinations = list(rows)
    return res


def aggregate_rows(engine: Engine, infos: list[InputInfo], *,
                   pairs: bool = False) -> tuple[TrafficResult, Iterator[Destination]]:
    """``aggregate`` with the destinations left out of the result: the iterator gives them in the result's
    order, each built as it is asked for (they are held as columns until then, not as records)."""
    engine.fold_all()
    byte_kind, mixed = byte_kind_of(infos)
    use_ip = byte_kind is ByteKind.IP
    res = TrafficResult(inputs=infos, byte_kind=byte_kind, timeline_bucket=engine.bucket)
    if mixed:
        res.warnings.append("captures and logs mixed: all byte counts shown are IP-level (frame sizes are not in logs)")
    given = engine.devices_given
    dests = _Destinations()
    devs: dict[str, DeviceSummary] = {}
    apps: dict[str, AppSummary] = {}
    l2b: set[str] = set()  # destinations reached by an Ethernet broadcast
    timeline: dict[str, dict[float, list[int]]] = {}
    untimed = 0  # pairs with a packet time no calendar holds
    labels: dict[PortKey, str] = {}  # port key -> its label, made once
    table, engine.pairs = engine.pairs, PairTable()
    table.index.clear()  # no pair is looked up any more
    keys, counted, times = table.keys, table.counts, table.times
    port_sets, timelines, broadcast = table.ports.rows, table.timelines, table.l2_broadcast
    for i, pair_key in enumerate(keys):
        assert pair_key is not None
        keys[i] = None  # each pair's key is let go once added: pairs and destinations are not all held twice
        dev, remote, app = pair_key
        fl, ps, pr, bs, br, ibs, ibr = counted.row(i)
        if use_ip:
            bs, br = ibs, ibr
        p_first, p_last = times.span(i)
        first, last = _when(p_first), _when(p_last)
        if (first is None) != (p_first is None) or (last is None) != (p_last is None):
            untimed += 1
        tl_flip = False
        if given and remote in given and dev not in given and dev is not None:
            # The pair's "device" is the peer of a device the user named: count it from the named side.
            dev, remote = remote, dev
            ps, pr, bs, br, ibs, ibr = pr, ps, br, bs, ibr, ibs
            tl_flip = True
        counts = (fl, ps, pr, bs, br, ibs, ibr)
        j = dests.row(remote)
        dests.counts.add(j, *counts)
        dests.times.seen(j, first, last)
        for key in port_sets[i]:
            label = labels.get(key)
            if label is None:
                label = port_label(key)
                if len(labels) < LABELS_MAX:
                    labels[key] = label
            dests.ports.add(j, label)
        # a device or app new to this destination: one more destination for its summary (no set per device)
        new_dev = dev is not None and dests.devices.add(j, dev)
        new_app = dests.apps.add(j, app) if app else False
        if pairs:
            row = TrafficPair(device=dev, address=remote, app=app, first_seen=first, last_seen=last,
                              ports=sorted((port_label(k) for k in port_sets[i]), key=_port_key))
            _add(row, counts)
            res.pairs.append(row)
        if i in broadcast:
            l2b.add(remote)
        ptl = timelines.pop(i, None)
        tl = timeline.setdefault(remote, {}) if ptl else {}
        for bk, (s, r) in (ptl or {}).items():
            if _when(bk * engine.bucket) is None:
                continue
            slot = tl.setdefault(bk, [0, 0])
            slot[0] += r if tl_flip else s
            slot[1] += s if tl_flip else r
        if dev is not None:
            v = devs.get(dev)
            if v is None:
                v = devs[dev] = DeviceSummary(address=dev)
            _add(v, counts)
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
            _add(a, counts)
            if new_app:
                a.destinations.append(remote)
    del table, keys, counted, times, port_sets, timelines, broadcast
    names = engine.names_of(dests.address)
    concealment = engine.concealment
    for row in res.pairs:
        row.scope, row.hostnames = Scope(scope_of(row.address, row.address in l2b)), names.get(row.address, [])
    order = dests.order()
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
    if len(infos) == 1:  # a pair's first time may be known and its last not, or back
        first_known, last_known = dests.times.bounds()
        if first_known is not None or last_known is not None:
            infos[0].first_seen, infos[0].last_seen = first_known, last_known

    def rows() -> Iterator[Destination]:
        for j in order:
            yield dests.record(j, l2b, names, concealment)

    return res, rows()


class _Destinations:
    """The destinations being summed, as columns (capture/pairs.py), in the order first seen."""

    __slots__ = ("index", "address", "counts", "times", "ports", "devices", "apps")

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.address: list[str] = []
        self.counts = CounterColumns()
        self.times = TimeColumns()
        self.ports: SetColumn[str] = SetColumn()
        self.devices: SetColumn[str] = SetColumn()
        self.apps: SetColumn[str] = SetColumn()

    def row(self, address: str) -> int:
        j = self.index.get(address)
        if j is None:
            j = self.index[address] = len(self.address)
            self.address.append(address)
            self.counts.append()
            self.times.append()
            self.ports.append()
            self.devices.append()
            self.apps.append()
        return j

    def order(self) -> array[int]:
        """Row numbers by bytes, then flows (both descending), then address: stable sorts one key at a time,
        so that no key tuple per destination is held (millions of destinations)."""
        self.index.clear()
        address = self.address
        order = sorted(range(len(address)), key=address.__getitem__)
        c = self.counts.cols
        order.sort(key=c[0].__getitem__, reverse=True)
        sent, received = c[3], c[4]
        order.sort(key=lambda j: sent[j] + received[j], reverse=True)
        return array("q", order)

    def record(self, j: int, l2b: set[str], names: dict[str, list[Hostname]],
               concealment: dict[str, dict[str, None]]) -> Destination:
        addr = self.address[j]
        fl, ps, pr, bs, br, ibs, ibr = self.counts.row(j)
        first, last = self.times.span(j)
        return Destination(
            address=addr, scope=Scope(scope_of(addr, addr in l2b)), flows=fl, packets_sent=ps, packets_received=pr,
            bytes_sent=bs, bytes_received=br, ip_bytes_sent=ibs, ip_bytes_received=ibr, first_seen=first,
            last_seen=last, hostnames=names.get(addr, []), ports=sorted(self.ports.rows[j], key=_port_key),
            devices=list(self.devices.rows[j]), apps=list(self.apps.rows[j]),
            concealment=[Concealment(c) for c in concealment.get(addr, {})])


def _add(into: Counts, counts: tuple[int, int, int, int, int, int, int]) -> None:
    fl, ps, pr, bs, br, ibs, ibr = counts
    into.flows += fl
    into.packets_sent += ps
    into.packets_received += pr
    into.bytes_sent += bs
    into.bytes_received += br
    into.ip_bytes_sent += ibs
    into.ip_bytes_received += ibr


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


__all__ = ["aggregate", "aggregate_rows", "budget_warnings", "byte_kind_of"]
