"""A loopback RDAP server for the tests: recorded registry answers served over real HTTP on 127.0.0.1.

Each *world* is a set of registries; a bootstrap folder written per test points every RIR at the
world's paths, and ``IPOWNER_RDAP_REWRITE`` maps the public RIR and NIR URLs onto the same server,
so referrals and NIR queries land here too. Nothing is ever sent anywhere else.

Like a real RDAP server, ``/ip/<address or prefix>`` answers with the most specific recorded network
that encloses the query, and a 404 error object when none does.
"""

from __future__ import annotations

import ipaddress
import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ipowner.reference.registries import registries

DATA = Path(__file__).parent / "data" / "rdap"

# The public services come from the shipped registry table (data/nirs.json), never written out here: the
# tests serve their recorded answers under these paths of the loopback world and rewrite the services to it.
_TABLE = registries()


def service(key: str) -> str:
    """A registry's public RDAP base URL (https), from the registry table."""
    return _TABLE[key].rdap[0]


def port43(key: str) -> str:
    """A registry's whois server as its answers name it (``port43``), from the registry table."""
    return _TABLE[key].port43[0]


# Registry -> (path under the world, public base URL it stands for)
WORLD_PATHS = {"arin": "arin/registry/", "ripe": "ripe/", "apnic": "apnic/", "lacnic": "lacnic/rdap/",
               "afrinic": "afrinic/rdap/", "jpnic": "jpnic/", "krnic": "krnic/", "nicbr": "registro-br/"}
REGISTRIES = {key: (path, service(key)) for key, path in WORLD_PATHS.items()}
RIR_OF_BOOTSTRAP = {url: key for key in ("arin", "ripe", "apnic", "lacnic", "afrinic") for url in _TABLE[key].rdap}


def load(rel: str) -> dict[str, Any]:
    return json.loads((DATA / rel).read_text(encoding="utf-8"))


# Every recorded ip network, by registry, in the default world.
MAIN_NETWORKS = {
    "arin": [
        "ipwhois/ip_74.125.225.229.rdap.json",
        "ipwhois/ip_2001_4860_4860__8888.rdap.json",
        "20c-rdap/ip/206.41.110.0.json",
        "icann-rdap/network_192_198_0_0.json",
        "rdap_client/ip_network_arin_3_3_3_3.json",
        "whoisit/data_rdap_response_ip_v4_3.json",
    ],
    "ripe": [
        "ipwhois/ip_62.239.237.1.rdap.json",
        "ipwhois/ip_2a00_2381_ffff__1.rdap.json",
        "rdap_client/ip_network_ripe_193_0_0_0.json",
        "whoisit/data_rdap_response_ip_v4_2.json",
    ],
    "apnic": [
        "ipwhois/ip_210.107.73.73.rdap.json",
        "ipwhois/ip_2001_240_10c_1__ca20_9d1d.rdap.json",
        "rdap_client/ip_network_apnic_1_1_1_1.json",
        "synthetic/apnic_cnnic_member_synthetic.json",
    ],
    "lacnic": [
        "ipwhois/ip_200.57.141.161.rdap.json",
        "ipwhois/ip_2801_10_c000__.rdap.json",
        "rdap_client/ip_network_lacnic.json",
    ],
    "afrinic": [
        "ipwhois/ip_196.11.240.215.rdap.json",
        "ipwhois/ip_2001_43f8_7b0__.rdap.json",
        "rdap_client/ip_network_afrinic.json",
    ],
    "nicbr": ["rdap_client/ip_network_br.json"],
}
# Later recordings of networks already in the main world get a world of their own.
ALT_WORLDS = {
    "whoisit-v4": {"apnic": ["whoisit/data_rdap_response_ip_v4.json"]},
    "whoisit-cidr-v4": {"apnic": ["whoisit/data_rdap_response_cidr_v4.json"]},
    "whoisit-v6": {"arin": ["whoisit/data_rdap_response_ip_v6.json"]},
    "whoisit-cidr-v6": {"arin": ["whoisit/data_rdap_response_cidr_v6.json"]},
}
# Recorded entities (and recorded errors), by registry and handle.
ENTITIES = {
    "arin": {
        "ZG39-ARIN": "ipwhois/entity_ZG39-ARIN.json",
        "PEERI-ARIN": "20c-rdap/entity/PEERI-ARIN.via-registry-path.json",
        "ARIN-HOSTMASTER": "icann-rdap/entity_arin_hostmaster.json",
        "GOVI": "whoisit/data_rdap_response_entity.json",
    },
    "ripe": {
        "ORG-RIEN1-RIPE": "rdap_client/entity_ripe.json",
        "AMS346-RIPE": "20c-rdap/entity/AMS346-RIPE.json",
        "CLUE1-RIPE": "20c-rdap/entity/CLUE1-RIPE.json",
        "DJVG": "20c-rdap/entity/DJVG.json",
        "JK11944-RIPE": "20c-rdap/entity/JK11944-RIPE.json",
        "MM47295-RIPE": "20c-rdap/entity/MM47295-RIPE.json",
        "MP31159-RIPE": "20c-rdap/entity/MP31159-RIPE.json",
        "SD12478-RIPE": "20c-rdap/entity/SD12478-RIPE.json",
        "WA2477-RIPE": "20c-rdap/entity/WA2477-RIPE.json",
        "APR41-RIPE": "20c-rdap/entity/APR41-RIPE.json",  # recorded 400
        "PEERI-ARIN": "20c-rdap/entity/PEERI-ARIN.json",  # recorded 400 (wrong registry)
        "JNIC1-AP": "20c-rdap/entity/JNIC1-AP.json",  # recorded 404 (wrong registry)
    },
    "apnic": {
        "AS5496JP": "20c-rdap/entity/AS5496JP.json",
        "EK6175JP": "20c-rdap/entity/EK6175JP.json",
        "HH11825JP": "20c-rdap/entity/HH11825JP.json",  # recorded 400 with a string errorCode
        "HKBN-HK": "20c-rdap/entity/HKBN-HK.json",
        "MO5920JP": "20c-rdap/entity/MO5920JP.json",
        "YK11438JP": "20c-rdap/entity/YK11438JP.json",
    },
    "afrinic": {
        "PP17-AFRINIC": "20c-rdap/entity/PP17-AFRINIC.via-rdap-path.json",
        "WOL-AFRINIC": "20c-rdap/entity/WOL-AFRINIC.via-rdap-path.json",
    },
    "nicbr": {"GJM3": "20c-rdap/entity/GJM3.json", "BRI2": "20c-rdap/entity/BRI2.json"},  # BRI2 is {}
}
AUTNUMS = {
    "arin": {2914: "20c-rdap/autnum/AS2914.json", 63311: "20c-rdap/autnum/AS63311.json",
             16509: "icann-rdap/autnum_16509.json", 256: "rdap_client/autnum_arin_as256.json",
             13335: "whoisit/data_rdap_response_asn.json"},
    "ripe": {205697: "20c-rdap/autnum/AS205697.json", 205726: "20c-rdap/autnum/AS205726.json",
             206050: "20c-rdap/autnum/AS206050.json", 49037: "20c-rdap/autnum/AS49037.json",
             61399: "20c-rdap/autnum/AS61399.json", 8283: "20c-rdap/autnum/AS8283.json",
             1234: "rdap_client/autnum_ripe_as1234.json"},
    "apnic": {9269: "20c-rdap/autnum/AS9269.json", 4608: "rdap_client/autnum_apnic_as4608.json"},
    "jpnic": {2515: "20c-rdap/autnum/AS2515.json"},
    "afrinic": {37271: "20c-rdap/autnum/AS37271.json", 36864: "rdap_client/autnum_afrinic_as36864.json"},
    "lacnic": {27648: "rdap_client/autnum_lacnic_as27648.json"},
    "nicbr": {53170: "20c-rdap/autnum/AS53170.json"},
}
# Referrals by redirect, as the real services do: LACNIC hands NIC.br's space to NIC.br's own service;
# ARIN hands legacy space now kept by RIPE NCC (130.59.0.0/16, SWITCH) to RIPE NCC.
REDIRECTS = {
    "lacnic": [("177.0.0.0/8", service("nicbr"))],
    "arin": [("130.59.0.0/16", service("ripe"))],
}


def _range(obj: dict[str, Any]) -> tuple[int, int, int]:
    """Start/end of a recorded network, through the same quirks the client must absorb."""
    def addr(text: str) -> ipaddress._BaseAddress:
        s = text.split("/")[0]
        if ":" not in s:
            s = ".".join(str(int(p)) for p in s.split("."))
        return ipaddress.ip_address(s.lower())

    a, b = addr(obj["startAddress"]), addr(obj["endAddress"])
    return a.version, int(a), int(b)


@dataclass
class Action:
    """A scripted reply for the next request on a path: a status, headers and body, or a stall."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    sleep: float = 0.0


class RecordedRdap:
    def __init__(self) -> None:
        self.worlds: dict[str, dict[str, list[tuple[int, int, int, bytes]]]] = {}
        self.add_world("main", MAIN_NETWORKS)
        for name, spec in ALT_WORLDS.items():
            self.add_world(name, spec)
        self.log: list[str] = []
        self.script: dict[str, list[Action]] = {}
        self.files: dict[str, bytes] = {}  # path -> body, served as is (bootstrap files by URL)
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}/"
        # A short poll: shutdown() waits for one, and every test module closes its server.
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def add_world(self, name: str, spec: dict[str, list[str]]) -> None:
        world: dict[str, list[tuple[int, int, int, bytes]]] = {}
        for reg, files in spec.items():
            for rel in files:
                body = (DATA / rel).read_bytes()
                v, lo, hi = _range(json.loads(body))
                world.setdefault(reg, []).append((v, lo, hi, body))
        self.worlds[name] = world

    def add_bodies(self, name: str, bodies: dict[str, list[bytes]], base: str | None = "main") -> None:
        """A world made of raw (possibly hostile) network bodies, on top of a copy of ``base``'s networks.

        A body whose range cannot be read (it is hostile) answers every ``/ip/`` query of its registry
        that no better network answers."""
        world = {reg: list(nets) for reg, nets in self.worlds.get(base or "", {}).items()}
        for reg, items in bodies.items():
            for body in items:
                try:
                    v, lo, hi = _range(json.loads(body))
                except Exception:  # noqa: BLE001 - a hostile body: the widest possible range
                    v, lo, hi = 0, 0, 0
                world.setdefault(reg, []).append((v, lo, hi, body))
        self.worlds[name] = world

    def serve_bootstrap(self, world: str = "main") -> str:
        """The bootstrap files of ``world`` served over HTTP here; returns their base URL."""
        prefix = f"/bootstrap-{world}/"
        for name in ("ipv4.json", "ipv6.json", "asn.json"):
            doc = load(f"bootstrap/{name}")
            for service in doc["services"]:
                regs = {RIR_OF_BOOTSTRAP[u] for u in service[1]}
                service[1] = [self.world_base(world, regs.pop())]
            self.files[prefix + name] = json.dumps(doc).encode()
        return f"{self.base.rstrip('/')}{prefix}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def reset(self) -> None:
        with self._lock:
            self.log.clear()
            self.script.clear()

    def counts(self) -> Counter[str]:
        """Requests by kind of path (ip, entity, autnum), as the server saw them."""
        c: Counter[str] = Counter()
        for path in self.log:
            for kind in ("/ip/", "/entity/", "/autnum/"):
                if kind in path:
                    c[kind.strip("/")] += 1
        return c

    def world_base(self, world: str, reg: str) -> str:
        return f"{self.base}{world}/{REGISTRIES[reg][0]}"

    def write_bootstrap(self, folder: Path, world: str = "main") -> Path:
        """The IANA bootstrap files from the test data, every RIR URL pointed at ``world`` here."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("ipv4.json", "ipv6.json", "asn.json"):
            doc = load(f"bootstrap/{name}")
            for service in doc["services"]:
                regs = {RIR_OF_BOOTSTRAP[u] for u in service[1]}
                service[1] = [self.world_base(world, regs.pop())]
            (folder / name).write_text(json.dumps(doc))
        return folder

    def rewrite_env(self, world: str = "main") -> str:
        pairs = [f"{public}={self.world_base(world, reg)}" for reg, (_, public) in REGISTRIES.items()]
        return ",".join(pairs)

    # -- serving ---------------------------------------------------------------------------------
    def _answer(self, path: str) -> Action:
        with self._lock:
            self.log.append(path)
            queue = self.script.get(path)
            if queue:
                return queue.pop(0)
            if path in self.files:
                return Action(200, self.files[path], {"Content-Type": "application/json"})
        parts = path.lstrip("/").split("/", 1)
        if len(parts) != 2 or parts[0] not in self.worlds:
            return _error(404, "Not Found")
        world, rest = parts
        for reg, (prefix, _public) in REGISTRIES.items():
            if rest.startswith(prefix):
                return self._registry(world, reg, rest[len(prefix):])
        return _error(404, "Not Found")

    def _registry(self, world: str, reg: str, rest: str) -> Action:
        kind, _, query = rest.partition("/")
        if kind == "ip":
            try:
                net = ipaddress.ip_network(query, strict=False)
            except ValueError:
                return _error(400, "Bad Request")
            for span, target in REDIRECTS.get(reg, []):
                block = ipaddress.ip_network(span)
                if net.version == block.version and net.subnet_of(block):
                    return Action(301, b"", {"Location": f"{target}ip/{query}"})
            lo, hi = int(net.network_address), int(net.broadcast_address)
            best = None
            for v, a, b, body in self.worlds[world].get(reg, []):
                if v == net.version and a <= lo and hi <= b and (best is None or b - a < best[0]):
                    best = (b - a, body)
            if best is None:  # a hostile body with no readable range answers what nothing else does
                best = next(((0, body) for v, _a, _b, body in self.worlds[world].get(reg, []) if v == 0), None)
            if best is None:
                return _error(404, "Not Found")
            return Action(200, best[1], {"Content-Type": "application/rdap+json"})
        if kind == "entity":
            rel = ENTITIES.get(reg, {}).get(query)
            if rel is None:
                return _error(404, "Not Found")
            body = (DATA / rel).read_bytes()
            obj = json.loads(body)
            status = int(str(obj.get("errorCode", 200)))
            return Action(status, body, {"Content-Type": "application/rdap+json"})
        if kind == "autnum":
            try:
                rel = AUTNUMS.get(reg, {}).get(int(query.upper().removeprefix("AS")))
            except ValueError:
                return _error(400, "Bad Request")
            if rel is None:
                return _error(404, "Not Found")
            return Action(200, (DATA / rel).read_bytes(), {"Content-Type": "application/rdap+json"})
        return _error(501, "Not Implemented")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                action = server._answer(self.path)
                if action.sleep:
                    time.sleep(action.sleep)
                try:
                    self.send_response(action.status)
                    for k, v in action.headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(action.body)))
                    self.end_headers()
                    self.wfile.write(action.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


def _error(code: int, title: str) -> Action:
    body = json.dumps({"errorCode": code, "title": title, "rdapConformance": ["rdap_level_0"]}).encode()
    return Action(code, body, {"Content-Type": "application/rdap+json"})
