#!/usr/bin/env python3
"""Write a synthetic City-shaped MaxMind-format database of realistic size, for the enrichment benchmark.

The MaxMind test databases hold a few hundred networks, too few for a throughput figure to mean
anything; a real City database holds millions and covers nearly all of the address space. This one is
synthetic (deterministic, seeded): public IPv4 tiled /16 by /16 with networks sized so the count comes
out near ``--networks`` (90 %), and random IPv6 /48s (10 %), each with a City-shaped record (city,
country, continent, subdivision, postal code, location, registered country) whose names say "Synthetic". ``database_type`` is
``GeoIP2-City`` so readers treat it as a City database; the description says it is synthetic.

Usage: make_city_db.py OUT.mmdb [--networks 1000000] [--seed 3]   (~1 minute per million on one core)
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections import defaultdict


def build(out: str, networks: int, seed: int) -> float:
    from mmdb_writer import MMDBWriter
    from netaddr import IPNetwork, IPSet

    rnd = random.Random(seed)
    t = time.perf_counter()
    w = MMDBWriter(
        ip_version=6,
        database_type="GeoIP2-City",
        languages=["en"],
        ipv4_compatible=True,
        description={"en": "Synthetic City-shaped database for ipowner's benchmark (not geolocation data)"},
    )
    countries = ["DE", "US", "CN", "BR", "IN", "JP", "FR", "GB", "ZA", "AU", "RU", "NL", "SG", "KR", "CA"]
    continents = {"DE": "EU", "FR": "EU", "GB": "EU", "NL": "EU", "RU": "EU", "US": "NA", "CA": "NA", "BR": "SA", "CN": "AS", "IN": "AS", "JP": "AS", "SG": "AS", "KR": "AS", "ZA": "AF", "AU": "OC"}
    n_cities = 5000
    groups: dict[int, list] = defaultdict(list)
    n6 = networks // 10
    # Tile public IPv4 /16 by /16, each with one network size, so that the database covers the address
    # space as a real City database does; the sizes are chosen so the count comes out near ``networks``.
    usable = [b for b in range(1 << 16) if b >> 8 not in (0, 10, 127) and b >> 8 < 224]
    rnd.shuffle(usable)
    mean = max(1.0, (networks - n6) / len(usable))
    center = 16 + max(0, round(math.log2(mean)))
    made = 0
    for b16 in usable:
        if made >= networks - n6:
            break
        plen = min(28, max(16, center + rnd.choice([-1, 0, 1])))
        step = 1 << (32 - plen)
        base = b16 << 16
        for k in range(1 << (plen - 16)):
            a = base + k * step
            groups[rnd.randrange(n_cities)].append(IPNetwork(f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}/{plen}"))
        made += 1 << (plen - 16)
    for _ in range(n6):
        hi = rnd.choice([0x2001, 0x2400, 0x2600, 0x2800, 0x2A00, 0x2A01, 0x2C0F])
        a = (hi << 112) | (rnd.getrandbits(32) << 80)
        groups[rnd.randrange(n_cities)].append(IPNetwork(f"{_v6(a)}/48"))
    for i, nets in groups.items():
        cc = countries[i % len(countries)]
        w.insert_network(
            IPSet(nets),
            {
                "city": {"geoname_id": 100000 + i, "names": {"en": f"Synthetic City {i}"}},
                "country": {"geoname_id": 1000 + i % len(countries), "iso_code": cc, "names": {"en": f"Synthetic {cc}"}},
                "registered_country": {"iso_code": cc, "names": {"en": f"Synthetic {cc}"}},
                "continent": {"code": continents[cc], "names": {"en": f"Synthetic {continents[cc]}"}},
                "location": {"latitude": round(-60 + (i * 7.919) % 120, 4), "longitude": round(-180 + (i * 13.37) % 360, 4), "accuracy_radius": 20 + i % 200, "time_zone": "UTC"},
                "subdivisions": [{"iso_code": f"S{i % 50}", "names": {"en": f"Synthetic Region {i % 50}"}}],
                "postal": {"code": f"{i:05d}"},
            },
        )
    w.to_db_file(out)
    return time.perf_counter() - t


def _v6(a: int) -> str:
    import ipaddress

    return str(ipaddress.IPv6Address(a))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Write a synthetic City-shaped .mmdb (see the module docstring).")
    ap.add_argument("output")
    ap.add_argument("--networks", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=3)
    a = ap.parse_args(argv)
    dt = build(a.output, a.networks, a.seed)
    print(f"make_city_db: {a.networks:,} networks in {dt:.0f} s -> {a.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
