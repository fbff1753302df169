"""Build data/world-map.json (country outlines as SVG paths) from the npm package world-atlas.

world-atlas (ISC licence) packages Natural Earth's public-domain admin-0 boundaries as TopoJSON.
Country ids there are ISO 3166-1 numeric; i18n-iso-countries (MIT) maps them to alpha-2 and gives
English names. Both are fetched with `npm pack` (the registry's ordinary client) and read here:

    npm pack world-atlas@2.0.2 i18n-iso-countries@7.14.0   # then unpack both tarballs
    python scripts/build_world_map.py WORLD_ATLAS_DIR I18N_ISO_COUNTRIES_DIR data/world-map.json

The 1:110m shapes keep the file small; countries missing at that scale (Singapore, Hong Kong,
Bahrain, ...) are taken from the 1:50m file so every country a destination sits in can be drawn.
Projection: equirectangular, 1000 x 500 units, coordinates rounded to 0.1 unit.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

W, H = 1000.0, 500.0
# Natural Earth gives these territories no ISO numeric code; they have de-facto alpha-2 codes or none.
NO_ID = {"Kosovo": "XK", "N. Cyprus": None, "Somaliland": None}
# Where i18n-iso-countries lists several English names, the short name a reader expects.
PREFERRED = {"CN": "China", "CG": "Republic of the Congo", "CD": "Democratic Republic of the Congo",
             "CI": "C\u00f4te d'Ivoire", "CZ": "Czechia", "GM": "Gambia", "IR": "Iran", "KR": "South Korea",
             "MK": "North Macedonia", "PS": "Palestine", "RU": "Russia", "TW": "Taiwan", "TZ": "Tanzania",
             "US": "United States", "LA": "Laos", "MD": "Moldova", "FM": "Micronesia"}


def decode_arcs(topo: dict) -> list[list[tuple[float, float]]]:
    sx, sy = topo["transform"]["scale"]
    tx, ty = topo["transform"]["translate"]
    arcs = []
    for arc in topo["arcs"]:
        x = y = 0
        pts = []
        for dx, dy in arc:
            x += dx
            y += dy
            pts.append((x * sx + tx, y * sy + ty))
        arcs.append(pts)
    return arcs


def ring(arcs: list[list[tuple[float, float]]], indexes: list[int]) -> list[tuple[float, float]]:
    pts: list[tuple[float, float]] = []
    for i in indexes:
        seg = arcs[i] if i >= 0 else list(reversed(arcs[~i]))
        pts.extend(seg if not pts else seg[1:])
    return pts


def project(lon: float, lat: float) -> tuple[float, float]:
    return (lon + 180.0) / 360.0 * W, (90.0 - lat) / 180.0 * H


def path_of(geom: dict, arcs: list) -> tuple[str, float]:
    polys = geom["arcs"] if geom["type"] == "MultiPolygon" else [geom["arcs"]]
    parts = []
    area = 0.0
    for poly in polys:
        for r in poly:
            pts = [project(*p) for p in ring(arcs, r)]
            if any(abs(a[0] - b[0]) > W / 2 for a, b in zip(pts, pts[1:], strict=False)):
                # A ring crossing the antimeridian: keep it in one piece east of it (the viewBox clips it).
                pts = [(x + W if x < W / 2 else x, y) for x, y in pts]
            out = []
            last = None
            for x, y in pts:
                q = (round(x, 1), round(y, 1))
                if q != last:
                    out.append(q)
                    last = q
            if len(out) < 3:
                continue
            for (x1, y1), (x2, y2) in zip(out, out[1:] + out[:1], strict=True):
                area += x1 * y2 - x2 * y1
            parts.append("M" + "L".join(f"{x:g},{y:g}" for x, y in out) + "Z")
    return "".join(parts), abs(area) / 2


def _inside(x: float, y: float, pts: list[tuple[float, float]]) -> bool:
    hit = False
    for (x1, y1), (x2, y2) in zip(pts, pts[1:] + pts[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            hit = not hit
    return hit


def _edge_distance(x: float, y: float, pts: list[tuple[float, float]]) -> float:
    best = math.inf
    for (x1, y1), (x2, y2) in zip(pts, pts[1:] + pts[:1], strict=True):
        dx, dy = x2 - x1, y2 - y1
        t = 0.0 if dx == dy == 0 else max(0.0, min(1.0, ((x - x1) * dx + (y - y1) * dy) / (dx * dx + dy * dy)))
        best = min(best, math.hypot(x - x1 - t * dx, y - y1 - t * dy))
    return best


def _ring_area(pts: list[tuple[float, float]]) -> float:
    return abs(sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(pts, pts[1:] + pts[:1], strict=True))) / 2


def centroid(geom: dict, arcs: list) -> tuple[float, float]:
    # Where the report puts a country's symbol: the point of its largest ring (by area) farthest from
    # the coast, found on a grid refined around the best point (a bounding-box centre falls outside
    # crescent and antimeridian-crossing shapes: Russia's landed in the North Sea).
    polys = geom["arcs"] if geom["type"] == "MultiPolygon" else [geom["arcs"]]
    best: list[tuple[float, float]] = []
    for poly in polys:
        pts = [project(*p) for p in ring(arcs, poly[0])]
        if any(abs(a[0] - b[0]) > W / 2 for a, b in zip(pts, pts[1:], strict=False)):
            pts = [(x + W if x < W / 2 else x, y) for x, y in pts]
        if len(pts) >= 3 and (not best or _ring_area(pts) > _ring_area(best)):
            best = pts
    xs = [p[0] for p in best]
    ys = [p[1] for p in best]
    cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
    score = _edge_distance(cx, cy, best) if _inside(cx, cy, best) else -1.0
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    for _ in range(4):
        step_x, step_y = (x1 - x0) / 16, (y1 - y0) / 16
        for i in range(17):
            for j in range(17):
                x, y = x0 + i * step_x, y0 + j * step_y
                if _inside(x, y, best):
                    d = _edge_distance(x, y, best)
                    if d > score:
                        score, cx, cy = d, x, y
        x0, x1, y0, y1 = cx - 2 * step_x, cx + 2 * step_x, cy - 2 * step_y, cy + 2 * step_y
    if cx >= W:  # an antimeridian ring shifted east: put the point back on the map
        cx -= W
    return round(cx, 1), round(cy, 1)


def main(atlas_dir: str, codes_dir: str, out: str) -> None:
    atlas, codes = Path(atlas_dir), Path(codes_dir)
    numeric = {n: a2 for a2, _a3, n, _iso in json.loads((codes / "codes.json").read_text())}
    names_raw = json.loads((codes / "langs" / "en.json").read_text())["countries"]
    names = {a2: (v[0] if isinstance(v, list) else v) for a2, v in names_raw.items()}
    names.update(PREFERRED)
    names["XK"] = "Kosovo"
    countries: dict[str, dict] = {}
    for scale in ("110m", "50m"):
        topo = json.loads((atlas / f"countries-{scale}.json").read_text())
        arcs = decode_arcs(topo)
        for geom in topo["objects"]["countries"]["geometries"]:
            if geom.get("type") not in ("Polygon", "MultiPolygon"):
                continue
            name = geom["properties"]["name"]
            a2 = numeric.get(geom["id"]) if "id" in geom else NO_ID.get(name)
            if not a2 or a2 in countries:
                continue
            d, area = path_of(geom, arcs)
            if not d:
                continue
            cx, cy = centroid(geom, arcs)
            countries[a2] = {"d": d, "c": [cx, cy], "small": area < 12.0}
    doc = {
        "source": "Natural Earth admin-0 countries (public domain) via world-atlas 2.0.2 (ISC); "
        "ISO 3166 codes and English names via i18n-iso-countries 7.14.0 (MIT)",
        "projection": "equirectangular",
        "width": W,
        "height": H,
        "names": dict(sorted(names.items())),
        "countries": dict(sorted(countries.items())),
    }
    Path(out).write_text(json.dumps(doc, separators=(",", ":"), ensure_ascii=True) + "\n")
    print(f"{out}: {len(countries)} countries, {Path(out).stat().st_size} bytes")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: build_world_map.py WORLD_ATLAS_DIR I18N_ISO_COUNTRIES_DIR OUT.json")
    main(*sys.argv[1:])
