#!/usr/bin/env python3
"""A loopback RDAP server for benchmarks: five synthetic registries with latency and rate limits.

Everything it serves is synthetic (handles end in ``-SYN``, names say "Synthetic", every object has a
remark saying so). It listens on 127.0.0.1 only and stops by itself after ``lifetime`` seconds.

Address space is split between five fake registries (``arin-like`` ... ``afrinic-like``) by the
bootstrap files it serves (``/bootstrap/ipv4.json``, ``ipv6.json``, ``asn.json``, IANA's format),
which point at itself. The network model is deterministic (a hash of the block):

- IPv4: every /16 is an allocation (``ALLOCATED PA`` or the registry's spelling). In 80 % of them
  leaves are assigned, each /16 with one leaf size (/24, /22 or /20); one leaf-sized block in five has
  no leaf, so the allocation answers there (the ARIN 8.8.9.9 case: reusing that answer for a sibling
  block would be wrong). In the other 20 % no leaf exists. One /16 in 23 was transferred: the
  registry the bootstrap names answers with a 301 to the one that holds it.
- IPv6: every /32 is an allocation; leaves are /48, /40 or /56; one in five leaf blocks is empty.
- One leaf in ten names its registrant by handle only (an entity query finds the name).

Rate limits are token buckets per registry, scaled down from the real ones so a run fits in a minute
(``LIMITS`` says how); past the limit the answer is 429 with ``Retry-After`` (whole seconds, rounded
up). Each answer waits ``latency`` seconds first. Requests are counted per registry and kind:
``ip`` (answered network queries), ``referral`` (301s), ``entity``, ``autnum``, ``bootstrap``,
``throttled`` (429s), ``not_found`` and ``other``.

``lower_bound(addresses)`` gives the fewest network queries the cache rules allow for a set of
addresses (a leaf answers for its whole range; an allocation only for the /24 or /48 around the
address it was fetched for), the referrals and entity queries that cannot be avoided, and
``time_bound(requests)`` the least wall time the rate limits allow for all of them.

With ``public=True`` the bootstrap names the real registries' RDAP URLs (clients tell registries
apart by URL) and ``rewrite_env()`` gives the ``IPOWNER_RDAP_REWRITE`` value that maps each of them to
this server, so a client configured with it sends nothing anywhere else.

Standalone: ``rdap_server.py [--port 0] [--lifetime 300] [--latency 0.03]`` prints the bootstrap URL,
serves until the lifetime ends or Ctrl-C, then prints the counts as JSON.
"""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import json
import math
import sys
import threading
import time
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

REGISTRIES = ["arin-like", "ripe-like", "apnic-like", "lacnic-like", "afrinic-like"]

# (requests per window, window seconds here, what it is scaled from)
LIMITS: dict[str, tuple[int, float, str]] = {
    "arin-like": (30, 1.0, "assumed 30/min, 60x faster"),
    "ripe-like": (30, 1.0, "assumed 30/min, 60x faster"),
    "apnic-like": (30, 1.0, "assumed 30/min, 60x faster"),
    "lacnic-like": (10, 1.0, "LACNIC's published 10/min, 60x faster"),
    "afrinic-like": (30, 1.0, "assumed 30/min, 60x faster"),
}

TYPES = {  # (allocation, leaf) as each registry spells them
    "arin-like": ("DIRECT ALLOCATION", "REASSIGNED"),
    "ripe-like": ("ALLOCATED PA", "ASSIGNED PA"),
    "apnic-like": ("ALLOCATED PORTABLE", "ASSIGNED NON-PORTABLE"),
    "lacnic-like": ("ALLOCATED", "ASSIGNED"),
    "afrinic-like": ("ALLOCATED PA", "ASSIGNED PA"),
}
COUNTRIES = {
    "arin-like": ["US", "CA", "US", "US"],
    "ripe-like": ["DE", "GB", "FR", "NL", "SE"],
    "apnic-like": ["JP", "CN", "AU", "IN", "SG"],
    "lacnic-like": ["BR", "MX", "AR", "CL"],
    "afrinic-like": ["ZA", "KE", "NG", "EG"],
}

# The public RDAP bases the bootstrap names when the server stands in for the real registries
# (``public=True``): clients identify a registry by its URL, and ``rewrite_env`` maps each base to the
# loopback server (``IPOWNER_RDAP_REWRITE``), so nothing is sent to these hosts.
PUBLIC = {
    "arin-like": "https://rdap.arin.net/registry/",
    "ripe-like": "https://rdap.db.ripe.net/",
    "apnic-like": "https://rdap.apnic.net/",
    "lacnic-like": "https://rdap.lacnic.net/rdap/",
    "afrinic-like": "https://rdap.afrinic.net/rdap/",
}
PORT43 = {r: "whois." + PUBLIC[r].split("/")[2].removeprefix("rdap.").removeprefix("db.") for r in REGISTRIES}
LIMIT_KEYS = {"arin-like": "arin", "ripe-like": "ripe", "apnic-like": "apnic", "lacnic-like": "lacnic", "afrinic-like": "afrinic"}

# IPv6 bootstrap: (prefix, registry index)
V6_BLOCKS = [
    ("2000::/7", 0),
    ("2200::/7", 1),
    ("2400::/6", 2),
    ("2800::/7", 3),
    ("2a00::/7", 1),
    ("2c00::/6", 4),
    ("3000::/4", 0),
]


def _h(*parts: Any) -> int:
    return int.from_bytes(hashlib.blake2b(repr(parts).encode(), digest_size=8).digest(), "big")


def v4_registry(first_octet: int) -> int:
    """The registry the bootstrap names for a /8."""
    return (first_octet * 7 + first_octet // 9) % 5


def v6_registry(ip: ipaddress.IPv6Address) -> int | None:
    for prefix, reg in V6_BLOCKS:
        if ip in ipaddress.IPv6Network(prefix):
            return reg
    return None


class Net:
    """One synthetic network object."""

    __slots__ = ("start", "end", "leaf", "registry", "version", "key", "by_handle")

    def __init__(self, start: int, end: int, leaf: bool, registry: int, version: int, by_handle: bool = False):
        self.start, self.end, self.leaf, self.registry, self.version = start, end, leaf, registry, version
        self.key = (version, start, end)
        self.by_handle = by_handle

    @property
    def prefixlen(self) -> int:
        bits = 32 if self.version == 4 else 128
        return bits - (self.end - self.start + 1).bit_length() + 1

    @property
    def handle(self) -> str:
        first = ipaddress.ip_address(self.start) if self.version == 4 else ipaddress.IPv6Address(self.start)
        return f"NET{self.version}-{str(first).replace('.', '-').replace(':', '-')}-{self.prefixlen}-SYN"


def bootstrap_registry(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> int | None:
    if ip.version == 4:
        return v4_registry(int(ip) >> 24)
    return v6_registry(ip)  # type: ignore[arg-type]


def network_for(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Net | None:
    """The most specific network the registry returns for ``ip`` (None outside the served space)."""
    n = int(ip)
    if ip.version == 4:
        reg = v4_registry(n >> 24)
        b16 = n >> 16
        if _h("xfer", b16) % 23 == 0:
            reg = (reg + 1) % 5
        alloc = Net(b16 << 16, (b16 << 16) | 0xFFFF, False, reg, 4)
        if _h("noleaf", b16) % 5 == 0:
            return alloc
        size = (8, 10, 12)[_h("size", b16) % 3]  # host bits: /24, /22, /20
        blk = n >> size
        if _h("empty", blk, size) % 5 == 0:
            return alloc
        return Net(blk << size, ((blk + 1) << size) - 1, True, reg, 4, by_handle=_h("byh", blk) % 10 == 0)
    reg = v6_registry(ip)  # type: ignore[arg-type]
    if reg is None:
        return None
    b32 = n >> 96
    alloc = Net(b32 << 96, ((b32 + 1) << 96) - 1, False, reg, 6)
    size = (80, 88, 72)[_h("size6", b32) % 3]  # host bits: /48, /40, /56
    blk = n >> size
    if _h("empty6", blk, size) % 5 == 0:
        return alloc
    return Net(blk << size, ((blk + 1) << size) - 1, True, reg, 6, by_handle=_h("byh6", blk) % 10 == 0)


def lower_bound(addresses: list[str]) -> dict[str, Any]:
    """Fewest requests the cache rules allow for these addresses (special-purpose ones need none)."""
    keys: dict[str, set] = defaultdict(set)
    referrals: dict[str, set] = defaultdict(set)
    entities: dict[str, set] = defaultdict(set)  # registrants named by handle only: one entity query each
    skipped = 0
    for a in addresses:
        ip = ipaddress.ip_address(a)
        if not ip.is_global or ip.is_multicast:
            skipped += 1
            continue
        net = network_for(ip)
        if net is None:
            skipped += 1
            continue
        reg = REGISTRIES[net.registry]
        if net.leaf:
            key = ("leaf", net.key)
            if net.by_handle:
                entities[reg].add(holder_of(net)[0])
        else:
            around = int(ip) >> (8 if ip.version == 4 else 80)
            key = ("alloc", net.key, around)
        keys[reg].add(key)
        boot = bootstrap_registry(ip)
        if boot != net.registry:
            referrals[REGISTRIES[boot]].add(key)  # type: ignore[index]
    per_reg = {r: len(keys.get(r, ())) for r in REGISTRIES}
    # requests each registry must answer (network queries, the referrals it hands out, the entity
    # queries that name a holder given by handle only): for time_bound
    requests = {r: per_reg[r] + len(referrals.get(r, ())) + len(entities.get(r, ())) for r in REGISTRIES}
    return {
        "ip": sum(per_reg.values()),
        "per_registry": per_reg,
        "referrals": sum(len(v) for v in referrals.values()),
        "entities": sum(len(v) for v in entities.values()),
        "requests_per_registry": requests,
        "skipped": skipped,
    }


def time_bound(per_registry: dict[str, int], latency: float) -> float:
    """Least wall time the rate limits allow for these request counts (registries in parallel; a full
    bucket to start with; the last answer's latency)."""
    worst = 0.0
    for reg, q in per_registry.items():
        if not q:
            continue
        n, window, _ = LIMITS[reg]
        worst = max(worst, max(0, q - n) * window / n + latency)
    return worst


# ---------------------------------------------------------------- responses

REMARK = [{"title": "synthetic", "description": ["Synthetic response from ipowner's benchmark server; not registration data."]}]


def _vcard(name: str, kind: str, cc: str | None = None, email: str | None = None) -> list:
    props: list = [["version", {}, "text", "4.0"], ["fn", {}, "text", name], ["kind", {}, "text", kind]]
    if cc:
        props.append(["adr", {"cc": cc}, "text", ["", "", "", "", "", "", ""]])
    if email:
        props.append(["email", {}, "text", email])
    return ["vcard", props]


def holder_of(net: Net) -> tuple[str, str, str]:
    """(handle, name, country) of a network's registrant."""
    reg = REGISTRIES[net.registry]
    k = _h("holder", net.key)
    cc = COUNTRIES[reg][k % len(COUNTRIES[reg])]
    if net.leaf:
        return f"ORG-H{k % 100000:05d}-SYN", f"Synthetic Holder {k % 100000:05d}", cc
    return f"ORG-ISP{k % 1000:03d}-SYN", f"Synthetic ISP {k % 1000:03d} ({reg})", cc


def network_json(net: Net, bases: dict[str, str]) -> dict:
    reg = REGISTRIES[net.registry]
    first = ipaddress.ip_address(net.start) if net.version == 4 else ipaddress.IPv6Address(net.start)
    last = ipaddress.ip_address(net.end) if net.version == 4 else ipaddress.IPv6Address(net.end)
    handle, name, cc = holder_of(net)
    reg_entity: dict[str, Any] = {"objectClassName": "entity", "handle": handle, "roles": ["registrant"]}
    if net.by_handle:
        reg_entity["links"] = [{"rel": "self", "href": f"{bases[reg]}entity/{handle}", "type": "application/rdap+json"}]
    else:
        reg_entity["vcardArray"] = _vcard(name, "org", cc)
    abuse = {
        "objectClassName": "entity",
        "handle": f"ABUSE-{handle}",
        "roles": ["abuse"],
        "vcardArray": _vcard(f"Abuse desk of {name}", "group", email=f"abuse@{handle.lower()}.example"),
    }
    alloc_t, leaf_t = TYPES[reg]
    pfx = f"v{net.version}prefix"
    self_url = f"{bases[reg]}ip/{first}/{net.prefixlen}"
    doc: dict[str, Any] = {
        "objectClassName": "ip network",
        "rdapConformance": ["rdap_level_0", "cidr0"],
        "handle": net.handle,
        "startAddress": str(first),
        "endAddress": str(last),
        "ipVersion": f"v{net.version}",
        "name": f"SYN-{'LEAF' if net.leaf else 'ALLOC'}-{_h('n', net.key) % 10000:04d}",
        "type": leaf_t if net.leaf else alloc_t,
        "country": cc,
        "status": ["active"],
        "cidr0_cidrs": [{pfx: str(first), "length": net.prefixlen}],
        "entities": [reg_entity, abuse],
        "events": [
            {"eventAction": "registration", "eventDate": f"2014-03-{1 + _h('d', net.key) % 28:02d}T00:00:00Z"},
            {"eventAction": "last changed", "eventDate": f"2024-06-{1 + _h('e', net.key) % 28:02d}T00:00:00Z"},
        ],
        "links": [{"value": self_url, "rel": "self", "href": self_url, "type": "application/rdap+json"}],
        "remarks": REMARK,
        "port43": PORT43[reg],
    }
    if net.leaf:
        host = 16 if net.version == 4 else 96
        a0 = net.start >> host << host
        doc["parentHandle"] = Net(a0, a0 + (1 << host) - 1, False, net.registry, net.version).handle
    return doc


def entity_json(reg: str, handle: str, bases: dict[str, str]) -> dict:
    k = handle.removeprefix("ORG-H").removesuffix("-SYN")
    return {
        "objectClassName": "entity",
        "rdapConformance": ["rdap_level_0"],
        "handle": handle,
        "roles": ["registrant"],
        "vcardArray": _vcard(f"Synthetic Holder {k}", "org", COUNTRIES[reg][0]),
        "links": [{"rel": "self", "href": f"{bases[reg]}entity/{handle}", "type": "application/rdap+json"}],
        "remarks": REMARK,
    }


def autnum_json(reg: str, n: int) -> dict:
    return {
        "objectClassName": "autnum",
        "rdapConformance": ["rdap_level_0"],
        "handle": f"AS{n}",
        "startAutnum": n,
        "endAutnum": n,
        "name": f"SYN-AS{n}",
        "country": COUNTRIES[reg][n % len(COUNTRIES[reg])],
        "entities": [{"objectClassName": "entity", "handle": f"ORG-AS{n}-SYN", "roles": ["registrant"], "vcardArray": _vcard(f"Synthetic AS {n}", "org")}],
        "remarks": REMARK,
    }


def bootstrap_json(kind: str, bases: dict[str, str]) -> dict:
    services: dict[int, list[str]] = defaultdict(list)
    if kind == "ipv4":
        for o in range(1, 224):
            services[v4_registry(o)].append(f"{o}.0.0.0/8")
    elif kind == "ipv6":
        for prefix, reg in V6_BLOCKS:
            services[reg].append(prefix)
    else:
        for i in range(5):
            services[i].append(f"{i * 100000 + 1}-{(i + 1) * 100000}")
        services[0].append("500001-4294967295")
    return {
        "version": "1.0",
        "publication": "2026-01-01T00:00:00Z",
        "description": "Synthetic RDAP bootstrap for ipowner's benchmark server (loopback only)",
        "services": [[entries, [bases[REGISTRIES[r]]]] for r, entries in sorted(services.items())],
    }


# ---------------------------------------------------------------- server


class Bucket:
    def __init__(self, n: int, window: float):
        self.cap, self.rate = float(n), n / window
        self.tokens, self.t = float(n), time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> float:
        """0 if a request may pass now, else the seconds until one may."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.cap, self.tokens + (now - self.t) * self.rate)
            self.t = now
            if self.tokens >= 1:
                self.tokens -= 1
                return 0.0
            return (1 - self.tokens) / self.rate


class RdapServer:
    """The server, run in a thread: ``with RdapServer() as s: ... s.bootstrap_url ... s.counts()``."""

    def __init__(self, latency: float = 0.03, lifetime: float = 300.0, port: int = 0, limits: bool = True, public: bool = False):
        self.latency, self.lifetime, self.limits, self.public = latency, lifetime, limits, public
        self.buckets = {r: Bucket(n, w) for r, (n, w, _) in LIMITS.items()}
        self._counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._peers: set[str] = set()
        self._lock = threading.Lock()
        self.first_request: float | None = None
        self.last_request: float | None = None
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}/"
        self.bootstrap_url = f"{self.base}bootstrap/"
        self.bases = dict(PUBLIC) if public else {r: f"{self.base}{r}/" for r in REGISTRIES}
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="rdap-bench", daemon=True)
        self._timer = threading.Timer(lifetime, self.stop)
        self._timer.daemon = True

    def __enter__(self) -> RdapServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread.start()
        self._timer.start()

    def stop(self) -> None:
        self._timer.cancel()
        self.httpd.shutdown()
        self.httpd.server_close()

    def rewrite_env(self) -> str:
        """``IPOWNER_RDAP_REWRITE``: every base the bootstrap names -> this server (empty unless ``public``)."""
        return ",".join(f"{self.bases[r]}={self.base}{r}/" for r in REGISTRIES) if self.public else ""

    @staticmethod
    def limits_env() -> str:
        """``IPOWNER_RDAP_LIMITS``: the server's (scaled) limits, as a user would configure the real ones."""
        return ",".join(f"{LIMIT_KEYS[r]}={n}/{w:g}" for r, (n, w, _) in LIMITS.items())

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self.first_request = self.last_request = None
        for r, (n, w, _) in LIMITS.items():
            self.buckets[r] = Bucket(n, w)

    def counts(self) -> dict[str, Any]:
        with self._lock:
            per = {r: dict(sorted(c.items())) for r, c in sorted(self._counts.items())}
            total: dict[str, int] = defaultdict(int)
            for c in per.values():
                for k, v in c.items():
                    total[k] += v
            span = (self.last_request - self.first_request) if self.first_request is not None else 0.0
            return {"total": dict(sorted(total.items())), "per_registry": per, "peers": sorted(self._peers), "span_seconds": round(span, 3)}

    def _count(self, reg: str, kind: str, peer: str) -> None:
        with self._lock:
            self._counts[reg][kind] += 1
            self._peers.add(peer)
            now = time.monotonic()
            if self.first_request is None:
                self.first_request = now
            self.last_request = now

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # one write per answer and no Nagle: otherwise delayed ACKs add ~40 ms to every answer
            wbufsize = 1 << 16
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _send(self, code: int, doc: dict | None, headers: dict[str, str] | None = None) -> None:
                body = json.dumps(doc).encode() if doc is not None else b""
                self.send_response(code)
                self.send_header("Content-Type", "application/rdap+json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def _error(self, code: int, title: str, headers: dict[str, str] | None = None) -> None:
                self._send(code, {"errorCode": code, "title": title, "rdapConformance": ["rdap_level_0"]}, headers)

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                peer = self.client_address[0]
                parts = [p for p in self.path.split("?")[0].split("/") if p]
                if len(parts) == 2 and parts[0] == "bootstrap" and parts[1] in ("ipv4.json", "ipv6.json", "asn.json"):
                    server._count("-", "bootstrap", peer)
                    self._send(200, bootstrap_json(parts[1][:-5], server.bases))
                    return
                if len(parts) < 3 or parts[0] not in REGISTRIES:
                    server._count("-", "other", peer)
                    self._error(404, "not found")
                    return
                reg = parts[0]
                if server.limits:
                    wait = server.buckets[reg].take()
                    if wait > 0:
                        server._count(reg, "throttled", peer)
                        self._error(429, "rate limit exceeded", {"Retry-After": str(max(1, math.ceil(wait)))})
                        return
                time.sleep(server.latency)
                kind = parts[1]
                if kind == "ip":
                    self._ip(reg, parts[2:], peer)
                elif kind == "entity":
                    server._count(reg, "entity", peer)
                    self._send(200, entity_json(reg, parts[2], server.bases))
                elif kind == "autnum" and parts[2].isdigit():
                    server._count(reg, "autnum", peer)
                    self._send(200, autnum_json(reg, int(parts[2])))
                else:
                    server._count(reg, "other", peer)
                    self._error(400, "unsupported query")

            def _ip(self, reg: str, rest: list[str], peer: str) -> None:
                try:
                    if len(rest) == 2:
                        ip = ipaddress.ip_network(f"{rest[0]}/{rest[1]}", strict=False).network_address
                    else:
                        ip = ipaddress.ip_address(rest[0])
                except ValueError:
                    server._count(reg, "other", peer)
                    self._error(400, "bad address")
                    return
                net = network_for(ip)
                if net is None:
                    server._count(reg, "not_found", peer)
                    self._error(404, "not in this registry")
                    return
                holder = REGISTRIES[net.registry]
                if holder != reg:
                    if bootstrap_registry(ip) == REGISTRIES.index(reg):
                        server._count(reg, "referral", peer)
                        loc = f"{server.bases[holder]}ip/{'/'.join(rest)}"
                        self._send(301, None, {"Location": loc})
                    else:
                        server._count(reg, "not_found", peer)
                        self._error(404, "not in this registry")
                    return
                server._count(reg, "ip", peer)
                self._send(200, network_json(net, server.bases))

        return Handler


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Loopback RDAP server with synthetic data (see the module docstring).")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--lifetime", type=float, default=300.0, help="stop after this many seconds (default 300)")
    ap.add_argument("--latency", type=float, default=0.03, help="seconds added to each answer (default 0.03)")
    ap.add_argument("--no-limits", action="store_true", help="serve without rate limits")
    ap.add_argument("--public", action="store_true", help="bootstrap names the real registries' URLs (rewrite them to this server)")
    a = ap.parse_args(argv)
    srv = RdapServer(latency=a.latency, lifetime=a.lifetime, port=a.port, limits=not a.no_limits, public=a.public)
    srv.start()
    print(f"IPOWNER_RDAP_BOOTSTRAP={srv.bootstrap_url}", flush=True)
    if a.public:
        print(f"IPOWNER_RDAP_REWRITE={srv.rewrite_env()}", flush=True)
    print(f"IPOWNER_RDAP_LIMITS={srv.limits_env()}", flush=True)
    print(f"stops in {a.lifetime:.0f} s", flush=True)
    print("rate limits (scaled down from real ones so a run fits in a minute):", flush=True)
    for r, (n, w, why) in LIMITS.items():
        print(f"  {r:13s} {n} per {w:g} s  ({why})", flush=True)
    try:
        srv._thread.join()
    except KeyboardInterrupt:
        srv.stop()
    print(json.dumps(srv.counts(), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
