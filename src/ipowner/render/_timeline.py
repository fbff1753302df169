"""The report's timeline: bytes per bucket, sent above the axis and received below, with time and value ticks.

A capture recorded in separate periods (nDPI's 1kxun: 2016 and 2022) is drawn as one panel per period
with a break between them, each panel with its own time ticks, instead of one flat line with two
slivers. Hovering a bucket names its time, its totals and the jurisdictions (location countries) in it.
"""

from __future__ import annotations

from ipowner.model.report import Report
from ipowner.reference.countries import country_name
from ipowner.render._page import h, plural, words
from ipowner.render._scale import duration, per, period, ticks, time_label, time_ticks, utc, when
from ipowner.render.report_rows import human_bytes

W = 1000.0
LEFT, RIGHT = 74.0, 12.0
GAP = 26.0  # the break between two periods of traffic (narrower when there are many)
TOP = 26.0  # the sent area starts here (period labels above it)
HALF = 78.0  # height of the sent area and of the received area
BOTTOM_PAD = 30.0  # time tick labels
MIN_PANEL = 110.0
BREAK_BUCKETS = 30  # a gap this many buckets long (and BREAK_MIN seconds) is drawn as a break
BREAK_MIN = 600.0
MAX_PANELS = 24


def periods(report: Report) -> list[tuple[float, float]]:
    """The periods of traffic: (start, end) of the runs of buckets between gaps of at least ``BREAK_BUCKETS``
    buckets (and ``BREAK_MIN`` seconds); at most ``MAX_PANELS`` runs (the longest gaps break first).

    On one linear axis, a capture recorded in two sessions years apart shows two slivers and
    nothing else; cut at its gaps, each period gets a readable panel.
    """
    b = report.timeline_bucket
    times = sorted(t for t, _, _ in report.timeline)
    if not times:
        return []
    least = max(BREAK_BUCKETS * b, BREAK_MIN)
    gaps = sorted(((times[i + 1] - times[i] - b, i) for i in range(len(times) - 1)), reverse=True)
    cut = {i for g, i in gaps[: MAX_PANELS - 1] if g >= least}
    out = []
    start = times[0]
    for i in range(len(times) - 1):
        if i in cut:
            out.append((start, times[i] + b))
            start = times[i + 1]
    out.append((start, times[-1] + b))
    return out


def _widths(spans: list[float], avail: float, least: float) -> list[float]:
    """Panel widths proportional to their durations, none narrower than ``least``."""
    total = sum(spans) or 1.0
    widths = [avail * s / total for s in spans]
    small = {i for i, w in enumerate(widths) if w < least}
    while small and len(small) < len(spans):
        rest = avail - least * len(small)
        big_total = sum(s for i, s in enumerate(spans) if i not in small) or 1.0
        widths = [least if i in small else rest * s / big_total for i, s in enumerate(spans)]
        more = {i for i, w in enumerate(widths) if w < least} - small
        if not more:
            break
        small |= more
    if len(small) == len(spans):
        widths = [avail / len(spans)] * len(spans)
    return widths


def _amount(v: float) -> str:
    """A tick's value: ``50 kB`` rather than ``50.0 kB``."""
    return human_bytes(int(v)).replace(".0 ", " ")


def _by_location(report: Report) -> dict[float, list[tuple[str, int, int]]]:
    out: dict[float, list[tuple[str, int, int]]] = {}
    for key, pts in report.timeline_by_location.items():
        label = country_name(key) or key if len(key) == 2 else ("anycast" if key == "anycast" else "unknown")
        for t, s, r in pts:
            out.setdefault(t, []).append((label, s, r))
    return out


def timeline_section(report: Report) -> str:
    pts = sorted(report.timeline)
    if not pts:
        return "<p>No timeline: the inputs carry no per-packet times.</p>"
    b = report.timeline_bucket
    spans = periods(report)
    sent_ticks = ticks(max(s for _, s, _ in pts), most=2)
    recv_ticks = ticks(max(r for _, _, r in pts), most=2)
    mid = TOP + HALF
    low = mid + HALF
    height = low + BOTTOM_PAD
    gap = GAP if len(spans) <= 6 else GAP / 2
    avail = W - LEFT - RIGHT - gap * (len(spans) - 1)
    widths = _widths([e - s for s, e in spans], avail, min(MIN_PANEL, avail / len(spans)))
    sy = HALF / (sent_ticks[-1] or 1)
    ry = HALF / (recv_ticks[-1] or 1)
    locs = _by_location(report)

    out = [f'<svg viewBox="0 0 {W:g} {height:g}" role="img" aria-labelledby="timeline-desc">']
    # Value axis: grid lines and labels, sent above, received below.
    out.append('<g class="grid">')
    for v in sent_ticks[1:]:
        y = mid - v * sy
        out.append(f'<line x1="{LEFT:g}" y1="{y:.1f}" x2="{W - RIGHT:g}" y2="{y:.1f}"/>')
    for v in recv_ticks[1:]:
        y = mid + v * ry
        out.append(f'<line x1="{LEFT:g}" y1="{y:.1f}" x2="{W - RIGHT:g}" y2="{y:.1f}"/>')
    out.append("</g>")
    for v in sent_ticks[1:]:
        out.append(f'<text x="{LEFT - 6:g}" y="{mid - v * sy + 4:.1f}" text-anchor="end">{_amount(v)}</text>')
    for v in recv_ticks[1:]:
        out.append(f'<text x="{LEFT - 6:g}" y="{mid + v * ry + 4:.1f}" text-anchor="end">{_amount(v)}</text>')
    sx, rx = TOP + HALF / 2, mid + HALF / 2
    out.append(f'<text x="12" y="{sx:g}" class="seg" text-anchor="middle" transform="rotate(-90 12 {sx:g})">sent</text>'
               f'<text x="12" y="{rx:g}" class="seg" text-anchor="middle" transform="rotate(-90 12 {rx:g})">received</text>'
               f'<text x="{LEFT - 6:g}" y="{mid + 4:g}" text-anchor="end">0</text>')

    x0 = LEFT
    right = -1e9  # where the last time label drawn ends: a label that would overlap it is left out
    top_right = -1e9  # the same for the period labels
    for n, ((s0, s1), w) in enumerate(zip(spans, widths, strict=True)):
        scale = w / (s1 - s0)
        day, last = utc(s0).strftime("%Y-%m-%d"), utc(s1 - 1e-6).strftime("%Y-%m-%d")
        label = day if day == last else f"{day} \u2013 {last}"
        if n == 0:
            label += " UTC"
        else:
            later = duration(s0 - spans[n - 1][1])
            label = (f"{label}, {later} later" if day != utc(spans[n - 1][1] - 1e-6).strftime("%Y-%m-%d")
                     else f"{later} later")
        lw = 6.6 * len(label)
        lx, anchor = x0, "start"
        if lx + lw > W - RIGHT:  # the last panels' labels end at the right edge
            lx, anchor = W - RIGHT - lw, "end"
        if lx >= top_right + 8 and lx >= LEFT:
            at = x0 if anchor == "start" else W - RIGHT
            out.append(f'<text x="{at:.1f}" y="{TOP - 10:g}" class="seg" text-anchor="{anchor}">{h(label)}</text>')
            top_right = lx + lw
        out.append(f'<line class="ax" x1="{x0:.1f}" y1="{mid:g}" x2="{x0 + w:.1f}" y2="{mid:g}"/>'
                   f'<line class="ax" x1="{x0:.1f}" y1="{low:g}" x2="{x0 + w:.1f}" y2="{low:g}"/>')
        step, tts = time_ticks(s0, s1, int(w // 72))
        for t in tts:
            x = x0 + (t - s0) * scale
            text = time_label(t, step)
            tw = 6.2 * len(text)
            anchor, lx = "middle", x - tw / 2
            if lx < x0:
                anchor, lx = "start", x
            elif x + tw / 2 > x0 + w:
                anchor, lx = "end", x - tw
            out.append(f'<line class="ax" x1="{x:.1f}" y1="{low:g}" x2="{x:.1f}" y2="{low + 4:g}"/>')
            if lx >= right + 6:
                out.append(f'<text x="{x:.1f}" y="{low + 16:g}" text-anchor="{anchor}">{text}</text>')
                right = lx + tw
        bw = max(1.0, b * scale - (1.0 if b * scale > 4 else 0.0))
        for t, s, r in pts:
            if not s0 <= t < s1:
                continue
            x = x0 + (t - s0) * scale
            tip = [f"{when(t, seconds=b < 60)}, {duration(b)}: {human_bytes(s)} sent, {human_bytes(r)} received"]
            for loc, ls, lr in sorted(locs.get(t, []), key=lambda x: (-x[1], -x[2], x[0]))[:8]:
                tip.append(f"{loc}: {human_bytes(ls)} sent, {human_bytes(lr)} received")
            out.append(f'<g class="b"><title>{h(chr(10).join(tip), 2000)}</title>'
                       f'<rect class="s" x="{x:.1f}" y="{mid - s * sy:.1f}" width="{bw:.1f}" height="{s * sy:.1f}"/>'
                       f'<rect class="r" x="{x:.1f}" y="{mid:g}" width="{bw:.1f}" height="{r * ry:.1f}"/></g>')
        if n + 1 < len(spans):
            bx = x0 + w + gap / 2
            for y in (mid, low):
                out.append(f'<path class="brk" d="M{bx - 6:.1f},{y + 5:g}l4,-10M{bx + 2:.1f},{y + 5:g}l4,-10"/>')
        x0 += w + gap
    out.append("</svg>")
    desc = (f"Bytes {per(b)} ({duration(b)} buckets), sent above the line and received below it; each half has "
            f"its own scale (up to {_amount(sent_ticks[-1])} sent, {_amount(recv_ticks[-1])} "
            "received). Times are UTC.")
    if len(spans) > 1:
        desc += (f" {plural(len(spans), 'period').capitalize()} of traffic: "
                 + (words(period(s, e) for s, e in spans) if len(spans) <= 6 else
                    f"from {when(spans[0][0])} to {when(spans[-1][1])}")
                 + ". The gaps between them are drawn as breaks (\u2215\u2215), not to scale.")
    else:
        desc += f" {period(*spans[0])}."
    return f'<div class="box">{"".join(out)}</div><p id="timeline-desc" class="note">{h(desc, 4000)}</p>'
