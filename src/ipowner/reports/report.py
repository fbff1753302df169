"""``report()``: traffic in, ownership and jurisdiction out.

readers (``traffic()``) -> lookup of every internet destination (special ranges, databases, RDAP
with its cache, cloud ranges) -> jurisdiction judgement -> ``Report``. ``build_report`` is the
pure second half, for callers that already hold a ``TrafficResult`` and looked-up records.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from ipowner._version import __version__
from ipowner.lookups.lookup import lookup
from ipowner.model import AddressRecord, SourceInfo, SourceKind, TrafficResult
from ipowner.model.report import (
    DataSourceNote,
    DestinationReport,
    Provenance,
    Report,
    RollupRow,
)
from ipowner.providers.base import Provider
from ipowner.reference.countries import country_name
from ipowner.reports.jurisdiction import ANYCAST, CloudRanges, cloud_table, judge, load_cloud_ranges
from ipowner.reports.policy import Rule, evaluate, parse_rule

# Data more than this far from the capture's date describes another time than the traffic's.
STALE_DAYS = 90.0
# Kinds of source whose answers change over time (registries, databases, DNS); fixed tables do not warn.
DATED_KINDS = frozenset({"mmdb", "rdap", "cache", "ranges", "resolver"})

IANA_SPACE = SourceInfo(
    id="iana-ipv4-space",
    kind=SourceKind.IANA,
    name="IANA IPv4 Address Space Registry (/8 designations)",
    path="data/ipv4-address-space.csv",
    licence="IANA registry data, freely usable",
)


# ---------------------------------------------------------------------------------------------
# Registered domains (Public Suffix List snapshot bundled with the publicsuffixlist package)


@lru_cache(maxsize=1)
def _psl():  # type: ignore[no-untyped-def]
    # The bundled snapshot only: PublicSuffixList() with no source reads the package's own file and
    # never downloads (its updater is a separate module this code does not import).
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def psl_source() -> SourceInfo:
    import publicsuffixlist

    version = getattr(publicsuffixlist, "__version__", "")
    stamp = version.rsplit(".", 1)[-1]
    date = None
    if len(stamp) == 8 and stamp.isdigit():
        date = datetime(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:]), tzinfo=UTC)
    return SourceInfo(
        id="psl",
        kind=SourceKind.TABLE,
        name=f"Public Suffix List (snapshot in publicsuffixlist {version})",
        date=date,
        licence="MPL-2.0",
        credit="Public Suffix List, Mozilla Foundation (MPL 2.0)",
    )


def registered_domain(name: str) -> str | None:
    """The registrable domain of a hostname ("api.account.xiaomi.com" -> "xiaomi.com"), or None."""
    n = name.strip().rstrip(".").lower()
    if not n or "." not in n or len(n) > 253:
        return None
    try:
        ipaddress.ip_address(n)
        return None
    except ValueError:
        pass
    try:
        return _psl().privatesuffix(n)
    except Exception:  # a hostile or malformed name is not a domain, never an error
        return None


# ---------------------------------------------------------------------------------------------
# Building the report from traffic and records


def _ip_key(address: str) -> tuple[int, int]:
    try:
        ip = ipaddress.ip_address(address)
        return ip.version, int(ip)
    except ValueError:
        return 9, 0


def _rank_key(d: DestinationReport) -> tuple:
    # Internet destinations first (ranked by bytes sent, the device's uploads), then LAN and other peers.
    return (d.scope != "internet", -d.bytes_sent, -d.bytes_received, _ip_key(d.address), d.address)


def _rollup(dests: list[DestinationReport], keys_of) -> list[RollupRow]:  # type: ignore[no-untyped-def]
    rows: dict[str, RollupRow] = {}
    for d in dests:
        for key, label in keys_of(d):
            row = rows.get(key)
            if row is None:
                row = rows[key] = RollupRow(key=key, label=label)
            row.add(d.destination)
            row.destinations += 1
    return sorted(rows.values(), key=lambda r: (-r.bytes_sent, -r.bytes_received, r.key == "", r.key))


def _location_key(d: DestinationReport) -> list[tuple[str, str]]:
    j = d.jurisdiction
    if j.anycast:
        return [("anycast", ANYCAST)]
    if j.location_country:
        return [(j.location_country, country_name(j.location_country) or j.location_country)]
    return [("", "unknown")]


def _holder_country_key(d: DestinationReport) -> list[tuple[str, str]]:
    c = d.jurisdiction.holder_country
    return [(c, country_name(c) or c)] if c else [("", "unknown")]


def _holder_key(d: DestinationReport) -> list[tuple[str, str]]:
    j = d.jurisdiction
    if j.holder is None:
        return [("", "unknown")]
    label = j.holder + (" (inferred)" if j.holder_inferred else "")
    return [(j.holder_handle or j.holder, label)]


def _asn_key(d: DestinationReport) -> list[tuple[str, str]]:
    j = d.jurisdiction
    if j.asn is None:
        return [("", "unknown")]
    return [(f"AS{j.asn}", f"AS{j.asn}" + (f" {j.as_name}" if j.as_name else ""))]


def _registry_key(d: DestinationReport) -> list[tuple[str, str]]:
    j = d.jurisdiction
    if not j.registry and not j.nir:
        return [("", "unknown")]
    key = " > ".join(x for x in (j.registry, j.nir) if x)
    return [(key, key)]


def _domain_key(d: DestinationReport) -> list[tuple[str, str]]:
    return [(x, x) for x in d.domains] or [("", "(no hostname seen)")]


def _device_key(d: DestinationReport) -> list[tuple[str, str]]:
    return [(x, x) for x in d.devices]


def _app_key(d: DestinationReport) -> list[tuple[str, str]]:
    return [(x, x) for x in d.apps]


def _age_notes(sources: Iterable[SourceInfo], capture_mid: float | None) -> list[DataSourceNote]:
    notes = []
    for s in sorted(sources, key=lambda s: s.id):
        age = None
        warning = None
        if s.date is not None and capture_mid is not None:
            dt = s.date if s.date.tzinfo else s.date.replace(tzinfo=UTC)
            age = round((dt.timestamp() - capture_mid) / 86400.0, 1)
            if abs(age) > STALE_DAYS and s.kind in DATED_KINDS:
                when = "after" if age > 0 else "before"
                warning = (
                    f"{s.name} is dated {abs(age):.0f} days {when} the capture: "
                    "its answers describe that date, not the traffic's"
                )
        notes.append(DataSourceNote(source=s, age_days=age, warning=warning))
    return notes


def _stale_summary(notes: list[DataSourceNote]) -> list[str]:
    """One warning naming every source far from the capture's date (each note keeps its own)."""
    stale = [n for n in notes if n.warning and n.age_days is not None]
    if not stale:
        return []
    parts = [f"{n.source.id} ({abs(n.age_days):.0f} days {'after' if n.age_days > 0 else 'before'})" for n in stale]
    return ["data far from the capture's date describes its own date, not the traffic's: " + "; ".join(parts)]


def build_report(
    traffic: TrafficResult,
    records: dict[str, AddressRecord],
    *,
    sources: Sequence[SourceInfo] = (),
    cloud_ranges: CloudRanges | None = None,
    offline: bool = False,
    command_line: list[str] | None = None,
    now: datetime | None = None,
    fail_on: Sequence[Rule | str] = (),
    warnings: Sequence[str] = (),
) -> Report:
    """Judge every destination of ``traffic`` with its record from ``records`` (keyed by address)."""
    table = cloud_table()
    dests: list[DestinationReport] = []
    all_sources: dict[str, SourceInfo] = {s.id: s for s in sources}
    for d in traffic.destinations:
        rec = records.get(d.address)
        names = sorted({h.name for h in d.hostnames})
        domains = sorted({dom for n in names if (dom := registered_domain(n))})
        dr = DestinationReport.of(d, rec, domains=domains)
        if rec is not None:
            dr.jurisdiction = judge(rec, table=table, ranges=cloud_ranges, offline=offline)
            for sid, s in rec.sources.items():
                all_sources.setdefault(sid, s)
        else:
            if d.scope == "internet":
                dr.jurisdiction.verdict = "not looked up"
            else:
                dr.jurisdiction.location = f"{d.scope} peer"
                dr.jurisdiction.verdict = f"{d.scope} peer, not on the public internet: not looked up"
        dests.append(dr)
    dests.sort(key=_rank_key)

    internet = [d for d in dests if d.scope == "internet"]
    if any(d.jurisdiction.cloud for d in internet):
        ts = table.source()
        all_sources.setdefault(ts.id, ts)
    if any(d.jurisdiction.registry_basis == "IANA /8 table" for d in internet):
        all_sources.setdefault("iana-ipv4-space", IANA_SPACE)
    if cloud_ranges is not None:
        for s in cloud_ranges.sources:
            all_sources.setdefault(s.id, s)
    if any(d.domains for d in dests):
        ps = psl_source()
        all_sources.setdefault(ps.id, ps)

    rollups = {
        "location": _rollup(internet, _location_key),
        "holder_country": _rollup(internet, _holder_country_key),
        "holder": _rollup(internet, _holder_key),
        "asn": _rollup(internet, _asn_key),
        "registry": _rollup(internet, _registry_key),
        "domain": _rollup(internet, _domain_key),
        "device": _rollup(internet, _device_key),
        "app": _rollup(internet, _app_key),
    }

    # Capture span from the inputs, else from the destinations.
    firsts = [i.first_seen for i in traffic.inputs if i.first_seen is not None] or [
        d.first_seen for d in dests if d.first_seen is not None
    ]
    lasts = [i.last_seen for i in traffic.inputs if i.last_seen is not None] or [
        d.last_seen for d in dests if d.last_seen is not None
    ]
    start, end = (min(firsts) if firsts else None), (max(lasts) if lasts else None)
    mid = (start + end) / 2 if start is not None and end is not None else None

    notes = _age_notes(all_sources.values(), mid)
    credits = sorted({s.credit for s in all_sources.values() if s.credit})
    prov = Provenance(
        tool_version=__version__,
        generated=now or datetime.now(UTC),
        command_line=command_line,
        offline=offline,
        inputs=list(traffic.inputs),
        capture_start=start,
        capture_end=end,
        byte_kind=traffic.byte_kind,
        data_sources=notes,
        credits=credits,
    )

    # Timeline: all internet traffic, and per location country.
    loc_of = {d.address: _location_key(d)[0][0] for d in internet}
    total: dict[float, list[int]] = {}
    by_loc: dict[str, dict[float, list[int]]] = {}
    for address, points in traffic.timeline.items():
        if address not in loc_of:
            continue
        per = by_loc.setdefault(loc_of[address], {})
        for t, s, r in points:
            for acc in (total, per):
                slot = acc.setdefault(float(t), [0, 0])
                slot[0] += s
                slot[1] += r
    timeline = [(t, v[0], v[1]) for t, v in sorted(total.items())]
    timeline_by_location = {
        k: [(t, v[0], v[1]) for t, v in sorted(pts.items())] for k, pts in sorted(by_loc.items())
    }

    report = Report(
        provenance=prov,
        destinations=dests,
        rollups=rollups,
        timeline=timeline,
        timeline_by_location=timeline_by_location,
        timeline_bucket=traffic.timeline_bucket,
        warnings=list(dict.fromkeys([*traffic.warnings, *(w for i in traffic.inputs for w in i.warnings), *warnings,
                                     *_stale_summary(notes)])),
        partial=traffic.partial or any(r.errors for r in records.values()),
    )
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
    now: datetime | None = None,
) -> Report:
    """Read captures or logs, look up every internet destination, judge it, and return a ``Report``.

    ``inputs``: paths of captures or logs (format detected from the content), or a ``TrafficResult``
    already read. ``offline``: no socket is opened (no resolver; registry answers from the RDAP
    cache only). ``rdap``: False asks no registry either (RDAP cache only). ``mmdb``,
    ``use_embedded``, ``discover``, ``providers``: as for ``lookup()``. ``cloud_ranges``: providers'
    published range files (AWS ip-ranges.json, Google cloud.json, Azure service tags) for the region.
    ``device``: the device's address(es), overriding the readers' guess. ``fail_on``: policy rules
    (``location:CN``, ...); the result is in ``Report.policy``.
    Raises ``InputError`` for an unreadable range file and ``UsageError`` for a bad rule; an input
    that can be read only in part makes the report ``partial`` instead.
    """
    rules = [r if isinstance(r, Rule) else parse_rule(r) for r in fail_on]
    ranges = load_cloud_ranges(list(cloud_ranges)) if cloud_ranges else None
    tr = inputs if isinstance(inputs, TrafficResult) else _read_traffic(inputs, device)
    wanted = [d.address for d in tr.destinations if d.scope == "internet"]
    records: dict[str, AddressRecord] = {}
    sources: list[SourceInfo] = []
    problems: list[str] = []
    if wanted:
        lr = lookup(wanted, offline=offline, mmdb=mmdb, use_embedded=use_embedded, discover=discover,
                    providers=providers, rdap=rdap)
        records = {r.address: r for r in lr.records}
        sources = list(lr.sources)
        problems = lr.problems
    rep = build_report(tr, records, sources=sources, cloud_ranges=ranges, offline=offline,
                       command_line=command_line, now=now, fail_on=rules, warnings=problems)
    rep.partial = rep.partial or bool(problems)
    return rep


def _read_traffic(inputs: Sequence[str | Path] | str | Path, device: Sequence[str] | str | None) -> TrafficResult:
    from ipowner.capture.traffic import traffic

    paths = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    devices = [device] if isinstance(device, str) else list(device or [])
    return traffic([str(p) for p in paths], device=devices or None)
