"""Folded pairs and destinations as columns: a row is an index, not a Python object.

A capture can have millions of (device, destination, app) pairs and as many destinations. As objects,
each cost about a kilobyte (its counters and times as Python numbers, a dictionary of ports, five lists);
here the counters are machine integers in ``array`` columns, times doubles (NaN: not known), and the
small sets a row has (ports, devices, apps) interned tuples shared by every row with the same set.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Hashable, Iterable, MutableSequence
from typing import Final, Generic, TypeVar

NO_TIME: Final = math.nan  # a time not known, in a time column
COUNTERS: Final = ("flows", "packets_sent", "packets_received", "bytes_sent", "bytes_received", "ip_bytes_sent",
                   "ip_bytes_received")  # model.counts.Counts, in this order
SMALL_SET: Final = 8  # past this many members a row's set is its own dictionary (a port scan: no quadratic tuples)
INTERNED_MAX: Final = 1 << 16  # distinct small sets shared; past it, new ones are not interned

T = TypeVar("T", bound=Hashable)
PairKey = tuple[str | None, str, str | None]  # (device, destination, app); logs may not name the device


class CounterColumns:
    """The counter block of ``model.counts.Counts`` for many rows, one column per counter.

    Machine integers; a sum that outgrows 64 bits (a hostile log can claim 2^50 bytes a row) turns the
    columns into lists of Python integers, so no count is ever cut."""

    __slots__ = ("cols",)

    def __init__(self) -> None:
        self.cols: list[MutableSequence[int]] = [array("q") for _ in COUNTERS]

    def append(self, values: tuple[int, ...] = (0, 0, 0, 0, 0, 0, 0)) -> None:
        """A row of these counters (each within 64 bits: a count, not a sum)."""
        for c, v in zip(self.cols, values, strict=True):
            c.append(v)

    def add(self, i: int, flows: int, packets_sent: int, packets_received: int, bytes_sent: int,
            bytes_received: int, ip_bytes_sent: int, ip_bytes_received: int) -> None:
        c0, c1, c2, c3, c4, c5, c6 = self.cols
        # the sums first, then the stores: storing them again after a widening gives the same row
        n0, n1, n2, n3 = c0[i] + flows, c1[i] + packets_sent, c2[i] + packets_received, c3[i] + bytes_sent
        n4, n5, n6 = c4[i] + bytes_received, c5[i] + ip_bytes_sent, c6[i] + ip_bytes_received
        try:
            c0[i], c1[i], c2[i], c3[i], c4[i], c5[i], c6[i] = n0, n1, n2, n3, n4, n5, n6
        except OverflowError:
            self.cols = [list(col) for col in self.cols]
            c0, c1, c2, c3, c4, c5, c6 = self.cols
            c0[i], c1[i], c2[i], c3[i], c4[i], c5[i], c6[i] = n0, n1, n2, n3, n4, n5, n6

    def row(self, i: int) -> tuple[int, int, int, int, int, int, int]:
        c = self.cols
        return c[0][i], c[1][i], c[2][i], c[3][i], c[4][i], c[5][i], c[6][i]


class SetColumn(Generic[T]):
    """An insertion-ordered set per row: an interned tuple while small, its own dictionary past SMALL_SET."""

    __slots__ = ("rows", "_interned")

    def __init__(self) -> None:
        self.rows: list[tuple[T, ...] | dict[T, None]] = []
        self._interned: dict[tuple[T, ...], tuple[T, ...]] = {}

    def _small(self, t: tuple[T, ...]) -> tuple[T, ...]:
        shared = self._interned.get(t)
        if shared is not None:
            return shared
        if len(self._interned) < INTERNED_MAX:
            self._interned[t] = t
        return t

    def append(self, items: Iterable[T] = ()) -> None:
        if not items:
            self.rows.append(())
            return
        # (one item is a set already: the compiled core's pairs mostly have one port)
        t = items if type(items) is tuple and len(items) == 1 else tuple(dict.fromkeys(items))
        self.rows.append(self._small(t) if len(t) <= SMALL_SET else dict.fromkeys(t))

    def add(self, i: int, item: T) -> bool:
        """Add ``item`` to row ``i``; whether it was new there."""
        cur = self.rows[i]
        if item in cur:
            return False
        if isinstance(cur, dict):
            cur[item] = None
        elif len(cur) < SMALL_SET:
            self.rows[i] = self._small((*cur, item))
        else:
            self.rows[i] = dict.fromkeys((*cur, item))
        return True

    def update(self, i: int, items: Iterable[T]) -> None:
        for item in items:
            self.add(i, item)


class TimeColumns:
    """First and last times per row (``NO_TIME``: not known), kept as ``min``/``max`` of what is seen."""

    __slots__ = ("first", "last")

    def __init__(self) -> None:
        self.first = array("d")
        self.last = array("d")

    def append(self, first: float = NO_TIME, last: float = NO_TIME) -> None:
        self.first.append(first)
        self.last.append(last)

    def seen(self, i: int, first: float | None, last: float | None) -> None:
        if first is not None:
            cur = self.first[i]
            if cur != cur or first < cur:  # (NaN: none yet)
                self.first[i] = first
        if last is not None:
            cur = self.last[i]
            if cur != cur or last > cur:
                self.last[i] = last

    def bounds(self) -> tuple[float | None, float | None]:
        """The earliest first time and the latest last time known, of all rows."""
        return (min((t for t in self.first if t == t), default=None),
                max((t for t in self.last if t == t), default=None))

    def span(self, i: int) -> tuple[float | None, float | None]:
        f, la = self.first[i], self.last[i]
        return (None if f != f else f), (None if la != la else la)


class PairTable:
    """Every (device, destination, app) pair once its flows are folded, in the order first seen.

    ``timelines`` holds the timeline (bucket -> [sent, received] frame bytes) of the pairs that keep one
    (within the budget); ``l2_broadcast`` the pairs sent to an Ethernet broadcast address."""

    __slots__ = ("index", "keys", "counts", "times", "ports", "timelines", "l2_broadcast")

    def __init__(self) -> None:
        self.index: dict[PairKey, int] = {}
        self.keys: list[PairKey | None] = []  # None once aggregate has taken the pair
        self.counts = CounterColumns()
        self.times = TimeColumns()
        self.ports: SetColumn[tuple[int | str, int | None]] = SetColumn()
        self.timelines: dict[int, dict[float, list[int]]] = {}
        self.l2_broadcast: set[int] = set()

    def __len__(self) -> int:
        return len(self.keys)

    def new(self, key: PairKey, ports: Iterable[tuple[int | str, int | None]] = (),
            timeline: dict[float, list[int]] | None = None, counts: tuple[int, ...] = (0, 0, 0, 0, 0, 0, 0),
            first: float = NO_TIME, last: float = NO_TIME) -> int:
        """A row for a pair seen for the first time (``timeline``: the one it keeps, None for none), with
        its first counts and times when given."""
        i = len(self.keys)
        self.index[key] = i
        self.keys.append(key)
        self.counts.append(counts)
        self.times.append(first, last)
        self.ports.append(ports)
        if timeline is not None:
            self.timelines[i] = timeline
        return i


__all__ = ["COUNTERS", "NO_TIME", "CounterColumns", "PairKey", "PairTable", "SetColumn", "TimeColumns"]
