"""Time report() and every report renderer on many synthetic destinations (offline, embedded data).

    python bench/report_render.py [N]      # N destinations, default 10000

The destinations are random public IPv4 addresses with made-up byte counts and hostnames; nothing is
read from disk but the shipped data, and no socket is opened.
"""

from __future__ import annotations

import io
import ipaddress
import random
import sys
import time

import ipowner
from ipowner.model import Destination, Hostname, InputInfo, TrafficResult
from ipowner.render import formats, render


def synthetic(n: int, seed: int = 1) -> TrafficResult:
    rnd = random.Random(seed)
    dests: list[Destination] = []
    while len(dests) < n:
        a = ipaddress.IPv4Address(rnd.getrandbits(32))
        if not a.is_global:
            continue
        i = len(dests)
        dests.append(Destination(address=str(a), flows=3, bytes_sent=rnd.randint(1, 10**6),
                                 bytes_received=rnd.randint(1, 10**6), first_seen=1.4e9, last_seen=1.4e9 + 600,
                                 hostnames=[Hostname(f"h{i}.example{i % 97}.com", "sni")]))
    return TrafficResult(inputs=[InputInfo(name="synthetic", sha256=None, format="synthetic", first_seen=1.4e9,
                                           last_seen=1.4e9 + 600)], destinations=dests,
                         timeline={d.address: [(1.4e9, d.bytes_sent, d.bytes_received)] for d in dests})


def main(n: int) -> None:
    tr = synthetic(n)
    t = time.perf_counter()
    rep = ipowner.report(tr, offline=True, discover=False)
    print(f"report() on {n} destinations, offline: {time.perf_counter() - t:.2f} s")
    for fmt in formats("report"):
        buf = io.StringIO()
        t = time.perf_counter()
        render(rep, fmt, buf)
        print(f"  {fmt:9} {time.perf_counter() - t:6.2f} s  {len(buf.getvalue()) / 1e6:6.1f} MB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
