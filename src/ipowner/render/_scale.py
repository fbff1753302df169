"""Scales for the HTML pages: map classes a legend can label, nice axis ticks, time ticks and units.

Pure functions of numbers: the map, the timeline and their tests share them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

# How many colour classes the map has at most, and the palette index (1..PALETTE) each class count uses:
# the top class is always the darkest, so the largest value stands out whatever the spread.
PALETTE = 5


def nice(x: float, *, up: bool = False) -> float:
    """The 1-2-5 number nearest ``x`` on a log scale (the next one at or above ``x`` when ``up``)."""
    if x <= 0:
        return 0.0
    exp = math.floor(math.log10(x))
    cands = [m * 10.0**e for e in (exp - 1, exp, exp + 1) for m in (1, 2, 5)]
    if up:
        return min(c for c in cands if c >= x * (1 - 1e-9))
    return min(cands, key=lambda c: abs(math.log10(c) - math.log10(x)))


@dataclass(frozen=True, slots=True)
class Classes:
    """Colour classes over positive values: each spans the smallest to the largest value it holds."""

    kind: str  # "log" (natural breaks of the logarithms), "linear" (of the values) or "single"
    spans: tuple[tuple[float, float], ...]  # (lowest, highest) value of each class, ascending

    @property
    def palette(self) -> tuple[int, ...]:
        """The palette index (1..PALETTE) of each class; the top class is always PALETTE."""
        n = len(self.spans)
        if n == 1:
            return (PALETTE,)
        return tuple(round(1 + i * (PALETTE - 1) / (n - 1)) for i in range(n))

    def index(self, value: float) -> int:
        """The class of ``value`` (0-based): the highest whose lowest value it reaches; -1 for zero or less."""
        if value <= 0:
            return -1
        i = 0
        for j, (low, _high) in enumerate(self.spans):
            if value >= low:
                i = j
        return i

    def shade(self, value: float) -> int:
        """The palette index of ``value``'s class, 0 for no value."""
        i = self.index(value)
        return 0 if i < 0 else self.palette[i]


def classes(values: list[float], *, most: int = PALETTE) -> Classes | None:
    """Up to ``most`` classes of the positive values, by natural breaks (Jenks: least spread within classes).

    The breaks are taken on the logarithms when the values span a factor of ten or more (bytes per
    country usually do: one country often takes most), on the values otherwise; never more classes
    than distinct values. Each class is labelled by the real values it holds. None when no value is positive.
    """
    vals = sorted(v for v in values if v > 0)
    if not vals:
        return None
    n = min(most, len(set(vals)))
    if n <= 1:
        return Classes("single", ((vals[0], vals[-1]),))
    log = vals[-1] / vals[0] >= 10
    xs = [math.log10(v) for v in vals] if log else list(vals)
    groups = _natural_breaks(xs, n)
    spans = tuple((vals[a], vals[b - 1]) for a, b in groups)
    return Classes("log" if log else "linear", spans)


def _natural_breaks(xs: list[float], k: int) -> list[tuple[int, int]]:
    """Split sorted ``xs`` into ``k`` runs [a, b) minimising the summed squared deviation; equal values stay together."""
    n = len(xs)
    pre, pre2 = [0.0], [0.0]
    for x in xs:
        pre.append(pre[-1] + x)
        pre2.append(pre2[-1] + x * x)

    def cost(a: int, b: int) -> float:
        s, m = pre[b] - pre[a], b - a
        return pre2[b] - pre2[a] - s * s / m

    # A run may only start where the value changes, so that ties never straddle a break.
    starts = [i for i in range(n) if i == 0 or xs[i] != xs[i - 1]]
    inf = math.inf
    best: dict[tuple[int, int], tuple[float, int]] = {}  # (classes used, end) -> (cost, start of last run)
    ends = [*starts[1:], n]
    for b in ends:
        best[(1, b)] = (cost(0, b), 0)
    for c in range(2, k + 1):
        for b in ends:
            cand = (inf, -1)
            for a in starts[1:]:
                if a >= b or (c - 1, a) not in best:
                    continue
                total = best[(c - 1, a)][0] + cost(a, b)
                if total < cand[0]:
                    cand = (total, a)
            if cand[1] >= 0:
                best[(c, b)] = cand
    out: list[tuple[int, int]] = []
    c, b = k, n
    while c >= 1:
        _, a = best[(c, b)]
        out.append((a, b))
        b, c = a, c - 1
    return out[::-1]


def ticks(top: float, *, most: int = 4) -> list[float]:
    """Axis ticks from 0 to a round number at or above ``top``, at most ``most`` + 1 of them."""
    if top <= 0:
        return [0.0]
    for step in sorted({nice(top / k, up=True) for k in range(1, most + 1)}):
        if math.ceil(top / step - 1e-9) <= most:
            n = math.ceil(top / step - 1e-9)
            return [i * step for i in range(n + 1)]
    return [0.0, nice(top, up=True)]


# Time steps an axis may use (seconds), and the unit a bucket of that many seconds is named by.
_TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 3 * 3600, 6 * 3600, 12 * 3600,
               86400, 2 * 86400, 7 * 86400, 14 * 86400, 28 * 86400, 91 * 86400, 182 * 86400, 365 * 86400]


def time_step(duration: float, most: int) -> int:
    """The smallest step from the list giving at most ``most`` ticks over ``duration`` seconds."""
    for step in _TIME_STEPS:
        if duration / step <= most:
            return step
    return _TIME_STEPS[-1]


def time_ticks(start: float, end: float, most: int) -> tuple[int, list[float]]:
    """(step, tick times) between ``start`` and ``end``, aligned to whole steps in UTC."""
    step = time_step(end - start, max(1, most))
    first = math.ceil(start / step) * step
    out = []
    t = float(first)
    while t <= end + 1e-6:
        out.append(t)
        t += step
    return step, out


def utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, tz=UTC)


def time_label(t: float, step: int) -> str:
    """A tick's label: the time of day for steps under a day, the date otherwise."""
    d = utc(t)
    if step < 60:
        return d.strftime("%H:%M:%S")
    if step < 86400:
        return d.strftime("%H:%M")
    return d.strftime("%Y-%m-%d")


def when(t: float | None, *, seconds: bool = False) -> str:
    """An instant as a reader writes it: ``2016-08-02 02:19 UTC``."""
    if t is None:
        return "unknown"
    return utc(t).strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")


def period(start: float, end: float) -> str:
    """A span of time, the date once when it is one day: ``2016-08-02 02:19–02:21 UTC``."""
    a, b = utc(start), utc(end)
    if a.date() == b.date():
        return f"{a:%Y-%m-%d %H:%M}–{b:%H:%M} UTC"
    return f"{a:%Y-%m-%d %H:%M} UTC to {b:%Y-%m-%d %H:%M} UTC"


def duration(seconds: float) -> str:
    """A length of time in the largest unit that reads well: ``40 s``, ``12 min``, ``3.5 h``, ``6 days``, ``5.8 years``."""
    s = abs(seconds)
    if s < 120:
        return f"{s:.0f} s"
    if s < 2 * 3600:
        return f"{s / 60:.0f} min"
    if s < 2 * 86400:
        return f"{s / 3600:.1f} h".replace(".0 h", " h")
    if s < 365 * 86400:
        return f"{s / 86400:.0f} days"
    return f"{s / (365.25 * 86400):.1f} years"


def per(bucket: float) -> str:
    """The unit of one timeline bucket: ``per minute``, ``per 10 s``, ``per hour``."""
    named = {1: "second", 60: "minute", 3600: "hour", 86400: "day"}
    b = round(bucket)
    if b in named:
        return f"per {named[b]}"
    return f"per {duration(bucket)}"


def share(part: float, whole: float) -> str:
    """A share as a percentage with the precision it needs: ``27.5%``, ``<0.1%``, ``100%``."""
    if whole <= 0:
        return ""
    p = 100.0 * part / whole
    if part > 0 and p < 0.1:
        return "<0.1%"
    if p >= 99.95:
        return "100%" if part >= whole else "99.9%"
    return f"{p:.1f}%"
