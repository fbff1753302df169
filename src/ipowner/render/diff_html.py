"""``ipowner diff`` as one self-contained HTML page in the report's house style (``_page``).

A summary (what changed, the totals before and after), then one table of changes grouped by
section: destinations added and removed (whole addresses, where they are and who announces them),
answers that changed for the same address, hostnames, domains, jurisdictions, and bytes moved per
jurisdiction. Byte cells show one value where one side applies and ``before -> after (change)`` where
both do, in human units with the exact count on hover; columns no row uses are left out. Only the
inputs' file names are shown (their paths and digests stay in the JSON form).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TextIO

from ipowner.model.diff import ByteChange, DestinationSummary, Diff, DiffSide
from ipowner.model.kinds import DiffChange
from ipowner.model.serialize import iso
from ipowner.reference.countries import country_name
from ipowner.render._page import cell_text, exact_bytes, file_name, h, page, plural, scroll, words
from ipowner.render._scale import period
from ipowner.render.report_rows import human_bytes

__all__ = ["render_diff_html", "write_diff_html"]

_FIELD_TEXT = {"location_country": "location", "holder": "holder", "holder_country": "holder country",
               "asn": "origin AS", "registry": "registry", "nir": "national registry"}
_CHANGE_TEXT = {DiffChange.ADDED: "added", DiffChange.REMOVED: "removed",
                DiffChange.ANSWER_CHANGED: "answer changed", DiffChange.BYTES: "bytes moved"}


@dataclass(slots=True)
class _Row:
    change: DiffChange
    item: str  # safe HTML
    detail: str = ""  # safe HTML
    sent: str = ""  # safe HTML
    received: str = ""


@dataclass(slots=True)
class _Group:
    title: str
    rows: list[_Row] = field(default_factory=list)


def _country(code: str | None) -> str:
    return (country_name(code) or code) if code else "unknown"


def _value(field_name: str, value: object) -> str:
    if value is None or value == "":
        return "unknown"  # a fact nobody knew, as every other output says it
    if field_name in ("location_country", "holder_country"):
        return _country(str(value))
    if field_name == "asn":
        return f"AS{value}"
    return str(value)


def _amount(n: int) -> str:
    return f'<span title="{exact_bytes(n)}">{human_bytes(n)}</span>'


def _move(before: int, after: int) -> str:
    delta = after - before
    sign = "+" if delta > 0 else "\u2212" if delta < 0 else "\u00b1"
    return (f'{_amount(before)} \u2192 {_amount(after)} <span class="delta" title="{exact_bytes(abs(delta))}">'
            f"({sign}{human_bytes(abs(delta))})</span>")


def _dest_row(d: DestinationSummary, change: DiffChange) -> _Row:
    names = "".join(f'<span class="host">{h(n, 200)}</span>' for n in d.hostnames[:3])
    if len(d.hostnames) > 3:
        names += f'<span class="more-n">+{len(d.hostnames) - 3} more</span>'
    item = f'<span class="addr">{h(d.address)}</span>' + (f'<div class="muted">{names}</div>' if names else "")
    where = [cell_text(d.location or _country(d.location_country))]
    if d.asn is not None:
        where.append(f"AS{d.asn}")
    if d.holder:
        where.append(f"held by {cell_text(d.holder)}" + (f" ({cell_text(_country(d.holder_country))})"
                                                          if d.holder_country else ""))
    detail = "; ".join(where)
    if d.verdict:
        detail = f'<span title="{h(d.verdict, 2000)}">{detail}</span>'
    return _Row(change, item, detail, _amount(d.bytes_sent), _amount(d.bytes_received))


def _groups(diff: Diff) -> list[_Group]:
    out: list[_Group] = []
    dest = _Group("Internet destinations")
    dest.rows += [_dest_row(d, DiffChange.ADDED) for d in diff.destinations.added]
    dest.rows += [_dest_row(d, DiffChange.REMOVED) for d in diff.destinations.removed]
    for c in diff.changed_answers:
        lines = "<br>".join(f"{_FIELD_TEXT.get(f, h(f))}: {cell_text(_value(f, b))} \u2192 {cell_text(_value(f, a))}"
                            for f, (b, a) in c.fields.items())
        dest.rows.append(_Row(DiffChange.ANSWER_CHANGED, f'<span class="addr">{h(c.address)}</span>', lines))
    out.append(dest)
    for title, names in (("Hostnames", diff.hostnames), ("Registered domains", diff.domains)):
        g = _Group(title)
        g.rows += [_Row(DiffChange.ADDED, f'<span class="host">{h(n, 300)}</span>') for n in names.added]
        g.rows += [_Row(DiffChange.REMOVED, f'<span class="host">{h(n, 300)}</span>') for n in names.removed]
        out.append(g)
    j = diff.jurisdictions
    g = _Group("Jurisdictions and networks")
    for what, ch, show in (("location", j.location, _country), ("holder country", j.holder_country, _country),
                           ("holder", j.holder, str), ("origin AS", j.asn, str)):
        g.rows += [_Row(DiffChange.ADDED, cell_text(show(k)), what) for k in ch.added]
        g.rows += [_Row(DiffChange.REMOVED, cell_text(show(k)), what) for k in ch.removed]
    out.append(g)
    for title, moves in (("Bytes per location country", diff.bytes.location),
                         ("Bytes per holder country", diff.bytes.holder_country)):
        g = _Group(title)
        g.rows += [_bytes_row(m) for m in moves if m.bytes_sent_change or m.bytes_received_change]
        out.append(g)
    return [g for g in out if g.rows]


def _bytes_row(m: ByteChange) -> _Row:
    label = m.label if m.key else "unknown"
    dests = (f"{m.destinations_before} \u2192 {m.destinations_after} destinations"
             if m.destinations_before != m.destinations_after else plural(m.destinations_after, "destination"))
    return _Row(DiffChange.BYTES, cell_text(label, 200), dests, _move(m.bytes_sent_before, m.bytes_sent_after),
                _move(m.bytes_received_before, m.bytes_received_after))


def _side(name: str, s: DiffSide) -> str:
    ins = words(file_name(i.name) for i in s.inputs if i.name) or "no input named"
    bits = [str(s.origin)] if s.origin else []
    if s.capture_start is not None and s.capture_end is not None:
        bits.append(f"traffic {period(s.capture_start, s.capture_end)}")
    if s.generated is not None:
        bits.append(f"report made {(iso(s.generated) or '')[:10]}")
    return f"<li><b>{name}</b>: {h(ins, 2000)}" + (f" ({h('; '.join(bits))})" if bits else "") + "</li>"


def _totals(diff: Diff) -> str:
    b, a = diff.before.totals, diff.after.totals
    if b is None or a is None:
        return ""
    rows = []
    for key, label in (("destinations", "internet destinations"), ("bytes_sent", "bytes sent"),
                       ("bytes_received", "bytes received"), ("flows", "flows")):
        vb, va = int(b[key]), int(a[key])  # type: ignore[literal-required]
        if key.startswith("bytes"):
            cells = f'<td class="n">{_amount(vb)}</td><td class="n">{_amount(va)}</td>'
            delta = va - vb
            sign = "+" if delta > 0 else "\u2212" if delta < 0 else "\u00b1"
            cells += f'<td class="n" title="{exact_bytes(abs(delta))}">{sign}{human_bytes(abs(delta))}</td>'
        else:
            delta = va - vb
            sign = "+" if delta > 0 else "\u2212" if delta < 0 else "\u00b1"
            cells = f'<td class="n">{vb}</td><td class="n">{va}</td><td class="n">{sign}{abs(delta)}</td>'
        rows.append(f'<tr><th scope="row">{label}</th>{cells}</tr>')
    table = ('<table class="totals"><caption>Totals</caption><thead><tr><th scope="col"></th>'
             '<th scope="col" class="n">before</th><th scope="col" class="n">after</th>'
             f'<th scope="col" class="n">change</th></tr></thead><tbody>{"".join(rows)}</tbody></table>')
    return scroll(table, "Totals before and after")


def _summary(diff: Diff) -> str:
    d = diff.destinations
    parts = [f"{plural(len(d.added), 'internet destination')} added, {len(d.removed)} removed",
             f"{plural(len(diff.changed_answers), 'address', 'addresses')} answered differently",
             f"{plural(len(diff.hostnames.added), 'hostname')} added, {len(diff.hostnames.removed)} removed"]
    j = diff.jurisdictions
    if j.location:
        moved = []
        if j.location.added:
            moved.append("servers now also in " + words(_country(k) for k in j.location.added))
        if j.location.removed:
            moved.append("no longer in " + words(_country(k) for k in j.location.removed))
        parts.append("; ".join(moved))
    return "; ".join(parts)


def _table(groups: Iterable[_Group]) -> str:
    groups = list(groups)
    rows = [r for g in groups for r in g.rows]
    cols = [("change", "change", False), ("item", "what", False)]
    if any(r.detail for r in rows):
        cols.append(("detail", "details", False))
    if any(r.sent for r in rows):
        cols.append(("sent", "sent", True))
    if any(r.received for r in rows):
        cols.append(("received", "received", True))
    head = "".join(f'<th scope="col" class="c-{k}{" n" if num else ""}">{label}</th>' for k, label, num in cols)
    out = [f'<table id="diff-table"><caption>Changes, by section</caption><thead><tr>{head}</tr></thead>']
    for g in groups:
        out.append(f'<tbody><tr class="group"><th scope="colgroup" colspan="{len(cols)}">{h(g.title)} '
                   f'<span class="muted">({len(g.rows)})</span></th></tr>')
        for r in g.rows:
            cells = {"change": f'<td class="c-change"><span class="chg {r.change.name.lower()}">'
                               f"{_CHANGE_TEXT[r.change]}</span></td>",
                     "item": f'<th scope="row" class="c-item">{r.item}</th>',
                     "detail": f'<td class="c-detail">{r.detail}</td>',
                     "sent": f'<td class="n c-sent">{r.sent}</td>',
                     "received": f'<td class="n c-received">{r.received}</td>'}
            out.append(f'<tr data-change="{r.change.value}">' + "".join(cells[k] for k, _, _ in cols) + "</tr>")
        out.append("</tbody>")
    out.append("</table>")
    return scroll("".join(out), "Changes")


def render_diff_html(diff: Diff) -> str:
    names = [words(file_name(i.name) for i in s.inputs if i.name) or name
             for name, s in (("before", diff.before), ("after", diff.after))]
    title = f"ipowner diff: {names[0]} \u2192 {names[1]}"
    body = ["<main><header>", f"<h1>{h(title, 600)}</h1>", '<ul class="meta sides">',
            _side("Before", diff.before), _side("After", diff.after), "</ul></header>",
            '<section id="summary" aria-labelledby="summary-h"><h2 id="summary-h">Summary</h2>',
            f'<p class="lead">{h(_summary(diff), 4000)}.</p>', _totals(diff), "</section>",
            '<section id="changes"><h2>What changed</h2>']
    groups = _groups(diff)
    if groups:
        body.append('<p class="hint">Sizes in kB and MB (1 kB = 1000 bytes); point at one for the exact count. '
                    "Where both sides apply: before \u2192 after (change).</p>")
        body.append(_table(groups))
    else:
        body.append("<p>No change.</p>")
    body.append("</section><footer><p>Made by ipowner. Each side's answers are those of its report: a saved "
                "report keeps the answers of its day, a capture is looked up when the diff is made.</p></footer></main>")
    return page(title, "".join(body), with_script=False)


def write_diff_html(diff: Diff, stream: TextIO) -> None:
    stream.write(render_diff_html(diff))
