"""The report's world map: countries shaded by class, proportional symbols, a legend with values.

Three measures (bytes sent, bytes received, destinations; destinations only for inputs without byte
counts), each with its own classes, symbols and legend; a radio group switches between them through
the stylesheet alone. Classes are natural breaks (``_scale.classes``) and the legend gives each class's
real values; every country with a value also gets a circle whose area is proportional to it, so small
countries (Singapore, Hong Kong) show and the largest landmass does not decide what stands out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ipowner.model.report import Report, RollupRow
from ipowner.reference.countries import country_name, world_map
from ipowner.render._page import MEASURES, exact_bytes, h, plural, words
from ipowner.render._scale import Classes, classes, share
from ipowner.render.report_rows import human_bytes

# The largest symbol's radius in map units (the map is 1000 wide), and the smallest one drawn.
R_MAX = 22.0
R_MIN = 2.0
# Latitudes 85N to 60S: Antarctica holds no servers and would take a fifth of the height.
_TOP_LAT, _BOTTOM_LAT = 85.0, -60.0


@dataclass(slots=True)
class Measure:
    id: str  # "sent", "recv", "dest"
    label: str
    values: dict[str, int]  # country code -> value (countries with a value only)
    total: int  # over every row of the location rollup (anycast and unknown included)
    classes: Classes | None

    def text(self, value: int) -> str:
        """``34.0 kB sent``, ``1.0 MB received``, ``2 destinations``."""
        if self.id == "dest":
            return plural(value, "destination")
        return f"{human_bytes(value)} {'sent' if self.id == 'sent' else 'received'}"

    def amount(self, value: int) -> str:
        return str(value) if self.id == "dest" else human_bytes(value)


def measures(report: Report) -> list[Measure]:
    """The map's measures for this report: destinations only when no input carried byte counts."""
    rows = report.rollups.get("location", [])
    has_bytes = any(r.bytes_sent or r.bytes_received for r in rows)
    out = []
    for mid, label in MEASURES:
        if mid != "dest" and not has_bytes:
            continue
        attr = {"sent": "bytes_sent", "recv": "bytes_received", "dest": "destinations"}[mid]
        values = {r.key: int(getattr(r, attr)) for r in rows if len(r.key) == 2 and getattr(r, attr) > 0}
        total = sum(int(getattr(r, attr)) for r in rows)
        out.append(Measure(mid, label, values, total, classes(list(values.values()))))
    return out


def _title(cc: str, row: RollupRow | None, ms: list[Measure]) -> str:
    name = country_name(cc) or cc
    if row is None:
        return name
    parts = []
    for m in ms:
        v = {"sent": row.bytes_sent, "recv": row.bytes_received, "dest": row.destinations}[m.id]
        pct = share(v, m.total)
        parts.append(m.text(v) + (f" ({pct})" if pct else ""))
    return f"{name}: " + ", ".join(parts)


def _legend(m: Measure) -> str:
    c = m.classes
    title = {"sent": "Bytes sent per country", "recv": "Bytes received per country",
             "dest": "Destinations per country"}[m.id]
    out = [f'<ul class="legend m-{m.id}" aria-label="{title}"><li><b>{title}:</b></li>']
    if c is not None:
        for i, (lo, hi) in enumerate(c.spans):
            k = c.palette[i]
            n = sum(1 for v in m.values.values() if c.index(v) == i)
            text = m.amount(int(lo)) if lo == hi else f"{m.amount(int(lo))} \u2013 {m.amount(int(hi))}"
            exact = "" if m.id == "dest" else f' title="{exact_bytes(int(lo))} to {exact_bytes(int(hi))}"'
            out.append(f'<li class="lk" data-k="{k}"{exact}><span class="sw k{k}"></span>{text} '
                       f'<span class="muted">({plural(n, "country", "countries")})</span></li>')
    out.append('<li><span class="sw k0"></span>none</li>')
    if m.values:
        top = max(m.values, key=lambda k: (m.values[k], k))
        out.append(f'<li>circle area proportional to the value; largest: {h(country_name(top) or top)}, '
                   f"{m.amount(m.values[top])}</li>")
    out.append("</ul>")
    return "".join(out)


def _radius(value: int, top: int) -> float:
    return max(R_MIN, R_MAX * math.sqrt(value / top)) if top > 0 else R_MIN


def _symbols(m: Measure, centres: dict[str, tuple[float, float]], titles: dict[str, str], bottom_y: float) -> str:
    if not m.values:
        return f'<g class="m-{m.id}"></g>'
    top = max(m.values.values())
    out = [f'<g class="m-{m.id}">']
    # Largest first, so that a small country's circle is drawn over a large neighbour's.
    for cc in sorted(m.values, key=lambda k: (-m.values[k], k)):
        if cc not in centres:
            continue
        cx, cy = centres[cc]
        r = _radius(m.values[cc], top)
        out.append(f'<circle class="s" cx="{cx:g}" cy="{cy:g}" r="{r:.1f}" data-cc="{cc}" data-v="{m.values[cc]}" '
                   f'tabindex="0" role="img" aria-label="{h(titles[cc])}"><title>{h(titles[cc])}</title></circle>')
    # A key in the empty South Pacific: the largest value's circle and one a quarter of it.
    x, base = 60.0, bottom_y - 12
    keys = [top] + ([max(1, top // 4)] if top >= 4 else [])
    out.append('<g class="key" aria-hidden="true">')
    for v in keys:
        r = _radius(v, top)
        out.append(f'<circle cx="{x:g}" cy="{base - r:.1f}" r="{r:.1f}"/>'
                   f'<line x1="{x:g}" y1="{base - 2 * r:.1f}" x2="{x + R_MAX + 6:g}" y2="{base - 2 * r:.1f}"/>'
                   f'<text x="{x + R_MAX + 8:g}" y="{base - 2 * r + 3:.1f}">{m.amount(v)}</text>')
    out.append("</g></g>")
    return "".join(out)


def map_section(report: Report) -> str:
    """The map section's content: the measure switch, the SVG, the legends and what is not on the map."""
    wm = world_map()
    rows = {r.key: r for r in report.rollups.get("location", [])}
    ms = measures(report)
    height = wm["height"]
    top_y = height * (90 - _TOP_LAT) / 180
    bottom_y = height * (90 - _BOTTOM_LAT) / 180
    shapes = wm["countries"]
    titles = {cc: _title(cc, rows.get(cc), ms) for cc in shapes}
    centres = {cc: (s["c"][0], s["c"][1]) for cc, s in shapes.items()}

    out = ['<div class="top">']
    # One measure (no byte counts): the radio stays, checked, for the stylesheet, but there is nothing to switch.
    hidden = " hidden" if len(ms) == 1 else ""
    out.append(f'<fieldset class="measure"{hidden}><legend>Show:</legend>')
    for i, m in enumerate(ms):
        checked = " checked" if i == 0 else ""
        out.append(f'<label><input type="radio" name="measure" id="m-{m.id}" value="{m.id}"{checked}> {m.label}</label>')
    out.append("</fieldset></div>")
    out.append(f'<svg id="worldmap" viewBox="0 {top_y:.1f} {wm["width"]:g} {bottom_y - top_y:.1f}" '
               'role="group" aria-label="World map of where the servers are; the tables below hold the same numbers">')
    for cc, shape in shapes.items():
        cls = ["c"]
        for m in ms:
            v = m.values.get(cc, 0)
            if v > 0 and m.classes is not None:
                cls.append(f"k{m.id[0]}{m.classes.shade(v)}")
        if len(cls) > 1:
            cls.append("has-traffic")
        out.append(f'<path class="{" ".join(cls)}" data-cc="{cc}" d="{shape["d"]}"><title>{h(titles[cc])}</title></path>')
    for m in ms:
        out.append(_symbols(m, centres, titles, bottom_y))
    out.append("</svg>")
    out.append('<p id="map-info" aria-live="polite" class="muted">Point at or tab to a circle for its country\'s '
               "values and share.</p>")
    out.extend(_legend(m) for m in ms)
    notes = []
    for key, label in (("anycast", "anycast (no single location)"), ("", "location unknown")):
        r = rows.get(key)
        if r is not None:
            notes.append(f"{label}: {_amounts(r, ms)}")
    missing = sorted(k for k in rows if len(k) == 2 and k not in shapes)
    if missing:
        notes.append("not drawn on the map: " + ", ".join(f"{country_name(k) or k} ({_amounts(rows[k], ms)})" for k in missing))
    if notes:
        out.append(f'<p class="note">Not on the map: {h(words(notes), 2000)}.</p>')
    return "".join(out)


def _amounts(r: RollupRow, ms: list[Measure]) -> str:
    parts = []
    for m in ms:
        v = {"sent": r.bytes_sent, "recv": r.bytes_received, "dest": r.destinations}[m.id]
        parts.append(m.text(v))
    return ", ".join(parts)
