"""Report as one self-contained HTML file that makes no network request when opened.

Inline CSS, inline SVG and one inline script (allowed by its hash in a Content-Security-Policy
that forbids every fetch): a world map of bytes per location country, bars per jurisdiction, the
timeline, a sortable destination table and a footer with data sources, dates and credits.
Every untrusted value is written through ``html_safe``; attributes are always double-quoted.
"""

from __future__ import annotations

import base64
import hashlib
import math
from typing import Any, TextIO

from ipowner.model.report import Report, RollupRow
from ipowner.model.serialize import epoch_iso, iso
from ipowner.reference.countries import country_name, world_map
from ipowner.render.escape import html_safe
from ipowner.render.report_rows import (
    ROLLUP_TITLES,
    destination_rows,
    human_bytes,
    provenance_items,
)

MAP_CREDIT = "Map: Natural Earth admin-0 countries (public domain), via world-atlas (ISC licence)"

_SCRIPT = """
(function () {
  function key(td, num) {
    var v = td.getAttribute('data-v');
    if (v === null) { v = td.textContent; }
    return num ? parseFloat(v) || 0 : v.toLowerCase();
  }
  document.querySelectorAll('table.sortable').forEach(function (table) {
    table.querySelectorAll('th').forEach(function (th, col) {
      th.addEventListener('click', function () {
        var num = th.getAttribute('data-type') === 'num';
        var cur = th.getAttribute('data-dir');
        var asc = cur ? cur !== 'asc' : !num;  // numbers start largest first
        table.querySelectorAll('th').forEach(function (o) { o.removeAttribute('data-dir'); });
        th.setAttribute('data-dir', asc ? 'asc' : 'desc');
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[col], num), y = key(b.cells[col], num);
          var c = x < y ? -1 : x > y ? 1 : 0;
          return asc ? c : -c;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();
"""

_CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1b1f24;background:#fff}
main{max-width:1200px;margin:0 auto;padding:16px 24px}
h1{font-size:22px;margin:8px 0}h2{font-size:17px;margin:24px 0 8px;border-bottom:1px solid #d0d7de}
.summary{font-size:15px}.warn{color:#9a6700}.bad{color:#cf222e;font-weight:600}
#worldmap{width:100%;height:auto;background:#eef4fa;border:1px solid #d0d7de}
#worldmap path{fill:#dde3ea;stroke:#fff;stroke-width:.4}
#worldmap path.t1{fill:#c6dbef}#worldmap path.t2{fill:#9ecae1}#worldmap path.t3{fill:#6baed6}
#worldmap path.t4{fill:#3182bd}#worldmap path.t5{fill:#08519c}
#worldmap circle{fill:#e6550d;stroke:#fff;stroke-width:1}
.legend span{display:inline-block;width:18px;height:10px;margin:0 2px 0 10px}
.bars{display:grid;grid-template-columns:minmax(120px,260px) 1fr auto;gap:3px 10px;align-items:center}
.bar{height:12px;background:#3182bd}.bar.recv{background:#9ecae1}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid #eaeef2;padding:3px 6px;text-align:left;vertical-align:top;word-break:break-word}
th{background:#f6f8fa;cursor:pointer;white-space:nowrap}th[data-dir=asc]::after{content:" \\25B2"}
th[data-dir=desc]::after{content:" \\25BC"}td.n{text-align:right;white-space:nowrap}
.verdict{color:#57606a;font-size:12px}.flag{background:#fff8c5;border-radius:3px;padding:0 3px;margin-right:3px}
footer{margin-top:32px;font-size:12px;color:#57606a;border-top:1px solid #d0d7de}
#timeline svg{width:100%;height:auto;border:1px solid #d0d7de}
code{font-size:12px;white-space:nowrap}#dest-table td:nth-child(4),#dest-table td:nth-child(5){min-width:80px}
"""


def _h(value: Any, limit: int = 512) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        value = ", ".join(str(v) for v in value)
    return html_safe(value, limit)


def _csp() -> str:
    digest = base64.b64encode(hashlib.sha256(_SCRIPT.encode("utf-8")).digest()).decode("ascii")
    return (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
        f"script-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    )


def _map(report: Report) -> str:
    wm = world_map()
    rows = {r.key: r for r in report.rollups.get("location", [])}
    totals = {k: r.bytes_sent + r.bytes_received for k, r in rows.items() if len(k) == 2}
    top = max(totals.values(), default=0)
    # Latitudes 85N to 60S: Antarctica holds no servers and would take a fifth of the height.
    top_y, bottom_y = wm["height"] * 5 / 180, wm["height"] * 150 / 180
    parts = [f'<svg id="worldmap" viewBox="0 {top_y:.0f} {wm["width"]:g} {bottom_y - top_y:.0f}" role="img" '
             'aria-label="bytes per location country">']
    dots = []
    for cc, shape in wm["countries"].items():
        cls = "c"
        title = country_name(cc) or cc
        if cc in totals and top:
            tier = 1 + min(4, int(4 * math.log1p(totals[cc]) / math.log1p(top))) if top > 0 else 1
            r = rows[cc]
            cls += f" t{tier} has-traffic"
            title += f": {human_bytes(r.bytes_sent)} sent, {human_bytes(r.bytes_received)} received, {r.destinations} destinations"
            if shape.get("small"):
                cx, cy = shape["c"]
                dots.append(f'<circle cx="{cx:g}" cy="{cy:g}" r="5" data-cc="{cc}"><title>{_h(title)}</title></circle>')
        parts.append(f'<path class="{cls}" data-cc="{cc}" d="{shape["d"]}"><title>{_h(title)}</title></path>')
    parts.extend(dots)
    parts.append("</svg>")
    notes = []
    for k, label in (("anycast", "anycast, no single location"), ("", "location unknown")):
        if k in rows:
            r = rows[k]
            notes.append(f"{label}: {human_bytes(r.bytes_sent)} sent, {human_bytes(r.bytes_received)} received")
    missing = sorted(k for k in totals if k not in wm["countries"])
    if missing:
        notes.append("not on the map: " + ", ".join(missing))
    legend = (
        '<p class="legend">bytes (sent + received), log scale: low'
        + "".join(f'<span style="background:{c}"></span>' for c in ("#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"))
        + ' high; <span style="background:#e6550d;width:10px;border-radius:5px"></span> small country</p>'
    )
    return "".join(parts) + legend + "".join(f"<p>{_h(n)}</p>" for n in notes)


def _bars(rows: list[RollupRow], group: str) -> str:
    if not rows:
        return ""
    top = max(max(r.bytes_sent, r.bytes_received) for r in rows) or 1
    out = [f'<h3>{_h(ROLLUP_TITLES.get(group, group))}</h3><div class="bars" data-group="{group}">']
    for r in rows[:25]:
        ws, wr = 100 * r.bytes_sent / top, 100 * r.bytes_received / top
        out.append(
            f'<div data-key="{_h(r.key)}">{_h(r.label, 120)}</div>'
            f'<div><div class="bar" style="width:{ws:.1f}%" title="sent"></div>'
            f'<div class="bar recv" style="width:{wr:.1f}%" title="received"></div></div>'
            f'<div>{human_bytes(r.bytes_sent)} sent / {human_bytes(r.bytes_received)} received</div>'
        )
    out.append("</div>")
    return "".join(out)


def _timeline(report: Report) -> str:
    pts = report.timeline
    if not pts:
        return "<p>No timeline: the inputs carry no per-packet times.</p>"
    w, h, mid = 1000.0, 200.0, 100.0
    t0, t1 = pts[0][0], pts[-1][0]
    span = max(t1 - t0, report.timeline_bucket)
    top = max(max(s, r) for _, s, r in pts) or 1
    bw = max(1.0, w * report.timeline_bucket / (span + report.timeline_bucket) - 1)
    out = [f'<svg viewBox="0 0 {w:g} {h:g}" role="img" aria-label="bytes over time">',
           f'<line x1="0" y1="{mid:g}" x2="{w:g}" y2="{mid:g}" stroke="#8c959f" stroke-width="1"/>']
    for t, s, r in pts:
        x = (t - t0) / (span + report.timeline_bucket) * w
        hs, hr = (mid - 4) * s / top, (mid - 4) * r / top
        label = f"{epoch_iso(t)}: {human_bytes(s)} sent, {human_bytes(r)} received"
        out.append(f'<g><title>{_h(label)}</title><rect x="{x:.1f}" y="{mid - hs:.1f}" width="{bw:.1f}" '
                   f'height="{hs:.1f}" fill="#3182bd"/><rect x="{x:.1f}" y="{mid:g}" width="{bw:.1f}" '
                   f'height="{hr:.1f}" fill="#9ecae1"/></g>')
    out.append("</svg>")
    out.append(f"<p>{_h(epoch_iso(t0))} to {_h(epoch_iso(t1 + report.timeline_bucket))}, "
               f"{report.timeline_bucket:g} s buckets; sent above the line, received below.</p>")
    return "".join(out)


def _dest_table(report: Report) -> str:
    head = [("#", "num"), ("address", ""), ("hostnames", ""), ("location", ""), ("holder", ""),
            ("holder country", ""), ("registry", ""), ("AS", ""), ("cloud", ""), ("sent", "num"),
            ("received", "num"), ("flows", "num"), ("verdict and flags", "")]
    out = ['<table id="dest-table" class="sortable"><thead><tr>']
    out += [f'<th data-type="{t}">{n}</th>' for n, t in head]
    out.append("</tr></thead><tbody>")
    for r in destination_rows(report):
        reg = " > ".join(x for x in (r["registry"], r["nir"]) if x)
        asn = f"AS{r['asn']} {r['as_name'] or ''}".strip() if r["asn"] is not None else ""
        cloud = " ".join(x for x in (r["cloud"], r["cloud_region"]) if x)
        flags = "".join(f'<span class="flag">{_h(f)}</span>' for f in r["flags"])
        out.append(
            f'<tr data-address="{_h(r["address"])}" data-scope="{_h(r["scope"])}">'
            f'<td class="n" data-v="{r["rank"]}">{r["rank"]}</td><td><code>{_h(r["address"])}</code></td>'
            f"<td>{_h(r['hostnames'])}</td><td>{_h(r['location'])}</td>"
            f"<td>{_h(r['holder'] or 'unknown')}</td><td>{_h(r['holder_country'])}</td>"
            f"<td>{_h(reg)}</td><td>{_h(asn)}</td><td>{_h(cloud)}</td>"
            f'<td class="n" data-v="{r["bytes_sent"]}">{human_bytes(r["bytes_sent"])}</td>'
            f'<td class="n" data-v="{r["bytes_received"]}">{human_bytes(r["bytes_received"])}</td>'
            f'<td class="n" data-v="{r["flows"]}">{r["flows"]}</td>'
            f'<td><div class="verdict">{_h(r["verdict"], 2000)}</div>{flags}</td></tr>'
        )
    out.append("</tbody></table>")
    return "".join(out)


def _rollup_tables(report: Report) -> str:
    out = []
    for group, rows in report.rollups.items():
        if not rows or group in ("location", "holder_country", "registry"):
            continue
        out.append(f"<h3>{_h(ROLLUP_TITLES.get(group, group))}</h3>")
        out.append(f'<table class="sortable rollup" data-group="{group}"><thead><tr><th>name</th>'
                   '<th data-type="num">sent</th><th data-type="num">received</th><th data-type="num">flows</th>'
                   '<th data-type="num">destinations</th></tr></thead><tbody>')
        for r in rows:
            out.append(f'<tr><td>{_h(r.label)}</td><td class="n" data-v="{r.bytes_sent}">{human_bytes(r.bytes_sent)}</td>'
                       f'<td class="n" data-v="{r.bytes_received}">{human_bytes(r.bytes_received)}</td>'
                       f'<td class="n">{r.flows}</td><td class="n">{r.destinations}</td></tr>')
        out.append("</tbody></table>")
    return "".join(out)


def _footer(report: Report) -> str:
    p = report.provenance
    out = ['<footer id="sources"><h2>Data sources, dates and credits</h2><table><thead><tr><th>source</th>'
           "<th>name</th><th>dated</th><th>from the capture</th><th>licence</th></tr></thead><tbody>"]
    for n in p.data_sources:
        s = n.source
        age = "" if n.age_days is None else f"{n.age_days:+.0f} days"
        cls = ' class="warn"' if n.warning else ""
        out.append(f"<tr{cls}><td>{_h(s.id)}</td><td>{_h(s.name)}</td><td>{_h(iso(s.date) or 'unknown')}</td>"
                   f"<td>{age}</td><td>{_h(s.licence)}</td></tr>")
    out.append("</tbody></table><h3>Provenance</h3><table><tbody>")
    for group, key, value, detail in provenance_items(report):
        if group == "source":
            continue
        cls = ' class="warn"' if group == "warning" else ""
        out.append(f"<tr{cls}><td>{_h(group)}</td><td>{_h(key)}</td><td>{_h(value, 2000)}</td><td>{_h(detail)}</td></tr>")
    out.append("</tbody></table>")
    credits = [*p.credits, MAP_CREDIT]
    out.append("<p>" + "<br>".join(_h(c) for c in credits) + "</p>")
    out.append(f"<p>Made by ipowner {_h(p.tool_version)}. Facts and their sources only: location, holder and "
               "registry are different facts, and none of them is a legal conclusion.</p></footer>")
    return "".join(out)


def render_html(report: Report) -> str:
    t = report.totals()
    p = report.provenance
    span = ""
    if p.capture_start is not None:
        span = f"; capture from {epoch_iso(p.capture_start)} to {epoch_iso(p.capture_end)}"
    inputs = ", ".join(i.name for i in p.inputs)
    body = [
        "<main><header><h1>ipowner report</h1>",
        f'<p class="summary">{t["destinations"]} internet destinations, {human_bytes(t["bytes_sent"])} sent, '
        f'{human_bytes(t["bytes_received"])} received, {t["flows"]} flows{_h(span)}. Inputs: {_h(inputs, 2000)}.</p>',
    ]
    if report.partial:
        body.append('<p class="warn">Partial: some inputs or addresses could not be read or answered.</p>')
    for w in report.warnings:
        body.append(f'<p class="warn">{_h(w, 2000)}</p>')
    if report.policy is not None and report.policy.fired:
        body.append(f'<div id="policy"><p class="bad">Policy gate fired ({_h(", ".join(report.policy.rules))}):</p><ul>')
        for o in report.policy.offending:
            body.append(f"<li><code>{_h(o['address'])}</code> {_h(o['hostnames'])}: {_h(o['rule'])} ({_h(o['value'])})</li>")
        body.append("</ul></div>")
    body.append("</header>")
    body.append('<section id="map"><h2>Bytes per location country</h2>' + _map(report) + "</section>")
    body.append('<section id="jurisdictions"><h2>Per jurisdiction</h2>'
                + _bars(report.rollups.get("location", []), "location")
                + _bars(report.rollups.get("holder_country", []), "holder_country")
                + _bars(report.rollups.get("registry", []), "registry") + "</section>")
    body.append('<section id="timeline"><h2>Timeline</h2>' + _timeline(report) + "</section>")
    body.append('<section id="destinations"><h2>Destinations, ranked by bytes sent</h2>'
                "<p>Click a column heading to sort.</p>" + _dest_table(report) + "</section>")
    body.append('<section id="rollups"><h2>Rollups</h2>' + _rollup_tables(report) + "</section>")
    body.append(_footer(report))
    body.append("</main>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_csp()}">'
        '<meta name="referrer" content="no-referrer"><meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,"><title>ipowner report</title>'
        f"<style>{_CSS}</style></head><body>"
        + "".join(body)
        + f"<script>{_SCRIPT}</script></body></html>\n"
    )


def write_html(report: Report, stream: TextIO) -> None:
    stream.write(render_html(report))
