"""The flow table every reader feeds: flows by 5-tuple, folded per (device, destination, app) pair.

Per-direction counters are plain lists so the packet loop touches only list slots:
``[packets, frame_bytes, ip_bytes, last_ts, bucket, bucket_bytes, inspect, flow, peer]``.
A flow lives in its table under both directions' keys; when it ends or goes idle it is folded into
its pair and forgotten, so memory follows destinations, not packets or flows.
"""

from __future__ import annotations

import ipaddress
import itertools
import socket
from dataclasses import dataclass, field

from ipowner.capture.protocols.payload import (
    DOH_NAMES,
    ClientHello,
    PayloadError,
    client_hello_from_stream,
    gquic_chlo_sni,
    http_host,
    looks_like_http_request,
    normalise_name,
    parse_dns_response,
    server_certificate_names,
)
from ipowner.capture.protocols.quic import QuicInitialState, is_client_initial
from ipowner.model.kinds import Concealment, HostnameSource
from ipowner.model.traffic import Hostname

# counter slots
PK, BY, IB, LT, BK, BB, INS, FL, PEER = range(9)

TCP, UDP, ICMP, ICMP6 = 6, 17, 1, 58
PROTO_NAMES = {6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6", 2: "igmp", 47: "gre", 50: "esp", 51: "ah", 132: "sctp", 89: "ospf"}
PROTO_BYTE = [bytes([i]) for i in range(256)]

IDLE_TIMEOUT = 300.0  # seconds of capture time without a packet before a flow is folded
FINISHED_GRACE = 10.0  # after FIN/RST, wait this long for stragglers before folding
FULL_SWEEP_EVERY = 16  # sweeps between scans of every live flow for idleness (others look at finished ones)
SWEEP_MASK = (1 << 16) - 1  # the flow table is swept every 65536 frames

# Server ports that make the sender of a first packet the client even when no SYN was captured.
_SERVER_PORTS = frozenset({53, 67, 80, 88, 110, 123, 137, 138, 143, 161, 389, 443, 465, 514, 587, 853, 993, 995,
                           1194, 1900, 3478, 5060, 5228, 5353, 5355, 8080, 8443})

TCP_CLIENT_INSPECT = 8  # client data segments looked at for a ClientHello or HTTP request head
TCP_SERVER_INSPECT = 16  # server data segments looked at for a TLS <= 1.2 certificate
UDP_CLIENT_INSPECT = 4  # client datagrams looked at for a QUIC Initial
_HTTP_FIRST = frozenset(b"GPHDOCT")  # first letters of the HTTP methods
STREAM_LIMIT = 32768  # bytes of a TCP stream kept while looking for a handshake


def port_label(key: tuple) -> str:
    """'tcp/443', 'udp/53', 'icmp' from a pair's port key."""
    proto, port = key
    if isinstance(proto, int):
        name = PROTO_NAMES.get(proto, f"ip-proto-{proto}")
        return f"{name}/{port}" if proto in (TCP, UDP, 132) else name
    return f"{proto}/{port}" if port is not None else str(proto)


def addr_text(raw: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)


def scope_of(address: str, l2_broadcast: bool = False) -> str:
    ip = ipaddress.ip_address(address)
    if ip.version == 4 and ip == ipaddress.IPv4Address("255.255.255.255"):
        return "broadcast"
    if ip.is_multicast:
        return "multicast"
    if l2_broadcast:
        return "broadcast"  # e.g. a subnet-directed broadcast sent to ff:ff:ff:ff:ff:ff
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_private or ip.is_link_local or ip.is_loopback or ip.is_unspecified:
        # 64:ff9b::/96 (NAT64) is flagged private by ipaddress but leads to the internet
        if ip.version == 6 and ip in ipaddress.IPv6Network("64:ff9b::/96"):
            return "internet"
        return "lan"
    return "internet"


class Stream:
    """In-order bytes of one TCP direction, up to STREAM_LIMIT."""

    __slots__ = ("next_seq", "data", "pending", "done")

    def __init__(self) -> None:
        self.next_seq: int | None = None
        self.data = bytearray()
        self.pending: dict[int, bytes] = {}
        self.done = False

    def add(self, seq: int, payload: bytes) -> bool:
        """Append a segment; True when new in-order bytes arrived."""
        if self.next_seq is None:
            self.next_seq = seq
        grew = False
        rel = (seq - self.next_seq) & 0xFFFFFFFF
        if rel == 0:
            self.data += payload
            self.next_seq = (seq + len(payload)) & 0xFFFFFFFF
            grew = True
            while self.next_seq in self.pending:
                chunk = self.pending.pop(self.next_seq)
                self.data += chunk
                self.next_seq = (self.next_seq + len(chunk)) & 0xFFFFFFFF
        elif rel < 0x80000000:
            if len(self.pending) < 32:
                self.pending[seq] = payload
        else:
            # overlaps what we have: keep only the new tail
            back = (self.next_seq - seq) & 0xFFFFFFFF
            if back < len(payload):
                return self.add(self.next_seq, payload[back:])
        if len(self.data) > STREAM_LIMIT:
            self.done = True
        return grew


class Flow:
    __slots__ = ("init", "resp", "proto", "init_port", "resp_port", "app", "first", "a", "b", "keys", "table",
                 "timeline", "fin", "kind", "streams", "quic", "l2_bcast")

    # every slot is set in Engine.new_flow; timeline and streams stay None until a flow needs them


@dataclass(slots=True)
class Pair:
    """Everything known about one (device, destination, app) pair once its flows are folded."""

    device: str
    remote: str
    app: str | None
    flows: int = 0
    packets_sent: int = 0
    packets_received: int = 0
    bytes_sent: int = 0
    bytes_received: int = 0
    ip_bytes_sent: int = 0
    ip_bytes_received: int = 0
    first_seen: float | None = None
    last_seen: float | None = None
    ports: dict[tuple, None] = field(default_factory=dict)  # (protocol number or name, server port or None)
    timeline: dict[float, list[int]] = field(default_factory=dict)  # bucket -> [sent, received] frame bytes
    l2_broadcast: bool = False
    ip_only: bool = False  # counts came from a log: no frame bytes


class Engine:
    """Collects flows, names and pairs from any number of inputs."""

    def __init__(self, *, bucket: float = 60.0, devices: set[str] | None = None, fast_payloads: bool = True) -> None:
        self.bucket = float(bucket)
        self.devices_given = {ipaddress.ip_address(d).compressed for d in (devices or set())}
        self.tables: dict[int, dict[bytes, list]] = {}
        self.tcp: dict[bytes, list] = {}
        self.udp: dict[bytes, list] = {}
        self.other: dict[bytes, list] = {}
        self.live: dict[Flow, None] = {}
        self.finished: list[Flow] = []  # flows that saw FIN or RST, folded after FINISHED_GRACE
        self.sweeps = 0
        self.addr_names: dict[bytes, str] = {}  # raw address -> text, so each is formatted once
        self.pairs: dict[tuple[str, str, str | None], Pair] = {}
        self.names: dict[str, dict[Hostname, None]] = {}
        self.named: set[tuple[str, str, str, str | None]] = set()  # what add_name has put in names
        self.core_hellos: set[tuple] = set()  # (server, raw name, ech, port) recorded by core_hello
        self.concealment: dict[str, dict[str, None]] = {}
        self.frag_owner: dict[bytes, list] = {}
        self.frag_pieces: dict[bytes, dict] = {}
        self.counter = [0]  # frames handled, all inputs together
        self.sweep_mask = SWEEP_MASK  # read here so tests can sweep more often
        self.dns_errors = 0
        self.dns_seen: set[bytes] = set()
        self.first_dns_error: tuple[int, str] | None = None
        self.now = 0.0
        self.current_app: str | None = None  # set by readers whose container names the app per packet
        self.cores: list = []  # compiled flow tables feeding this engine (one per capture being read)

    # ------------------------------------------------------------ flow creation

    def new_flow(self, table: dict, key: bytes, rkey: bytes, src: bytes, dst: bytes, proto: int, sport: int,
                 dport: int, flags: int, ts: float, l2_bcast: bool, app: str | None) -> list:
        """Create a flow for a packet src->dst whose key is missing; return the sender's counters."""
        sender_is_client = _sender_is_client(proto, sport, dport, flags)
        names = self.addr_names
        s_txt = names.get(src)
        if s_txt is None:
            s_txt = names[src] = addr_text(src)
        d_txt = names.get(dst)
        if d_txt is None:
            d_txt = names[dst] = addr_text(dst)
        if len(names) > 1 << 20:
            names.clear()
        if self.devices_given:
            if d_txt in self.devices_given and s_txt not in self.devices_given:
                sender_is_client = False
            elif s_txt in self.devices_given and d_txt not in self.devices_given:
                sender_is_client = True
        f = Flow()
        f.proto = proto
        f.app = app if app is not None else self.current_app
        f.first = ts
        f.table = table
        f.l2_bcast = l2_bcast
        f.timeline = None
        f.fin = False
        f.streams = None
        f.quic = None
        bk = ts // self.bucket
        sc = [0, 0, 0, ts, bk, 0, 0, f, d_txt]
        rc = [0, 0, 0, ts, bk, 0, 0, f, s_txt]
        if sender_is_client:
            f.init, f.resp, f.init_port, f.resp_port, f.a, f.b = s_txt, d_txt, sport, dport, sc, rc
        else:
            f.init, f.resp, f.init_port, f.resp_port, f.a, f.b = d_txt, s_txt, dport, sport, rc, sc
        f.keys = (key, rkey)
        table[key] = sc
        table[rkey] = rc
        self.live[f] = None
        # what to look at in the payloads
        client, _server = f.a, f.b
        if proto == UDP:
            if sport == 53 or dport == 53:
                f.kind = "dns"
                sc[INS] = rc[INS] = -1  # every datagram may carry answers
            else:
                f.kind = "udp"
                client[INS] = UDP_CLIENT_INSPECT
        elif proto == TCP:
            if sport == 53 or dport == 53:
                f.kind = "dns-tcp"
                sc[INS] = rc[INS] = -1
            else:
                f.kind = "tcp"
                client[INS] = TCP_CLIENT_INSPECT
        else:
            f.kind = "other"
        if f.resp_port == 853 and proto in (TCP, UDP):
            self._conceal(f.resp, "dot")
        return sc

    # ------------------------------------------------------------ payloads

    def inspect(self, c: list, proto: int, payload: bytes, seq: int = 0) -> None:
        """Look at one payload of a flow direction still being inspected."""
        f = c[FL]
        kind = f.kind
        if kind == "dns":
            self.dns_payload(payload)
            return
        try:
            if kind == "tcp":
                self._tcp(c, f, payload, seq)
            elif kind == "udp":
                c[INS] -= 1
                if f.quic is None:
                    if not is_client_initial(payload):
                        sni = gquic_chlo_sni(payload)
                        if sni:
                            self._hello(ClientHello(sni, False), c[PEER], "quic", f.resp_port)
                        else:
                            c[INS] = 0  # a QUIC client starts with an Initial; this flow did not
                        return
                    f.quic = QuicInitialState()
                hello = f.quic.feed(payload)
                if hello is not None or f.quic.done:
                    c[INS] = 0
                if hello is not None:
                    self._hello(hello, c[PEER], "quic", f.resp_port)
            elif kind == "dns-tcp":
                if f.streams is None:
                    f.streams = {}
                st = f.streams.get(c is f.a)
                if st is None:
                    st = f.streams[c is f.a] = Stream()
                if st.add(seq, payload):
                    self._dns_stream(st)
                if st.done:
                    c[INS] = 0
            else:
                self._tcp(c, f, payload, seq)
        except Exception as exc:  # noqa: BLE001 - untrusted payloads: one bad payload never stops the reading
            if not isinstance(exc, PayloadError):
                exc = PayloadError(f"unparsable payload ({type(exc).__name__})")
            if kind == "dns-tcp":
                self._dns_error(exc)
            c[INS] = 0  # not the protocol it looked like, or mangled: stop looking

    def dns_payload(self, payload: bytes) -> None:
        """One DNS message over UDP (any datagram of the flow may carry answers); errors are counted."""
        body = payload[2:]
        if body in self.dns_seen:
            return  # the usual case, answered before any further call
        try:
            self._dns_new(payload, body)
        except Exception as exc:  # noqa: BLE001 - untrusted payloads: one bad message never stops the reading
            if not isinstance(exc, PayloadError):
                exc = PayloadError(f"unparsable payload ({type(exc).__name__})")
            self._dns_error(exc)

    def _dns_error(self, exc: Exception) -> None:
        self.dns_errors += 1
        if self.first_dns_error is None:
            self.first_dns_error = (self.counter[0], str(exc))

    def _tcp(self, c: list, f: Flow, payload: bytes, seq: int) -> None:
        is_client = c is f.a
        c[INS] -= 1
        streams = f.streams
        st = streams.get(is_client) if streams is not None else None
        if st is None:
            first = payload[0]
            if first == 0x16:
                # A first segment is read where it lies; a Stream (a copy) only when it is incomplete.
                if is_client:
                    hello = client_hello_from_stream(payload, alpn=False)
                    if hello is not None:
                        c[INS] = 0
                        self._hello(hello, c[PEER], "sni", f.resp_port)
                        f.b[INS] = TCP_SERVER_INSPECT  # a TLS <= 1.2 server shows its certificate next
                        return
                else:
                    names, done = server_certificate_names(payload)
                    if names:
                        sender = f.a[PEER]  # the server: where the client's packets go
                        for n in names:
                            self.add_name(sender, n, "cert")
                    if done or len(payload) > STREAM_LIMIT:
                        c[INS] = 0
                        return
                if streams is None:
                    streams = f.streams = {}
                st = streams[is_client] = Stream()
                st.add(seq, payload)
                if st.done:
                    c[INS] = 0
                return
            if not is_client or first not in _HTTP_FIRST:
                c[INS] = 0  # neither a TLS handshake nor an HTTP request: nothing to learn here
                return
            if looks_like_http_request(payload):
                host, complete = http_host(payload)
                if host:
                    self.add_name(c[PEER], host, "http")
                if complete or host:
                    return  # keep looking at later requests on the same connection
            if streams is None:
                streams = f.streams = {}
            st = streams[is_client] = Stream()
        if not st.add(seq, payload):
            return
        data = bytes(st.data)
        if is_client:
            if looks_like_http_request(data):
                host, complete = http_host(data)
                if host:
                    self.add_name(c[PEER], host, "http")
                if host or complete or st.done:
                    del streams[is_client]
                return
            hello = client_hello_from_stream(data, alpn=False)
            if hello is not None:
                c[INS] = 0
                del streams[is_client]
                self._hello(hello, c[PEER], "sni", f.resp_port)
                f.b[INS] = TCP_SERVER_INSPECT
            elif st.done:
                c[INS] = 0
        else:
            names, done = server_certificate_names(data)
            if names:
                sender = f.a[PEER]
                for n in names:
                    self.add_name(sender, n, "cert")
            if done or st.done:
                c[INS] = 0
                streams.pop(is_client, None)

    def _hello(self, hello: ClientHello, server: str, source: str, port: int) -> None:
        if hello.sni is not None:
            self._sni(server, hello.sni, hello.ech, source, port)

    def _sni(self, server: str, sni: str, ech: bool, source: str, port: int) -> None:
        if ech:
            concealment = "ech-outer"
        elif sni in DOH_NAMES:
            concealment = "doh"
        elif port == 853:
            concealment = "dot"
        else:
            self.add_name(server, sni, source)
            return
        self.add_name(server, sni, source, concealment)
        self._conceal(server, concealment)

    def _dns(self, payload: bytes) -> None:
        # The same answer (all but the transaction id) recurs often; its names are already recorded.
        body = payload[2:]
        if body not in self.dns_seen:
            self._dns_new(payload, body)

    def _dns_new(self, payload: bytes, body: bytes) -> None:
        ans = parse_dns_response(payload)
        if len(self.dns_seen) > 8192:
            self.dns_seen.clear()
        self.dns_seen.add(body)
        if ans is None:
            return
        for addr, names in ans.addresses.items():
            for n in names:
                self.add_name(addr, n, "dns")

    def _dns_stream(self, st: Stream) -> None:
        data = st.data
        while len(data) >= 2:
            ln = int.from_bytes(data[:2], "big")
            if len(data) < 2 + ln:
                break
            msg = bytes(data[2 : 2 + ln])
            del data[: 2 + ln]
            self._dns(msg)

    def add_name(self, address: str, name: str, source: str, concealment: str | None = None) -> None:
        if not name:
            return
        # Most names recur (every connection to a server repeats its SNI): a repeat ends at one set lookup.
        key = (address, name, source, concealment)
        if key in self.named:
            return
        self.named.add(key)
        found = self.names.get(address)
        if found is None:
            found = self.names[address] = {}
        found[Hostname(name, HostnameSource(source), Concealment(concealment) if concealment else None)] = None

    def _conceal(self, address: str, label: str) -> None:
        self.concealment.setdefault(address, {})[label] = None

    # ------------------------------------------------------------ fragments

    def fragment(self, fkey: bytes, offset: int, more: bool, piece: bytes, owner: list | None) -> bytes | None:
        """Keep UDP fragments of a datagram whose flow is inspected; the whole IP payload once complete."""
        pieces = self.frag_pieces.get(fkey)
        if pieces is None:
            if len(self.frag_pieces) > 1024:
                self.frag_pieces.clear()
            pieces = self.frag_pieces[fkey] = {}
        pieces[offset] = piece
        if not more:
            pieces[-1] = b""  # the last piece has arrived
        if -1 not in pieces or 0 not in pieces:
            return None
        data = bytearray()
        for off in sorted(k for k in pieces if k >= 0):
            if off > len(data):
                return None
            data += pieces[off][len(data) - off :]
        del self.frag_pieces[fkey]
        return bytes(data)

    # ------------------------------------------------------------ folding

    def mark_finished(self, f: Flow) -> None:
        f.fin = True
        self.finished.append(f)

    def sweep(self, now: float) -> None:
        self.now = now
        self.sweeps += 1
        live = self.live
        if self.sweeps % FULL_SWEEP_EVERY == 0:
            for f in list(live):
                last = f.a[LT] if f.a[LT] > f.b[LT] else f.b[LT]
                if now - last > IDLE_TIMEOUT or (f.fin and now - last > FINISHED_GRACE):
                    self.fold(f)
            self.finished = [f for f in self.finished if f in live]
        else:
            keep = []
            for f in self.finished:
                if f in live:
                    last = f.a[LT] if f.a[LT] > f.b[LT] else f.b[LT]
                    if now - last > FINISHED_GRACE:
                        self.fold(f)
                    else:
                        keep.append(f)
            self.finished = keep
        self.prune_fragments()

    def prune_fragments(self) -> None:
        if len(self.frag_owner) > 4096:
            # Drop the oldest half only: fragments still in flight keep their owner (clearing them all
            # turned a datagram's later fragments into a port-less flow pointing the wrong way).
            owners = self.frag_owner
            for k in list(itertools.islice(owners, len(owners) - 2048)):
                del owners[k]

    def fold(self, f: Flow) -> None:
        a, b = f.a, f.b
        key = (f.init, f.resp, f.app)
        p = self.pairs.get(key)
        if p is None:
            p = self.pairs[key] = Pair(f.init, f.resp, f.app)
        p.flows += 1
        p.packets_sent += a[PK]
        p.packets_received += b[PK]
        p.bytes_sent += a[BY]
        p.bytes_received += b[BY]
        p.ip_bytes_sent += a[IB]
        p.ip_bytes_received += b[IB]
        first = f.first
        last = a[LT] if a[LT] > b[LT] else b[LT]
        if p.first_seen is None or first < p.first_seen:
            p.first_seen = first
        if p.last_seen is None or last > p.last_seen:
            p.last_seen = last
        p.ports[(f.proto, f.resp_port)] = None
        if f.l2_bcast:
            p.l2_broadcast = True
        ptl = p.timeline
        if f.timeline:
            _merge_timeline(ptl, f.timeline)
        if a[BB]:
            slot = ptl.get(a[BK])
            if slot is None:
                ptl[a[BK]] = [a[BB], 0]
            else:
                slot[0] += a[BB]
        if b[BB]:
            slot = ptl.get(b[BK])
            if slot is None:
                ptl[b[BK]] = [0, b[BB]]
            else:
                slot[1] += b[BB]
        t = f.table
        k1, k2 = f.keys
        t.pop(k1, None)
        t.pop(k2, None)
        del self.live[f]
        a[FL] = b[FL] = None  # the flow and its counter lists point at each other: free them without the GC

    def frag_owner_of(self, fid: bytes) -> list | None:
        """The counters of the flow a datagram's first fragment went to, while that flow is live."""
        c = self.frag_owner.get(fid)
        if c is None or c[FL] not in self.live:
            return None  # never seen, or folded since: later fragments count as a port-less flow
        return c

    # ------------------------------------------------------------ the compiled flow table

    def attach_core(self):  # noqa: ANN201 - returns readers._core.Core, which may not be built
        """A compiled flow table for one capture, folded into this engine by ``fold_all``."""
        from ipowner.capture._core import Core

        devices = []
        for d in self.devices_given:
            raw = socket.inet_pton(socket.AF_INET6 if ":" in d else socket.AF_INET, d)
            if addr_text(raw) == d:  # the reference compares text: a form it cannot produce never matches
                devices.append(raw)
        core = Core(self, tuple(devices), _SERVER_PORTS)
        self.cores.append(core)
        return core

    def core_view(self, kind: str, init: str, resp: str, resp_port: int) -> tuple[list, list]:
        """The counter lists ``inspect`` works on, for a flow held by the compiled table."""
        f = Flow()
        f.kind = kind
        f.init, f.resp, f.resp_port = init, resp, resp_port
        f.streams = None
        f.quic = None
        a = [0, 0, 0, 0.0, 0.0, 0, 0, f, resp]
        b = [0, 0, 0, 0.0, 0.0, 0, 0, f, init]
        f.a, f.b = a, b
        return a, b

    def core_hello(self, server: str, sni: bytes | None, ech: bool, port: int) -> None:
        """A ClientHello read by the compiled table (raw server_name bytes), recorded as ``_tcp`` does."""
        # Every connection to a server repeats its hello; recording it again would change nothing.
        key = (server, sni, ech, port)
        seen = self.core_hellos
        if key in seen:
            return
        if len(seen) > 1 << 16:
            seen.clear()
        seen.add(key)
        name = normalise_name(sni.decode("utf-8", "replace")) if sni else None
        if name:
            self._sni(server, name, ech, "sni", port)

    def merge_pair(self, init: str, resp: str, app: str | None, flows: int, packets_sent: int,
                   packets_received: int, bytes_sent: int, bytes_received: int, ip_bytes_sent: int,
                   ip_bytes_received: int, first: float, last: float, ports: dict, l2_broadcast: bool,
                   timeline: dict) -> None:
        """Flows folded by the compiled table, added as ``fold`` adds them one by one."""
        key = (init, resp, app)
        p = self.pairs.get(key)
        if p is None:
            p = self.pairs[key] = Pair(init, resp, app)
        p.flows += flows
        p.packets_sent += packets_sent
        p.packets_received += packets_received
        p.bytes_sent += bytes_sent
        p.bytes_received += bytes_received
        p.ip_bytes_sent += ip_bytes_sent
        p.ip_bytes_received += ip_bytes_received
        if p.first_seen is None or first < p.first_seen:
            p.first_seen = first
        if p.last_seen is None or last > p.last_seen:
            p.last_seen = last
        for k in ports:
            p.ports[k] = None
        if l2_broadcast:
            p.l2_broadcast = True
        _merge_timeline(p.timeline, timeline)

    def fold_all(self) -> None:
        for core in self.cores:
            core.finish()
        self.cores.clear()
        for f in list(self.live):
            self.fold(f)
        self.finished = []
        self.frag_owner.clear()
        self.frag_pieces.clear()

    def note_peer(self, device: str | None, remote: str, *, proto: str, port: int | None, ts: float | None,
                  app: str | None = None) -> None:
        """A destination named by a log without counts (ssl/http logs, address lists)."""
        _note_peer(self, device, remote, proto, port, ts, app)

    def add_log_pair(self, device: str | None, remote: str, app: str | None, *, proto: str, port: int | None,
                     packets_sent: int, packets_received: int, ip_bytes_sent: int, ip_bytes_received: int,
                     first: float | None, last: float | None, flows: int = 1) -> None:
        """A connection from a log: IP-level counts already oriented device -> remote."""
        key = (device, remote, app)
        p = self.pairs.get(key)
        if p is None:
            p = self.pairs[key] = Pair(device, remote, app)
        p.ip_only = True
        p.flows += flows
        p.packets_sent += packets_sent
        p.packets_received += packets_received
        p.ip_bytes_sent += ip_bytes_sent
        p.ip_bytes_received += ip_bytes_received
        if first is not None and (p.first_seen is None or first < p.first_seen):
            p.first_seen = first
        last = last if last is not None else first
        if last is not None and (p.last_seen is None or last > p.last_seen):
            p.last_seen = last
        if proto:
            p.ports[(proto, port if proto in ("tcp", "udp", "sctp") else None)] = None
        if first is not None and (ip_bytes_sent or ip_bytes_received):
            bk = first // self.bucket
            slot = p.timeline.setdefault(bk, [0, 0])
            slot[0] += ip_bytes_sent
            slot[1] += ip_bytes_received


def _merge_timeline(into: dict[float, list[int]], timeline: dict[float, list[int]]) -> None:
    """Add bucket -> [sent, received] totals, keeping the order buckets were first seen in."""
    for bk, (s, r) in timeline.items():
        slot = into.get(bk)
        if slot is None:
            into[bk] = [s, r]
        else:
            slot[0] += s
            slot[1] += r


def _note_peer(engine: Engine, device: str | None, remote: str, proto: str, port: int | None,
               ts: float | None, app: str | None = None) -> None:
    key = (device, remote, app)
    p = engine.pairs.get(key)  # type: ignore[arg-type]
    if p is None:
        p = engine.pairs[key] = Pair(device, remote, app)  # type: ignore[index,arg-type]
        p.ip_only = True
    if proto:
        p.ports[(proto, port or None)] = None
    if ts is not None:
        if p.first_seen is None or ts < p.first_seen:
            p.first_seen = ts
        if p.last_seen is None or ts > p.last_seen:
            p.last_seen = ts


def _sender_is_client(proto: int, sport: int, dport: int, flags: int) -> bool:
    if proto == TCP:
        if flags & 0x02:  # SYN: the SYN sender is the client, a SYN-ACK's receiver is
            return not flags & 0x10
    elif proto in (ICMP, ICMP6):
        # sport carries the ICMP type here: an echo reply means the other side asked
        return sport not in (0, 129)
    elif proto != UDP:
        return True
    s_srv = sport in _SERVER_PORTS
    d_srv = dport in _SERVER_PORTS
    if s_srv != d_srv:
        return d_srv
    return not sport < 1024 <= dport
