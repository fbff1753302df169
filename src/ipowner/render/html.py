"""Report as one self-contained HTML file a non-specialist can read, print and trust.

The page, in reading order: a summary (how much went where, who holds it, what could not be
attributed and why, the data's dates), the world map (``_map``), compact tables per jurisdiction
with shares, the timeline (``_timeline``), the internet destinations (verdict and evidence in a
detail row; local, multicast and broadcast peers in their own collapsed section), the other rollups,
and the sources. The shell, the stylesheet (with a print stylesheet) and the one script are
``_page``'s; the Content-Security-Policy forbids every fetch. Every untrusted value is written through
``h``. Only the inputs' file names appear (their full paths and digests stay in the JSON provenance).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from ipowner.model.kinds import ByteKind, Flag, Scope
from ipowner.model.report import DestinationReport, Report, RollupRow
from ipowner.model.serialize import iso
from ipowner.reference.countries import country_name
from ipowner.render._map import map_section
from ipowner.render._page import (
    Col,
    address_key,
    bar,
    bytes_td,
    cell_text,
    exact_bytes,
    file_name,
    h,
    num_td,
    page,
    plural,
    scroll,
    thead,
    words,
)
from ipowner.render._scale import duration, period, share, when
from ipowner.render._timeline import periods, timeline_section
from ipowner.render.report_rows import ROLLUP_TITLES, human_bytes, provenance_items

MAP_CREDIT = "Map: Natural Earth admin-0 countries (public domain), via world-atlas (ISC licence)"

# Hostnames shown in a destination's row; the rest are in its detail row.
HOSTNAMES_SHOWN = 3
# Hostnames longer than this may wrap after a dot (a cell as wide as a 60-letter name squeezes the rest).
LONG_HOSTNAME = 24
# Rollups whose keys are names or addresses (never wrapped but after a dot of a long one).
NAME_GROUPS = ("domain", "device", "app")
# Rollup rows printed (the screen shows them all in a scrolling box).
ROLLUP_PRINTED = 8

SCOPE_TEXT = {"lan": "LAN", "cgnat": "carrier-grade NAT", "multicast": "multicast", "broadcast": "broadcast",
              "reserved": "reserved space", "documentation": "documentation range"}

FLAG_TEXT = {
    Flag.HOLDER_UNKNOWN: "holder unknown",
    Flag.HOLDER_INFERRED: "holder inferred",
    Flag.LOCATION_UNKNOWN: "location unknown",
    Flag.HOLDER_ABROAD: "holder's country differs from location",
    Flag.REGISTERED_ABROAD: "registration country differs from location",
}


def _has_bytes(report: Report) -> bool:
    return report.provenance.byte_kind != ByteKind.NONE and any(
        d.bytes_sent or d.bytes_received for d in report.destinations)


def _scrub(report: Report, text: str) -> str:
    """``text`` with every input's full path cut to its file name."""
    for i in report.provenance.inputs:
        if i.name and file_name(i.name) != i.name:
            text = text.replace(i.name, file_name(i.name))
    return text


def _holder_reason(d: DestinationReport, offline: bool) -> str:
    rec = d.record
    if rec is not None and rec.holder is not None and rec.holder.reason:
        return rec.holder.reason
    if offline:
        return "no registry data offline"
    if rec is not None and rec.errors:
        return "the registry could not be asked"
    return "no registry answer"


# ---------------------------------------------------------------- summary


def _top_shares(rows: list[RollupRow], value: Callable[[RollupRow], int], total: int, most: int = 5) -> str:
    ranked = sorted((r for r in rows if value(r) > 0), key=lambda r: (-value(r), r.key == "", r.key))
    shown = ranked[:most]
    parts = [f"{h(r.label if r.key else 'unknown', 120)} <b>{share(value(r), total)}</b>" for r in shown]
    rest = ranked[most:]
    if rest:
        parts.append(f"{plural(len(rest), 'other')} {share(sum(value(r) for r in rest), total)}")
    return ", ".join(parts)


def _summary(report: Report) -> str:
    t = report.totals()
    internet = report.internet
    p = report.provenance
    has_bytes = _has_bytes(report)
    out = ['<section id="summary" aria-labelledby="summary-h"><h2 id="summary-h">Summary</h2>']
    spans = periods(report)
    if len(spans) > 3:
        when_text = (f"in {plural(len(spans), 'period')} of traffic from {when(spans[0][0])} to "
                     f"{when(spans[-1][1])} (see the timeline)")
    elif len(spans) > 1:
        when_text = f"in {plural(len(spans), 'period')} of traffic: {words(period(s, e) for s, e in spans)}"
    elif spans:
        when_text = period(*spans[0])
    elif p.capture_start is not None and p.capture_end is not None:
        when_text = period(p.capture_start, p.capture_end)
    else:
        when_text = ""
    if has_bytes:
        out.append(f'<p class="lead">The device sent <b title="{exact_bytes(t["bytes_sent"])}">'
                   f'{human_bytes(t["bytes_sent"])}</b> to and received <b title="{exact_bytes(t["bytes_received"])}">'
                   f'{human_bytes(t["bytes_received"])}</b> from <b>{plural(t["destinations"], "internet destination")}'
                   f'</b> over {plural(t["flows"], "flow")}{", " + h(when_text, 2000) if when_text else ""}.</p>')
    else:
        out.append(f'<p class="lead"><b>{plural(t["destinations"], "internet destination")}</b>, from an input '
                   f"without byte counts (an address list): shares below are of destinations, not of bytes"
                   f"{', ' + h(when_text, 2000) if when_text else ''}.</p>")
    def value(r: RollupRow) -> int:
        return r.bytes_sent if has_bytes else r.destinations

    total = t["bytes_sent"] if has_bytes else t["destinations"]
    by = "by bytes sent" if has_bytes else "by destinations"
    items = []
    loc = report.rollups.get("location", [])
    if loc and total:
        items.append(f"<b>Where the servers are</b> ({by}): {_top_shares(loc, value, total)}.")
    hc = report.rollups.get("holder_country", [])
    if hc and any(r.key for r in hc) and total:
        items.append(f"<b>Holders' countries</b> ({by}): {_top_shares(hc, value, total)}.")
    holders = report.rollups.get("holder", [])
    if holders and any(r.key for r in holders) and total:
        items.append(f"<b>Holders</b> ({by}): {_top_shares(holders, value, total, 4)}.")
    asn = report.rollups.get("asn", [])
    if asn and any(r.key for r in asn) and total:
        items.append(f"<b>Networks</b> (origin AS, {by}): {_top_shares(asn, value, total, 4)}.")
    clouds = Counter(d.jurisdiction.cloud.name for d in internet if d.jurisdiction.cloud is not None)
    if clouds:
        items.append("<b>Cloud and CDN providers</b>: " + h(words(
            f"{name} ({plural(n, 'destination')})" for name, n in clouds.most_common(5))) + ".")
    reg = report.rollups.get("registry", [])
    if reg and any(r.key for r in reg) and total:
        items.append(f"<b>Registries</b> ({by}): {_top_shares(reg, value, total, 4)}.")
    def weight(d: DestinationReport) -> int:
        return d.bytes_sent if has_bytes else 1

    items.append(_unattributed(report, internet, weight, total))
    items.append(_dates(report))
    out.append("<ul>" + "".join(f"<li>{x}</li>" for x in items if x) + "</ul>")
    for w in report.warnings:
        out.append(f'<p class="warn">{h(_scrub(report, w), 2000)}</p>')
    if report.partial:
        out.append('<p class="warn">Partial: some inputs or addresses could not be read or answered.</p>')
    out.append("</section>")
    return "".join(out)


def _unattributed(report: Report, internet: list[DestinationReport], value: Callable[[DestinationReport], int],
                  total: int) -> str:
    offline = report.provenance.offline
    no_holder = [d for d in internet if not d.jurisdiction.holder]
    no_loc = [d for d in internet if not d.jurisdiction.location_country and not d.jurisdiction.anycast]
    anycast = [d for d in internet if d.jurisdiction.anycast]
    parts = []
    if no_holder:
        reasons = Counter(_holder_reason(d, offline) for d in no_holder)
        why = words(f"{r}" + (f" for {n}" if len(reasons) > 1 else "") for r, n in reasons.most_common())
        whole = "all " if len(no_holder) == len(internet) and len(internet) > 1 else ""
        pct = share(sum(value(d) for d in no_holder), total)
        parts.append(f"no known holder for {whole}{plural(len(no_holder), 'destination')}"
                     + (f" ({pct} of {'bytes sent' if _has_bytes(report) else 'destinations'})" if pct else "")
                     + f": {h(why, 1000)}")
    if no_loc:
        parts.append(f"no known location for {plural(len(no_loc), 'destination')}")
    if anycast:
        parts.append(f"{plural(len(anycast), 'anycast destination')} (served from many places, no single location)")
    if not parts:
        return "<b>Attribution</b>: every destination has a known holder and location."
    return "<b>Not attributed</b>: " + "; ".join(parts) + "."


def _dates(report: Report) -> str:
    p = report.provenance
    dated = [n for n in p.data_sources if n.source.date is not None]
    warned = [n for n in dated if n.warning and n.age_days is not None]
    if not dated:
        return ""
    basis = warned or dated
    days = sorted({n.source.date.date() for n in basis if n.source.date is not None})
    dates = days[0].isoformat() if len(days) == 1 else f"{days[0].isoformat()} to {days[-1].isoformat()}"
    if warned:
        ages = [n.age_days for n in warned if n.age_days is not None]
        lo, hi = min(ages), max(ages)
        span = duration(lo * 86400) if duration(lo * 86400) == duration(hi * 86400) else (
            f"{duration(abs(lo) * 86400)} to {duration(abs(hi) * 86400)}")
        side = "after" if lo > 0 else "before"
        names = words(n.source.id for n in warned)
        return (f"<b>Dates</b>: the data behind the answers ({h(names)}) is dated {dates}, <span class=\"warn\">{span} "
                f"{side} the capture</span>: it describes that date, not the traffic's.")
    text = f"<b>Dates</b>: the lookup data is dated {dates}"
    if p.capture_start is None:
        text += "; the input carries no dates to compare with"
    return text + "."


# ---------------------------------------------------------------- rollup tables


@dataclass(frozen=True, slots=True)
class _Totals:
    sent: int
    received: int
    destinations: int


def _rollup_table(group: str, rows: list[RollupRow], tot: _Totals, has_bytes: bool, *, caption: str) -> str:
    if has_bytes:
        cols = [Col("name", "name"), Col("sent", "sent", "num", numeric=True),
                Col("received", "received", "num", numeric=True), Col("dests", "destinations", "num", numeric=True)]
        sorted_by = "sent"
        ordered = rows
    else:
        cols = [Col("name", "name"), Col("dests", "destinations", "num", numeric=True)]
        sorted_by = "dests"
        ordered = sorted(rows, key=lambda r: (-r.destinations, r.key == "", r.label))
    out = [f'<table class="sortable rollup-t" data-group="{h(group)}"><caption>{h(caption)}</caption>',
           thead(cols, sorted_by), "<tbody>"]
    for r in ordered:
        if not r.key:
            cells = [f'<th scope="row" data-key="">{h(r.label) if group == "domain" else "unknown"}</th>']
            cells[0] = cells[0].replace("<th ", '<th class="muted" ', 1)
        elif group in NAME_GROUPS:
            cells = [f'<th scope="row" class="nw" data-key="{h(r.key)}">{_host(r.label)}</th>']
        else:
            cells = [f'<th scope="row" data-key="{h(r.key)}">{cell_text(r.label, 200)}</th>']
        if has_bytes:
            frac = r.bytes_sent / tot.sent if tot.sent else 0.0
            cells.append(bytes_td(r.bytes_sent, f' {bar(frac)}<span class="pct">{share(r.bytes_sent, tot.sent)}</span>'))
            cells.append(bytes_td(r.bytes_received, f' <span class="pct">{share(r.bytes_received, tot.received)}</span>'))
            cells.append(num_td(r.destinations))
        else:
            frac = r.destinations / tot.destinations if tot.destinations else 0.0
            cells.append(num_td(r.destinations, f'{r.destinations} {bar(frac, "dest")}'
                                f'<span class="pct">{share(r.destinations, tot.destinations)}</span>'))
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    if len(rows) > ROLLUP_PRINTED:
        out.append(f'<p class="note print-only">The first {ROLLUP_PRINTED} of {len(rows)} rows are printed; '
                   "all are in the JSON and CSV outputs.</p>")
    return f'<div class="rollup"><div class="box">{scroll("".join(out), caption)}</div></div>'


def _only_unknown(rows: list[RollupRow]) -> bool:
    return bool(rows) and all(not r.key for r in rows)


def _rollups(report: Report, groups: tuple[str, ...], tot: _Totals, has_bytes: bool) -> str:
    out = []
    notes = []
    for group in groups:
        rows = report.rollups.get(group, [])
        title = ROLLUP_TITLES.get(group, group)
        if not rows:
            continue
        if _only_unknown(rows):
            notes.append(f"{title[3:] if title.startswith('By ') else title}: unknown for every destination")
            continue
        out.append(_rollup_table(group, rows, tot, has_bytes, caption=title))
    html = f'<div class="grid">{"".join(out)}</div>' if out else ""
    if notes:
        html += f'<p class="note">{h("; ".join(notes))}.</p>'
    return html


# ---------------------------------------------------------------- destination tables


@dataclass(frozen=True, slots=True)
class _Cell:
    col: Col
    html: Callable[[int, DestinationReport], str]  # (rank, destination) -> the cell
    present: Callable[[DestinationReport], bool]  # whether this destination has a value here


def _hostnames(d: DestinationReport) -> list[str]:
    return sorted({n.name for n in d.hostnames})


def _host(name: str, limit: int = 200) -> str:
    """A hostname; a long one may wrap after a dot (``<wbr>``), never inside a label."""
    text = h(name, limit)
    if len(name) > LONG_HOSTNAME:
        text = text.replace(".", ".<wbr>")
    return text


def _host_cell(d: DestinationReport) -> str:
    names = _hostnames(d)
    shown = "".join(f'<span class="host">{_host(n)}</span>' for n in names[:HOSTNAMES_SHOWN])
    more = len(names) - HOSTNAMES_SHOWN
    if more > 0:
        shown += f'<span class="more-n">+{more} more</span>'
    return f'<td class="c-hostnames">{shown}</td>'


def _asn_cell(d: DestinationReport) -> str:
    j = d.jurisdiction
    if j.asn is None:
        return '<td class="c-asn" data-v="-1"></td>'
    name = f" {cell_text(j.as_name, 200)}" if j.as_name else ""
    return f'<td class="c-asn" data-v="{j.asn}"><span class="nw">AS{j.asn}</span>{name}</td>'


def _registry(d: DestinationReport) -> str:
    j = d.jurisdiction
    return " > ".join(x for x in (j.registry, j.nir) if x)


def _cloud(d: DestinationReport) -> str:
    c = d.jurisdiction.cloud
    return " ".join(x for x in (c.name, c.region) if x) if c else ""


def _country(code: str | None) -> str:
    return (country_name(code) or code) if code else ""


def _text_td(key: str, text: str, limit: int = 512) -> str:
    return f'<td class="c-{key}">{cell_text(text, limit)}</td>'


def _internet_cells() -> list[_Cell]:
    def holder(rank: int, d: DestinationReport) -> str:
        j = d.jurisdiction
        if not j.holder:
            return '<td class="c-holder muted" data-v="~">unknown</td>'
        flag = ' <span class="flag">inferred</span>' if j.holder_inferred else ""
        return f'<td class="c-holder">{cell_text(j.holder)}{flag}</td>'

    return [
        _Cell(Col("rank", "#", "num", numeric=True), lambda i, d: f'<td class="n c-rank" data-v="{i}">{i}</td>',
              lambda d: True),
        _Cell(Col("address", "address"), lambda i, d: _address_th(d, None), lambda d: True),
        _Cell(Col("hostnames", "hostnames"), lambda i, d: _host_cell(d), lambda d: bool(d.hostnames)),
        _Cell(Col("location", "location"), lambda i, d: _text_td("location", d.jurisdiction.location),
              lambda d: True),
        _Cell(Col("holder", "holder"), holder, lambda d: bool(d.jurisdiction.holder)),
        _Cell(Col("holder-country", "holder country"),
              lambda i, d: _text_td("holder-country", _country(d.jurisdiction.holder_country)),
              lambda d: bool(d.jurisdiction.holder_country)),
        _Cell(Col("registry", "registry"), lambda i, d: _text_td("registry", _registry(d)),
              lambda d: bool(_registry(d))),
        _Cell(Col("asn", "origin AS", "num"), lambda i, d: _asn_cell(d), lambda d: d.jurisdiction.asn is not None),
        _Cell(Col("cloud", "cloud or CDN"), lambda i, d: _text_td("cloud", _cloud(d)), lambda d: bool(_cloud(d))),
        _Cell(Col("sent", "sent", "num", numeric=True), lambda i, d: bytes_td(d.bytes_sent, key="sent"), lambda d: d.bytes_sent > 0),
        _Cell(Col("received", "received", "num", numeric=True), lambda i, d: bytes_td(d.bytes_received, key="received"),
              lambda d: d.bytes_received > 0),
        _Cell(Col("flows", "flows", "num", numeric=True), lambda i, d: num_td(d.flows, key="flows"), lambda d: d.flows > 0),
    ]


def _local_cells() -> list[_Cell]:
    return [
        _Cell(Col("address", "address"), lambda i, d: _address_th(d, None), lambda d: True),
        _Cell(Col("scope", "kind"), lambda i, d: _text_td("scope", SCOPE_TEXT.get(str(d.scope), str(d.scope))),
              lambda d: True),
        _Cell(Col("hostnames", "hostnames"), lambda i, d: _host_cell(d), lambda d: bool(d.hostnames)),
        _Cell(Col("sent", "sent", "num", numeric=True), lambda i, d: bytes_td(d.bytes_sent, key="sent"), lambda d: d.bytes_sent > 0),
        _Cell(Col("received", "received", "num", numeric=True), lambda i, d: bytes_td(d.bytes_received, key="received"),
              lambda d: d.bytes_received > 0),
        _Cell(Col("flows", "flows", "num", numeric=True), lambda i, d: num_td(d.flows, key="flows"), lambda d: d.flows > 0),
    ]


def _evidence(d: DestinationReport) -> str:
    """The detail row's content: the verdict, its flags and the facts it was judged from, with sources."""
    j = d.jurisdiction
    rec = d.record
    out = [f'<p class="verdict">{h(j.verdict, 2000)}</p>']
    if j.flags:
        out.append("<p>" + "".join(f'<span class="flag">{h(FLAG_TEXT.get(f, str(f)))}</span>' for f in j.flags) + "</p>")
    facts: list[tuple[str, str]] = []
    names = sorted({(n.name, n.source) for n in d.hostnames})
    if names:
        by_name: dict[str, list[str]] = {}
        for name, src in names:
            by_name.setdefault(name, []).append(str(src))
        facts.append(("hostnames", "<br>".join(f'{_host(n, 300)} <span class="muted">({h(", ".join(s))})</span>'
                                                for n, s in by_name.items())))
    if d.domains:
        facts.append(("registered domains", h(", ".join(d.domains), 2000)))
    if j.holder:
        bits = [h(j.holder)]
        if j.holder_handle and j.holder_handle != j.holder:
            bits.append(f'handle <span class="nw">{h(j.holder_handle)}</span>')
        if j.holder_country:
            bits.append(f"country {h(_country(j.holder_country))}")
        if j.holder_rule:
            bits.append(f"named by rule {h(j.holder_rule)}")
        if j.holder_inferred:
            bits.append("inferred")
        facts.append(("holder", "; ".join(bits)))
    elif rec is not None and rec.holder is not None and rec.holder.reason:
        facts.append(("holder", f"unknown: {h(rec.holder.reason, 1000)}"))
    if rec is not None and rec.registry_chain:
        chain = " &gt; ".join(h(c.name or c.handle or str(c.role)) + (f' <span class="muted">({h(c.basis)})</span>'
                                                                        if c.basis else "") for c in rec.registry_chain)
        facts.append(("registry chain", chain))
    elif j.registry:
        if j.registry_evidence and not j.nir:
            facts.append(("registry", h(j.registry_evidence)))
        else:
            facts.append(("registry", h(_registry(d)) + (f' <span class="muted">({h(j.registry_basis)})</span>'
                                                         if j.registry_basis else "")))
        if j.registry_uncertain:
            facts.append(("registry uncertain", h(j.registry_uncertain, 1000)))
    if rec is not None and rec.network is not None:
        n = rec.network
        rng = ", ".join(n.cidrs) if n.cidrs else (f"{n.start} \u2013 {n.end}" if n.start and n.end else "")
        bits = [x for x in (h(rng), h(n.name), h(n.handle)) if x]
        if bits:
            facts.append(("network", "; ".join(bits)))
    if j.registered_country:
        basis_html = (f' <span class="muted">({h(j.registered_country_basis, 300)})</span>'
                      if j.registered_country_basis else "")
        facts.append(("registration country", h(_country(j.registered_country)) + basis_html))
        if j.registered_country_other:
            facts.append(("an older source", h(j.registered_country_other, 300)))
    if j.asn is not None:
        net = rec.asn.network if rec is not None and rec.asn is not None else None
        facts.append(("origin AS", f"AS{j.asn} {h(j.as_name)}" + (f' <span class="muted">announces {h(net)}</span>'
                                                                  if net else "")))
    if j.cloud is not None:
        c = j.cloud
        facts.append(("cloud or CDN", h(f"{c.name} ({c.company})") + f' <span class="muted">{h(c.basis)}</span>'))
    if j.represented_country:
        facts.append(("serving", h(_country(j.represented_country))))
    facts.append(("traffic", f"{plural(d.flows, 'flow')}; {d.packets_sent} packets sent, {d.packets_received} received"
                  + (f"; {when(d.first_seen, seconds=True)} to {when(d.last_seen, seconds=True)}"
                     if d.first_seen is not None else "")))
    if d.ports:
        facts.append(("ports", h(", ".join(d.ports), 2000)))
    if d.devices:
        facts.append(("devices", h(", ".join(d.devices), 2000)))
    if d.apps:
        facts.append(("apps", h(", ".join(d.apps), 2000)))
    if rec is not None and rec.provenance:
        used = sorted({rec.sources[s].name if s in rec.sources else s for s in rec.provenance.values()})
        facts.append(("sources", h("; ".join(used), 2000)))
    if rec is not None and rec.errors:
        facts.append(("errors", h("; ".join(rec.errors), 2000)))
    out.append('<dl class="ev">' + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts) + "</dl>")
    return "".join(out)


def _dest_table(dests: list[tuple[int, DestinationReport]], cells: list[_Cell], *, table_id: str, caption: str,
                has_bytes: bool, detail: bool) -> tuple[str, list[str]]:
    """A sortable table of destinations, one tbody per destination (its row and its detail row).

    Returns the table and the headings of the columns left out because no destination has a value there.
    """
    shown = [c for c in cells if any(c.present(d) for _, d in dests)]
    hidden = [c.col.label for c in cells if c not in shown]
    cols = [c.col for c in shown]
    sorted_by = "sent" if has_bytes and any(c.col.key == "sent" for c in shown) else (
        "rank" if any(c.col.key == "rank" for c in shown) else None)
    out = [f'<table id="{table_id}" class="sortable dest full"><caption>{h(caption)}</caption>',
           thead(cols, sorted_by, "descending" if sorted_by == "sent" else "ascending")]
    for rank, d in dests:
        did = f"{table_id}-d{rank}"
        row = "".join(_address_th(d, did if detail else None) if c.col.key == "address" else c.html(rank, d)
                      for c in shown)
        more = (f'<tr class="detail" id="{did}" hidden><td colspan="{len(cols)}">{_evidence(d)}</td></tr>'
                if detail else "")
        out.append(f'<tbody class="item"><tr data-address="{h(d.address)}" data-scope="{h(d.scope)}">{row}</tr>'
                   f"{more}</tbody>")
    out.append("</table>")
    return scroll("".join(out), caption), hidden


def _address_th(d: DestinationReport, detail_id: str | None) -> str:
    """The row's header cell: the address, after the button that opens its detail row."""
    button = (f'<button type="button" class="more" aria-expanded="false" aria-controls="{detail_id}" '
              f'aria-label="details of {h(d.address)}" title="verdict and evidence"></button>' if detail_id else "")
    return (f'<th scope="row" class="c-address" data-v="{address_key(d.address)}">{button}'
            f'<span class="addr">{h(d.address)}</span></th>')


def _destinations(report: Report) -> str:
    has_bytes = _has_bytes(report)
    ranked = list(enumerate(report.destinations, 1))
    internet = [(i, d) for i, d in ranked if d.scope == Scope.INTERNET]
    local = [(i, d) for i, d in ranked if d.scope != Scope.INTERNET]
    out = [f'<section id="destinations"><h2>Internet destinations ({len(internet)})</h2>']
    if internet:
        out.append('<p class="hint">Sort by a column with its heading (a button: Enter or Space). The '
                   "\u25b8 before an address opens the verdict and the evidence it rests on. Sizes in kB and MB "
                   "(1 kB = 1000 bytes); point at one for the exact count.</p>")
        table, hidden = _dest_table(internet, _internet_cells(), table_id="dest-table",
                                    caption="Internet destinations, ranked by bytes sent" if has_bytes else
                                    "Internet destinations, in input order", has_bytes=has_bytes, detail=True)
        out.append(table)
        if hidden:
            out.append(f'<p class="note">Columns left out, no destination has a value there: {h(words(hidden))}.</p>')
    else:
        out.append("<p>No internet destination.</p>")
    if local:
        kinds = Counter(str(d.scope) for _, d in local)
        label = words(f"{plural(n, SCOPE_TEXT.get(k, k) + ' peer')}" for k, n in sorted(kinds.items()))
        table, _ = _dest_table(local, _local_cells(), table_id="local-table",
                               caption="Local network, multicast and broadcast peers (not looked up)",
                               has_bytes=has_bytes, detail=False)
        out.append(f'<details class="local"><summary>Local network, multicast and broadcast: {h(label)}</summary>'
                   f"{table}</details>")
    out.append("</section>")
    return "".join(out)


# ---------------------------------------------------------------- header and footer


def _header(report: Report) -> str:
    p = report.provenance
    names = [file_name(i.name) for i in p.inputs]
    title = "ipowner report" + (f": {words(names)}" if names else "")
    ins = "; ".join(f"{file_name(i.name)} ({i.format}, {plural(i.records, 'record')}"
                    + (", partial" if i.partial else "") + ")" for i in p.inputs)
    made = f"made {(iso(p.generated) or '')[:10] or 'at an unknown date'} by {p.tool} {p.tool_version}"
    mode = ", offline (no registry was asked)" if p.offline else ""
    out = [f"<header><h1>{h(title, 600)}</h1><p class=\"meta\">Input: {h(ins, 2000)}. Report {h(made)}{mode}.</p>"]
    if report.policy is not None and report.policy.fired:
        out.append(f'<div id="policy" class="warn"><p class="bad">Policy gate fired ({h(", ".join(report.policy.rules))}): '
                   f"{plural(len(report.policy.offending), 'destination')}</p><ul>")
        for o in report.policy.offending:
            out.append(f"<li><span class=\"addr\">{h(o['address'])}</span> {h(o['hostnames'])}: {h(o['rule'])} "
                       f"({h(o['value'])})</li>")
        out.append("</ul></div>")
    out.append("</header>")
    return "".join(out)


def _command_line(report: Report) -> str:
    args = report.provenance.command_line or []
    inputs = {i.name for i in report.provenance.inputs}
    return " ".join(file_name(a) if a in inputs or a.startswith(("/", "~", "\\")) or a[1:3] == ":\\" else a
                    for a in args)


def _footer(report: Report) -> str:
    p = report.provenance
    out = ['<footer id="sources"><h2>Data sources, dates and credits</h2>']
    rows = ["<table><caption>Data sources</caption><thead><tr><th scope=\"col\">source</th><th scope=\"col\">name</th>"
            "<th scope=\"col\">dated</th><th scope=\"col\">from the capture</th><th scope=\"col\">licence</th></tr>"
            "</thead><tbody>"]
    for n in p.data_sources:
        s = n.source
        age = "" if n.age_days is None else f"{n.age_days:+.0f} days"
        cls = ' class="warn"' if n.warning else ""
        rows.append(f'<tr{cls}><th scope="row" class="nw">{h(s.id)}</th><td>{cell_text(s.name)}</td>'
                    f'<td class="nw">{h((iso(s.date) or "unknown")[:10])}</td><td class="n">{age}</td>'
                    f"<td>{cell_text(s.licence)}</td></tr>")
    rows.append("</tbody></table>")
    out.append(scroll("".join(rows), "Data sources"))
    prov = ["<table><caption>Provenance</caption><tbody>"]
    for group, key, value, detail in provenance_items(report):
        if group in ("source", "credit", "warning"):
            continue  # the sources are above, the credits below and the warnings at the top
        if group == "input":
            key, value = file_name(key), "full path and SHA-256 in the JSON report"
        if group == "command_line":
            value = _command_line(report)
        prov.append(f'<tr><th scope="row" class="nw">{h(group)}</th><td>{cell_text(key)}</td>'
                    f"<td>{cell_text(value, 2000)}</td><td>{cell_text(detail)}</td></tr>")
    prov.append("</tbody></table>")
    out.append(scroll("".join(prov), "Provenance"))
    credits: dict[str, None] = {}
    for c in [*p.credits, MAP_CREDIT]:
        for part in c.split("; "):
            credits.setdefault(part.strip(), None)
    out.append('<p class="credits">' + "<br>".join(h(c, 2000) for c in credits if c) + "</p>")
    out.append(f"<p>Made by ipowner {h(p.tool_version)}. Facts and their sources only: location, holder and "
               "registry are different facts, and none of them is a legal conclusion.</p></footer>")
    return "".join(out)


def render_html(report: Report) -> str:
    t = report.totals()
    has_bytes = _has_bytes(report)
    tot = _Totals(t["bytes_sent"], t["bytes_received"], t["destinations"])
    body = ["<main>", _header(report), _summary(report)]
    body.append('<section id="map" aria-labelledby="map-h"><h2 id="map-h">Where the servers are</h2>'
                + map_section(report) + "</section>")
    body.append('<section id="jurisdictions"><h2>Per jurisdiction</h2>'
                + _rollups(report, ("location", "holder_country", "registry"), tot, has_bytes) + "</section>")
    body.append('<section id="timeline" aria-labelledby="timeline-h"><h2 id="timeline-h">Timeline</h2>'
                + timeline_section(report) + "</section>")
    body.append(_destinations(report))
    rest = _rollups(report, ("holder", "asn", "domain", "device", "app"), tot, has_bytes)
    if rest:
        body.append(f'<section id="rollups"><h2>Holders, networks, domains and devices</h2>{rest}</section>')
    body.append(_footer(report))
    body.append("</main>")
    names = [file_name(i.name) for i in report.provenance.inputs]
    return page("ipowner report" + (f": {', '.join(names)}" if names else ""), "".join(body))


def write_html(report: Report, stream: TextIO) -> None:
    stream.write(render_html(report))
