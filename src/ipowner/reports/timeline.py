"""The report's timelines: bytes per time bucket for all internet traffic, and per location country."""

from __future__ import annotations

from collections.abc import Mapping

# (bucket start in seconds since the epoch, bytes sent, bytes received)
Point = tuple[float, int, int]


def timelines(
    per_address: Mapping[str, list[Point]], location_of: Mapping[str, str]
) -> tuple[list[Point], dict[str, list[Point]]]:
    """(all, by location key) summed per bucket over the addresses in ``location_of``, both in time order.

    ``per_address`` is the capture's timeline (address -> points); ``location_of`` maps each internet
    destination to its location rollup key, so that the two agree on what "by location" means.
    """
    total: dict[float, list[int]] = {}
    by_loc: dict[str, dict[float, list[int]]] = {}
    for address, points in per_address.items():
        if address not in location_of:
            continue
        per = by_loc.setdefault(location_of[address], {})
        for t, s, r in points:
            for acc in (total, per):
                slot = acc.setdefault(float(t), [0, 0])
                slot[0] += s
                slot[1] += r
    everything = [(t, v[0], v[1]) for t, v in sorted(total.items())]
    by_location = {k: [(t, v[0], v[1]) for t, v in sorted(pts.items())] for k, pts in sorted(by_loc.items())}
    return everything, by_location
