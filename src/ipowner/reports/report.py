"""``report()``: traffic in, ownership and jurisdiction out.

readers (``traffic()``) -> lookup of every internet destination (special ranges, databases, RDAP
with its cache, cloud ranges) -> jurisdiction judgement -> ``Report``. ``build_report`` is the
pure second half, for callers that already hold a ``TrafficResult`` and looked-up records; it
composes the judgement (``jurisdiction``), the rollups, the timelines, the data age notes
(``freshness``) and the policy gate (``policy``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from ipowner._version import __version__
from ipowner.lookups.lookup import lookup
from ipowner.model import AddressRecord, Destination, SourceInfo, TrafficResult
from ipowner.model.lookup import LookupResult, RdapRun
from ipowner.model.report import DestinationReport, Provenance, Report
from ipowner.providers.base import Provider
from ipowner.providers.cloud import CloudRangeProvider, load_cloud_ranges
from ipowner.providers.delegations import ipv4_space_source
from ipowner.providers.rdap import RdapConfig, is_rdap_reason, run_summary
from ipowner.reference.anycast import anycast_service, anycast_source
from ipowner.reference.cloud import CloudTable, cloud_table, region_table
from ipowner.reference.psl import psl_source, registered_domain
from ipowner.reports.freshness import age_notes, stale_summary
from ipowner.reports.jurisdiction import IANA_BASIS, judge
from ipowner.reports.names import by_evidence, from_certificate_only, names_by_evidence
from ipowner.reports.policy import Rule, evaluate, parse_rule
from ipowner.reports.rollups import location_key, rollups
from ipowner.reports.timeline import timelines

# ---------------------------------------------------------------------------------------------
# Building the report from traffic and records


def _ip_key(address: str) -> tuple[int, int]:
    try:
        ip = ipaddress.ip_address(address)
        return ip.version, int(ip)
    except ValueError:
        return 9, 0


def rank_key(d: DestinationReport) -> tuple[bool, int, int, tuple[int, int], str]:
    # Internet destinations first (ranked by bytes sent, the device's uploads), then LAN and other peers.
    return (d.scope != "internet", -d.bytes_sent, -d.bytes_received, _ip_key(d.address), d.address)


def _destination(d: Destination, rec: AddressRecord | None, table: CloudTable,
                 cloud_ranges: CloudRangeProvider | None, offline: bool) -> DestinationReport:
    """One destination of the traffic with its record and the judgement of it."""
    dr = DestinationReport.of(d, rec)
    # What the device asked for (SNI, Host, QUIC, DNS) before what a certificate claims.
    dr.destination.hostnames = by_evidence(dr.destination.hostnames)
    # Registered domains of the names the device used; a certificate's list of names (often dozens of
    # one operator's domains) counts only when it is all there is.
    named = names_by_evidence(dr.destination.hostnames)
    used = [n for n, sources in named if not from_certificate_only(sources)] or [n for n, _ in named]
    dr.domains = list(dict.fromkeys(dom for n in used if (dom := registered_domain(n))))
    if rec is not None:
        dr.jurisdiction = judge(rec, table=table, ranges=cloud_ranges, offline=offline)
    elif d.scope == "internet":
        dr.jurisdiction.verdict = "not looked up"
    else:
        dr.jurisdiction.location = f"{d.scope} peer"
        dr.jurisdiction.verdict = f"{d.scope} peer, not on the public internet: not looked up"
    return dr


class ReportBuilder:
    """The judgement of destinations one at a time, and every part of the report that is not the destinations
    or the rollups: the sources the judgement used, the capture span, the provenance, the timelines, the
    warnings. ``build_report`` gives it every destination at once; the DuckDB engine (``engines.report_duck``)
    batch after batch, keeping only what this object keeps (sums, flags, sources, each address's location key).
    """

    def __init__(self, *, sources: Sequence[SourceInfo] = (), cloud_ranges: CloudRangeProvider | None = None,
                 offline: bool = False, timeline: Mapping[str, object] | None = None) -> None:
        self.table = cloud_table()
        self.cloud_ranges = cloud_ranges
        self.offline = offline
        self.sources: dict[str, SourceInfo] = {s.id: s for s in sources}
        self.record_errors = False  # a record carried errors: the report is partial
        self._first: float | None = None
        self._last: float | None = None
        self._timeline = timeline  # the capture's timeline: only its addresses need a location key
        self.location_of: dict[str, str] = {}
        self._cloud = self._iana = self._placed = self._anycast = self._domains = False
        self._cloud_used: set[str] = set()

    def add_sources(self, sources: Iterable[SourceInfo]) -> None:
        """Sources a lookup consulted (first of each id)."""
        for s in sources:
            self.sources.setdefault(s.id, s)

    def judge(self, d: Destination, rec: AddressRecord | None) -> DestinationReport:
        """One destination with its record and the judgement of it; notes what the report's other parts need."""
        dr = _destination(d, rec, self.table, self.cloud_ranges, self.offline)
        if rec is not None:
            for sid, s in rec.sources.items():
                self.sources.setdefault(sid, s)
            self.record_errors = self.record_errors or bool(rec.errors)
        if dr.first_seen is not None:
            self._first = dr.first_seen if self._first is None else min(self._first, dr.first_seen)
        if dr.last_seen is not None:
            self._last = dr.last_seen if self._last is None else max(self._last, dr.last_seen)
        self._domains = self._domains or bool(dr.domains)
        if dr.scope == "internet":
            j = dr.jurisdiction
            if j.cloud is not None:
                self._cloud = True
                if j.cloud.source is not None:
                    self._cloud_used.add(j.cloud.source)
                self._placed = self._placed or bool(j.cloud.region_place)
            self._iana = self._iana or j.registry_basis == IANA_BASIS
            self._anycast = self._anycast or (dr.record is not None and bool(anycast_service(dr.record.attributed)))
            if self._timeline is None or dr.address in self._timeline:
                self.location_of[dr.address] = location_key(dr)
        return dr

    def _table_sources(self) -> None:
        # The tables the judgement used are sources too.
        all_sources = self.sources
        if self._cloud:
            ts = self.table.source()
            all_sources.setdefault(ts.id, ts)
        if self._iana:
            space = ipv4_space_source()
            all_sources.setdefault(space.id, space)
        if self.cloud_ranges is not None:
            # The user's files always (they were asked for); the snapshot's files and the region table where a
            # destination's cloud came from them.
            for s in self.cloud_ranges.sources():
                all_sources.setdefault(s.id, s)
            for s in self.cloud_ranges.snapshot_sources():
                if s.id in self._cloud_used:
                    all_sources.setdefault(s.id, s)
            if self._placed:
                rt = region_table().source()
                all_sources.setdefault(rt.id, rt)
        if self._anycast:
            anycast = anycast_source()
            all_sources.setdefault(anycast.id, anycast)
        if self._domains:
            ps = psl_source()
            all_sources.setdefault(ps.id, ps)

    def head(self, traffic: TrafficResult, *, command_line: list[str] | None = None, now: datetime | None = None,
             warnings: Sequence[str] = ()) -> Report:
        """The report without its destinations and rollups (and its policy): call once, after every ``judge``."""
        self._table_sources()
        start, end = _capture_span(traffic, self._first, self._last)
        mid = (start + end) / 2 if start is not None and end is not None else None
        notes = age_notes(self.sources.values(), mid)
        credits = sorted({s.credit for s in self.sources.values() if s.credit})
        prov = Provenance(
            tool_version=__version__,
            generated=now or datetime.now(UTC),
            command_line=command_line,
            offline=self.offline,
            inputs=list(traffic.inputs),
            capture_start=start,
            capture_end=end,
            byte_kind=traffic.byte_kind,
            data_sources=notes,
            credits=credits,
        )
        timeline, timeline_by_location = timelines(traffic.timeline, self.location_of)
        return Report(
            provenance=prov,
            timeline=timeline,
            timeline_by_location=timeline_by_location,
            timeline_bucket=traffic.timeline_bucket,
            warnings=list(dict.fromkeys([*traffic.warnings, *(w for i in traffic.inputs for w in i.warnings),
                                         *warnings, *stale_summary(notes)])),
            partial=traffic.partial or self.record_errors,
        )


def _capture_span(traffic: TrafficResult, first: float | None, last: float | None) -> tuple[float | None, float | None]:
    """First and last packet time: from the inputs, else from the destinations (their earliest and latest)."""
    firsts = [i.first_seen for i in traffic.inputs if i.first_seen is not None]
    lasts = [i.last_seen for i in traffic.inputs if i.last_seen is not None]
    return (min(firsts) if firsts else first), (max(lasts) if lasts else last)


def build_report(
    traffic: TrafficResult,
    records: dict[str, AddressRecord],
    *,
    sources: Sequence[SourceInfo] = (),
    cloud_ranges: CloudRangeProvider | None = None,
    offline: bool = False,
    command_line: list[str] | None = None,
    now: datetime | None = None,
    fail_on: Sequence[Rule | str] = (),
    warnings: Sequence[str] = (),
) -> Report:
    """Judge every destination of ``traffic`` with its record from ``records`` (keyed by address)."""
    builder = ReportBuilder(sources=sources, cloud_ranges=cloud_ranges, offline=offline)
    dests = [builder.judge(d, records.get(d.address)) for d in traffic.destinations]
    dests.sort(key=rank_key)
    report = builder.head(traffic, command_line=command_line, now=now, warnings=warnings)
    report.destinations = dests
    report.rollups = rollups([d for d in dests if d.scope == "internet"])
    if fail_on:
        rules = [r if isinstance(r, Rule) else parse_rule(r) for r in fail_on]
        report.policy = evaluate(report, rules)
    return report


# ---------------------------------------------------------------------------------------------
# The public entry point


def report(
    inputs: Sequence[str | Path] | str | Path | TrafficResult,
    *,
    offline: bool = False,
    mmdb: Sequence[str | Path] = (),
    use_embedded: bool = True,
    discover: bool = True,
    cloud_ranges: Sequence[str | Path] = (),
    device: Sequence[str] | str | None = None,
    fail_on: Sequence[Rule | str] = (),
    command_line: list[str] | None = None,
    providers: Sequence[Provider] | None = None,
    rdap: bool = True,
    rdap_config: RdapConfig | None = None,
    progress: Callable[[int, int], None] | None = None,
    now: datetime | None = None,
) -> Report:
    """Read captures or logs, look up every internet destination, judge it, and return a ``Report``.

    ``inputs``: paths of captures or logs (format detected from the content), or a ``TrafficResult``
    already read. ``offline``: no socket is opened (no resolver; registry answers from the RDAP
    cache only). ``rdap``: False asks no registry either (RDAP cache only). ``rdap_config``: the RDAP
    settings (bootstrap, refresh, chain, deadline, evidence folder), ``progress``: called with (done,
    total) as RDAP answers come, both as for ``lookup()``. ``mmdb``, ``use_embedded``, ``discover``,
    ``providers``: as for ``lookup()``. Addresses the registries could not answer keep their reasons in
    their records' ``errors``; the report's warnings count them in one line per run. ``cloud_ranges``: providers'
    published range files (AWS ip-ranges.json, Google cloud.json, Azure service tags...) for the region,
    each replacing the shipped snapshot's list of its kind.
    ``device``: the device's address(es), overriding the readers' guess. ``fail_on``: policy rules
    (``location:CN``, ...); the result is in ``Report.policy``.
    Raises ``InputError`` for an unreadable range file and ``UsageError`` for a bad rule; an input
    that can be read only in part makes the report ``partial`` instead.
    """
    rules = [r if isinstance(r, Rule) else parse_rule(r) for r in fail_on]
    ranges = load_cloud_ranges(cloud_ranges, snapshot=True)
    tr = inputs if isinstance(inputs, TrafficResult) else _read_traffic(inputs, device)
    wanted = [d.address for d in tr.destinations if d.scope == "internet"]
    records: dict[str, AddressRecord] = {}
    sources: list[SourceInfo] = []
    problems: list[str] = []
    if wanted:
        lr = lookup(wanted, offline=offline, mmdb=mmdb, use_embedded=use_embedded, discover=discover,
                    providers=providers, rdap=rdap, rdap_config=rdap_config, progress=progress,
                    cloud_ranges=cloud_ranges)
        records = {r.address: r for r in lr.records}
        sources = list(lr.sources)
        problems = lookup_problems(lr)
    try:
        rep = build_report(tr, records, sources=sources, cloud_ranges=ranges, offline=offline,
                           command_line=command_line, now=now, fail_on=rules, warnings=problems)
    finally:
        ranges.close()
    rep.partial = rep.partial or bool(problems)
    return rep


def lookup_problems(result: LookupResult) -> list[str]:
    """A lookup's problems as report warnings: each one, except that the addresses RDAP could not answer
    are counted in one summary line (their reasons stay in their records' ``errors``)."""
    tally = ProblemTally()
    tally.add(result)
    return tally.warnings()


class ProblemTally:
    """``lookup_problems`` over one lookup or batch after batch (the DuckDB engine's lookups share their
    providers, so the last batch's RDAP run counts them all)."""

    def __init__(self) -> None:
        self._errors: dict[str, None] = {}
        self._lines: list[str] = []
        self._rdap_failed = False
        self._rdap: RdapRun | None = None

    def add(self, result: LookupResult) -> None:
        for e in result.errors:
            self._errors.setdefault(e.message)
        for rec in result.records:
            for m in rec.errors:
                if is_rdap_reason(m):
                    self._rdap_failed = True
                else:
                    self._lines.append(f"{rec.query} ({rec.address}): {m}" if rec.query != rec.address
                                       else f"{rec.address}: {m}")
        self._rdap = result.rdap

    def warnings(self) -> list[str]:
        out = [*self._errors, *self._lines]
        line = run_summary(self._rdap)
        if self._rdap_failed or (line and self._rdap is not None and self._rdap.notes):
            out.append(line or "RDAP: some addresses could not be answered (each record's errors say why)")
        return out


def read_traffic(inputs: Sequence[str | Path] | str | Path, device: Sequence[str] | str | None) -> TrafficResult:
    """``traffic()`` over the report's inputs, with the device's address(es) when given."""
    return _read_traffic(inputs, device)


def _read_traffic(inputs: Sequence[str | Path] | str | Path, device: Sequence[str] | str | None) -> TrafficResult:
    from ipowner.capture.traffic import traffic

    paths = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    devices = [device] if isinstance(device, str) else list(device or [])
    return traffic([str(p) for p in paths], device=devices or None)
