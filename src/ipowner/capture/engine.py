"""The flow table every reader feeds: flows by 5-tuple, folded per (device, destination, app) pair.

A flow has two ``Direction``s (client and server side), each with the counters the packet loop adds to
and the budget of payloads still to look at. A flow lives in its table under both directions' keys;
when it ends or goes idle it is folded into its pair (a row of ``pairs.PairTable``) and forgotten, so
memory follows destinations, not packets or flows. The rules it decides by (timeouts, budgets, ports) are in ``rules.py``.
"""

from __future__ import annotations

import functools
import ipaddress
import itertools
import math
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal

from ipowner.capture import rules
from ipowner.capture.pairs import PairKey, PairTable
from ipowner.capture.protocols.common import PayloadError, normalise_name
from ipowner.capture.protocols.dns import parse_dns_response
from ipowner.capture.protocols.http import http_host, looks_like_http_request
from ipowner.capture.protocols.quic import QuicInitialState, gquic_chlo_sni, is_client_initial
from ipowner.capture.protocols.tls import ClientHello, client_hello_from_stream, server_certificate_names
from ipowner.capture.rules import (
    ADDRESS_TEXTS_MAX,
    DNS_PORT,
    DNS_SEEN_MAX,
    DOH_NAMES,
    DOT_PORT,
    DYNAMIC_FROM,
    EPHEMERAL_FROM,
    FINISHED_GRACE,
    FRAGMENT_OWNERS_KEEP,
    FRAGMENT_OWNERS_MAX,
    FRAGMENTED_DATAGRAMS_MAX,
    FULL_SWEEP_EVERY,
    HELLOS_SEEN_MAX,
    HTTP_METHODS,
    ICMP,
    ICMP_ERRORS,
    ICMP_REPLIES,
    ICMP_REQUESTS,
    ICMPV6,
    ICMPV6_ERRORS,
    IDLE_TIMEOUT,
    INSPECT_ALWAYS,
    KNOWN_CLIENTS_MAX,
    LOCAL_NETWORKS,
    LOG_COUNT_MAX,
    NAMED_SEEN_MAX,
    PORT_MAX,
    PORTED_PROTOCOLS,
    PROTO_NAMES,
    SERVER_PORTS,
    STREAM_LIMIT,
    STREAM_PENDING,
    TCP,
    TCP_ACK,
    TCP_CLIENT_INSPECT,
    TCP_SERVER_INSPECT,
    TCP_SYN,
    TLS_HANDSHAKE,
    TUNNELS_MAX,
    UDP,
    UDP_CLIENT_INSPECT,
)
from ipowner.model.kinds import Concealment, HostnameSource
from ipowner.model.traffic import Hostname

if TYPE_CHECKING:
    from ipowner.capture._core import Core
    from ipowner.capture.spill import NameSpill

PROTO_BYTE: Final = [bytes([i]) for i in range(256)]  # protocol number -> the one byte it adds to a flow key
_HTTP_FIRST: Final = frozenset(m[0] for m in HTTP_METHODS)  # first letters of the HTTP methods

FlowKind = Literal["dns", "udp", "dns-tcp", "tcp", "other"]  # what a flow's payloads are looked at for
PortKey = tuple[int | str, int | None]  # (protocol number, or a log's protocol name; server port or None)
FragmentOwner = tuple["Core", int, int]  # the C core's (core, flow slot * 2 + direction, flow serial)


def port_label(key: PortKey) -> str:
    """'tcp/443', 'udp/53', 'icmp' from a pair's port key."""
    proto, port = key
    if isinstance(proto, int):
        name = PROTO_NAMES.get(proto, f"ip-proto-{proto}")
        return f"{name}/{port}" if proto in PORTED_PROTOCOLS else name
    return f"{proto}/{port}" if port is not None else str(proto)


def addr_text(raw: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, raw)


# LOCAL_NETWORKS as (address length, prefix length, network as an int), filed under each (address length, first
# byte) they can start with: most addresses are ruled out by one dict lookup
_LOCAL: Final = tuple((len(n.network_address.packed), n.prefixlen, int(n.network_address))
                      for n in map(ipaddress.ip_network, LOCAL_NETWORKS))
_LOCAL_BY_FIRST: Final[dict[tuple[int, int], tuple[tuple[int, int, int], ...]]] = {
    (alen, b): tuple(e for e in _LOCAL if e[0] == alen and b >> (8 - min(e[1], 8)) == (e[2] >> (alen * 8 - 8))
                     >> (8 - min(e[1], 8)))
    for alen in (4, 16) for b in range(256)}


def is_local(raw: bytes) -> bool:
    """Whether a raw address lies in LOCAL_NETWORKS (only a device's side of a flow is there)."""
    n = len(raw)
    nets = _LOCAL_BY_FIRST.get((n, raw[0])) if n else None
    if not nets:
        return False
    x = int.from_bytes(raw, "big")
    bits = n << 3
    return any(x >> (bits - plen) == net >> (bits - plen) for _alen, plen, net in nets)


# IANA special-purpose labels (reference.iana) -> the scope a destination gets; a block not named here is
# "internet" when IANA says it is globally reachable, "reserved" when not (or not applicable)
_SCOPE_OF_LABEL: Final = {
    "private": "lan", "loopback": "lan", "link-local": "lan", "unspecified": "lan", "benchmarking": "lan",
    "shared": "cgnat", "documentation": "documentation", "multicast": "multicast", "broadcast": "broadcast",
    "reserved": "reserved", "unallocated": "reserved",
}
_THROUGH: Final = ("ipv4-mapped",)  # blocks whose embedded IPv4 address is the one scoped
_TUNNELLED: Final = ("teredo", "6to4", "nat64", "nat64-local")  # addresses that reach the internet through a relay


@functools.lru_cache(maxsize=1 << 16)
def scope_of(address: str, l2_broadcast: bool = False) -> str:
    """Where ``address`` sits, from IANA's special-purpose registries (reference.iana): "internet", "lan",
    "cgnat", "multicast", "broadcast", "reserved" or "documentation"; ``l2_broadcast``: the frames to it were
    sent to the Ethernet broadcast address (a subnet-directed broadcast)."""
    from ipowner.reference.iana import load_registry

    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    block = load_registry()[0].block(ip)
    label = block.label if block is not None else None
    if label == "multicast":
        return "multicast"
    if l2_broadcast:
        return "broadcast"
    if block is None or label in _TUNNELLED:
        return "internet"
    scope = _SCOPE_OF_LABEL.get(block.label)
    if scope is not None:
        return scope
    return "internet" if block.globally_reachable else "reserved"


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
            if len(self.pending) < STREAM_PENDING:
                self.pending[seq] = payload
        else:
            # overlaps what we have: keep only the new tail
            back = (self.next_seq - seq) & 0xFFFFFFFF
            if back < len(payload):
                return self.add(self.next_seq, payload[back:])
        if len(self.data) > STREAM_LIMIT:
            self.done = True
        return grew


@dataclass(slots=True, eq=False)
class Direction:
    """One direction of a flow: what the packet loop adds to, and what is still looked at in its payloads.

    Compared and hashed by identity (``c is f.a`` tells the client's side).
    """

    packets: int
    frame_bytes: int
    ip_bytes: int
    last_ts: float
    bucket: float  # the timeline bucket being counted (timestamp // bucket length)...
    bucket_bytes: int  # ...and the frame bytes in it so far; earlier buckets are parked on the flow
    inspect: int  # payloads still to look at: 0 none, INSPECT_ALWAYS every one
    flow: Flow
    peer: str  # where this direction's packets go


class Flow:
    """One flow (a 5-tuple, or an address pair and protocol), from its first packet until it is folded.

    Every slot is set in ``Engine.new_flow`` (or ``core_view``); ``timeline``, ``streams`` and ``quic``
    stay None until a flow needs them.
    """

    __slots__ = ("init", "resp", "proto", "init_port", "resp_port", "app", "first", "a", "b", "keys", "table",
                 "timeline", "fin", "kind", "streams", "quic", "l2_bcast")

    init: str  # the initiator (the client, the device side by default)
    resp: str  # the responder
    proto: int
    init_port: int
    resp_port: int  # the server port (for ICMP, the type the flow was opened with)
    app: str | None
    first: float
    a: Direction  # the initiator's side
    b: Direction  # the responder's side
    keys: tuple[bytes, bytes]  # its two keys in ``table``
    table: dict[bytes, Direction]
    timeline: dict[float, list[int]] | None  # bucket -> [sent, received] of buckets rolled over
    fin: bool  # saw FIN or RST: folded after FINISHED_GRACE
    kind: FlowKind
    streams: dict[bool, Stream] | None  # per side (True: the client's) when a handshake spans segments
    quic: QuicInitialState | None
    l2_bcast: bool


INIT_TEXTS_MAX: Final = 4096  # initiator address texts shared between the pairs the compiled core hands over

# A folded flow's directions point here, so a flow and its directions free each other without the collector.
FOLDED: Final = Flow()


class Engine:
    """Collects flows, names and pairs from any number of inputs.

    It implements ``core.CoreHost``, what the C core calls back (see there).
    """

    def __init__(self, *, bucket: float = rules.DEFAULT_BUCKET, devices: set[str] | None = None,
                 budget: rules.Budget | None = None) -> None:
        self.bucket = float(bucket)
        self.budget = budget or rules.Budget()
        self.untimed_pairs = 0  # pairs past the timeline budget: their bytes are in their totals only
        self.names_dropped = 0  # names past the per-address budget: counted, not kept
        self.spill: NameSpill | None = None  # names past the budget of named addresses
        self.init_texts: dict[str, str] = {}
        self.timeline_pairs = self.budget.timeline  # what a compiled table is given (attach_core)
        self.devices_given = {ipaddress.ip_address(d).compressed for d in (devices or set())}
        self.tcp: dict[bytes, Direction] = {}
        self.udp: dict[bytes, Direction] = {}
        self.other: dict[bytes, Direction] = {}
        self.live: dict[Flow, None] = {}
        self.finished: list[Flow] = []  # flows that saw FIN or RST, folded after FINISHED_GRACE
        self.sweeps = 0
        self.addr_names: dict[bytes, str] = {}  # raw address -> text, so each is formatted once
        self.pairs = PairTable()  # every folded pair, as columns (capture/pairs.py)
        self.names: dict[str, dict[Hostname, None]] = {}
        self.named: set[tuple[str, str, str, str | None]] = set()  # what add_name has put in names
        self.core_hellos: set[tuple[str, bytes | None, bool, int]] = set()  # (server, raw name, ech, port)
        self.concealment: dict[str, dict[str, None]] = {}
        self.frag_owner: dict[bytes, Direction] = {}  # datagram -> the side its first fragment counted on
        self.core_frag_owner: dict[bytes, FragmentOwner] = {}  # the same for the C core, kept by it
        self.frag_pieces: dict[bytes, dict[int, bytes]] = {}
        self.counter = [0]  # frames handled, all inputs together
        self.sweep_mask = rules.SWEEP_MASK  # read at construction, so tests can sweep more often
        self.dns_errors = 0
        self.log_bad_values = 0  # numbers of log rows out of range, read as unknown (see log_value)
        self.dns_seen: set[bytes] = set()
        self.first_dns_error: tuple[int, str] | None = None
        self.now = 0.0
        self.current_app: str | None = None  # set by readers whose container names the app per packet
        # (tunnel, endpoint, endpoint) -> [packets, frame bytes opened, packets, frame bytes not opened]; the
        # endpoints are raw addresses, the lower first; past TUNNELS_MAX pairs, the rest are summed under b""
        self.tunnels: dict[tuple[int, bytes, bytes], list[int]] = {}
        self.known_clients: dict[bytes, None] = {}  # raw addresses that were a client on strong evidence
        self.cores: list[Core] = []  # compiled flow tables feeding this engine (one per capture being read)
        self.folded = FOLDED

    # ------------------------------------------------------------ flow creation

    def new_flow(self, table: dict[bytes, Direction], key: bytes, rkey: bytes, src: bytes, dst: bytes, proto: int,
                 sport: int, dport: int, flags: int, ts: float, l2_bcast: bool, app: str | None) -> Direction:
        """Create a flow for a packet src->dst whose key is missing; return the sender's direction."""
        known = self.known_clients
        sender_is_client, strong = _sender_is_client(proto, sport, dport, flags, is_local(src), is_local(dst),
                                                     src in known, dst in known)
        names = self.addr_names
        s_txt = names.get(src)
        if s_txt is None:
            s_txt = names[src] = addr_text(src)
        d_txt = names.get(dst)
        if d_txt is None:
            d_txt = names[dst] = addr_text(dst)
        if len(names) > ADDRESS_TEXTS_MAX:
            names.clear()
        if self.devices_given:
            if d_txt in self.devices_given and s_txt not in self.devices_given:
                sender_is_client = False
            elif s_txt in self.devices_given and d_txt not in self.devices_given:
                sender_is_client = True
        if strong and len(known) < KNOWN_CLIENTS_MAX:
            known[src if sender_is_client else dst] = None
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
        sc = Direction(0, 0, 0, ts, bk, 0, 0, f, d_txt)
        rc = Direction(0, 0, 0, ts, bk, 0, 0, f, s_txt)
        if sender_is_client:
            f.init, f.resp, f.init_port, f.resp_port, f.a, f.b = s_txt, d_txt, sport, dport, sc, rc
        else:
            f.init, f.resp, f.init_port, f.resp_port, f.a, f.b = d_txt, s_txt, dport, sport, rc, sc
        f.keys = (key, rkey)
        table[key] = sc
        table[rkey] = rc
        self.live[f] = None
        # what to look at in the payloads
        if proto == UDP:
            if sport == DNS_PORT or dport == DNS_PORT:
                f.kind = "dns"
                sc.inspect = rc.inspect = INSPECT_ALWAYS  # every datagram may carry answers
            else:
                f.kind = "udp"
                f.a.inspect = UDP_CLIENT_INSPECT
        elif proto == TCP:
            if sport == DNS_PORT or dport == DNS_PORT:
                f.kind = "dns-tcp"
                sc.inspect = rc.inspect = INSPECT_ALWAYS
            else:
                f.kind = "tcp"
                f.a.inspect = TCP_CLIENT_INSPECT
        else:
            f.kind = "other"
        if f.resp_port == DOT_PORT and proto in (TCP, UDP):
            self.conceal(f.resp, "dot")
        return sc

    # ------------------------------------------------------------ payloads

    def inspect(self, c: Direction, proto: int, payload: bytes, seq: int = 0) -> None:
        """Look at one payload of a flow direction still being inspected."""
        f = c.flow
        kind = f.kind
        if kind == "dns":
            self.dns_payload(payload)
            return
        try:
            if kind == "tcp":
                self._tcp(c, f, payload, seq)
            elif kind == "udp":
                c.inspect -= 1
                if f.quic is None:
                    if not is_client_initial(payload):
                        sni = gquic_chlo_sni(payload)
                        if sni:
                            self._hello(ClientHello(sni, False), c.peer, "quic", f.resp_port)
                        else:
                            c.inspect = 0  # a QUIC client starts with an Initial; this flow did not
                        return
                    f.quic = QuicInitialState()
                hello = f.quic.feed(payload)
                if hello is not None or f.quic.done:
                    c.inspect = 0
                if hello is not None:
                    self._hello(hello, c.peer, "quic", f.resp_port)
            elif kind == "dns-tcp":
                if f.streams is None:
                    f.streams = {}
                st = f.streams.get(c is f.a)
                if st is None:
                    st = f.streams[c is f.a] = Stream()
                if st.add(seq, payload):
                    self._dns_stream(st)
                if st.done:
                    c.inspect = 0
            else:
                self._tcp(c, f, payload, seq)
        except Exception as exc:  # noqa: BLE001 - untrusted payloads: one bad payload never stops the reading
            if not isinstance(exc, PayloadError):
                exc = PayloadError(f"unparsable payload ({type(exc).__name__})")
            if kind == "dns-tcp":
                self._dns_error(exc)
            c.inspect = 0  # not the protocol it looked like, or mangled: stop looking

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

    def _tcp(self, c: Direction, f: Flow, payload: bytes, seq: int) -> None:
        is_client = c is f.a
        c.inspect -= 1
        streams = f.streams
        st = streams.get(is_client) if streams is not None else None
        if st is None:
            first = payload[0]
            if first == TLS_HANDSHAKE:
                # A first segment is read where it lies; a Stream (a copy) only when it is incomplete.
                if is_client:
                    hello = client_hello_from_stream(payload, alpn=False)
                    if hello is not None:
                        c.inspect = 0
                        self._hello(hello, c.peer, "sni", f.resp_port)
                        f.b.inspect = TCP_SERVER_INSPECT  # a TLS <= 1.2 server shows its certificate next
                        return
                else:
                    names, done = server_certificate_names(payload)
                    if names:
                        sender = f.a.peer  # the server: where the client's packets go
                        for n in names:
                            self.add_name(sender, n, "cert")
                    if done or len(payload) > STREAM_LIMIT:
                        c.inspect = 0
                        return
                if streams is None:
                    streams = f.streams = {}
                st = streams[is_client] = Stream()
                st.add(seq, payload)
                if st.done:
                    c.inspect = 0
                return
            if not is_client or first not in _HTTP_FIRST:
                if len(payload) == 1:
                    return  # a keep-alive probe's one byte: what the connection carries may come next
                c.inspect = 0  # neither a TLS handshake nor an HTTP request: nothing to learn here
                return
            if looks_like_http_request(payload):
                host, complete = http_host(payload)
                if host:
                    self.add_name(c.peer, host, "http")
                if complete or host:
                    return  # keep looking at later requests on the same connection
            if streams is None:
                streams = f.streams = {}
            st = streams[is_client] = Stream()
        assert streams is not None  # a stream exists, so its dict does
        if not st.add(seq, payload):
            return
        data = bytes(st.data)
        if is_client:
            if looks_like_http_request(data):
                host, complete = http_host(data)
                if host:
                    self.add_name(c.peer, host, "http")
                if host or complete or st.done:
                    del streams[is_client]
                return
            hello = client_hello_from_stream(data, alpn=False)
            if hello is not None:
                c.inspect = 0
                del streams[is_client]
                self._hello(hello, c.peer, "sni", f.resp_port)
                f.b.inspect = TCP_SERVER_INSPECT
            elif st.done:
                c.inspect = 0
        else:
            names, done = server_certificate_names(data)
            if names:
                sender = f.a.peer
                for n in names:
                    self.add_name(sender, n, "cert")
            if done or st.done:
                c.inspect = 0
                streams.pop(is_client, None)

    def _hello(self, hello: ClientHello, server: str, source: str, port: int) -> None:
        if hello.sni is not None:
            self._sni(server, hello.sni, hello.ech, source, port)

    def _sni(self, server: str, sni: str, ech: bool, source: str, port: int) -> None:
        if ech:
            concealment = "ech-outer"
        elif sni in DOH_NAMES:
            concealment = "doh"
        elif port == DOT_PORT:
            concealment = "dot"
        else:
            self.add_name(server, sni, source)
            return
        self.add_name(server, sni, source, concealment)
        self.conceal(server, concealment)

    def _dns(self, payload: bytes) -> None:
        # The same answer (all but the transaction id) recurs often; its names are already recorded.
        body = payload[2:]
        if body not in self.dns_seen:
            self._dns_new(payload, body)

    def _dns_new(self, payload: bytes, body: bytes) -> None:
        ans = parse_dns_response(payload)
        if len(self.dns_seen) > DNS_SEEN_MAX:
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
        named = self.named
        if key in named:
            return
        if len(named) >= NAMED_SEEN_MAX:
            named.clear()  # a cache only: the names themselves are below
        named.add(key)
        found = self.names.get(address)
        if found is None:
            found = self.names[address] = {}
            if len(self.names) > self.budget.named:
                self._spill_names()
        h = Hostname(name, HostnameSource(source), Concealment(concealment) if concealment else None)
        if h not in found:
            self._keep_name(found, h)

    def _keep_name(self, found: dict[Hostname, None], h: Hostname) -> None:
        """Add ``h`` unless its address has ``budget.names`` names from the same source already (counted
        then): a flood of one kind (DNS answers, certificate names) never crowds out another."""
        limit = self.budget.names
        if len(found) >= limit and sum(1 for x in found if x.source is h.source) >= limit:
            self.names_dropped += 1
        else:
            found[h] = None

    def _spill_names(self) -> None:
        """Move the names of the oldest half of the named addresses to the spill file."""
        from ipowner.capture.spill import NameSpill

        if self.spill is None:
            self.spill = NameSpill()
        names = self.names
        moved = list(itertools.islice(names, len(names) // 2))
        rows = ((a, h.name, h.source.value, h.concealment.value if h.concealment else None)
                for a in moved for h in names[a])
        self.spill.add(rows, len(moved))
        for a in moved:
            del names[a]
        self.names = dict(names)  # a dict does not shrink by deletion

    def names_of(self, addresses: list[str]) -> dict[str, list[Hostname]]:
        """The names of each of ``addresses`` (spilled ones first, as they were learnt), within the budget
        of names per address and source; addresses without names are left out."""
        out: dict[str, dict[Hostname, None]] = {}
        if self.spill is not None:
            for a, name, source, concealment in self.spill.names_of(addresses):
                found = out.setdefault(a, {})
                h = Hostname(name, HostnameSource(source), Concealment(concealment) if concealment else None)
                if h not in found:
                    self._keep_name(found, h)
        for a in addresses:
            mem = self.names.get(a)
            if not mem:
                continue
            known = out.get(a)
            if known is None:
                out[a] = mem
                continue
            for h in mem:
                if h not in known:
                    self._keep_name(known, h)
        return {a: list(v) for a, v in out.items()}

    def close(self) -> None:
        """Remove the spill file, if there is one."""
        if self.spill is not None:
            self.spill.close()
            self.spill = None

    def conceal(self, address: str, label: str) -> None:
        """Mark ``address`` as hiding what it serves ("dot", "doh", "ech-outer")."""
        self.concealment.setdefault(address, {})[label] = None

    # ------------------------------------------------------------ tunnels

    def tunnel(self, kind: int, addrs: bytes, frame_bytes: int, opened: bool) -> None:
        """A packet of tunnel ``kind`` between the two raw addresses in ``addrs`` (source, destination):
        opened (its inner packet is what was counted as a flow) or not (the tunnel's own flow counted it)."""
        half = len(addrs) >> 1
        a, b = addrs[:half], addrs[half:]
        if b < a:
            a, b = b, a
        if opened:
            self.merge_tunnel(kind, a, b, 1, frame_bytes, 0, 0)
        else:
            self.merge_tunnel(kind, a, b, 0, 0, 1, frame_bytes)

    def merge_tunnel(self, kind: int, a: bytes, b: bytes, packets: int, frame_bytes: int, unread_packets: int,
                     unread_bytes: int) -> None:
        """Counts of one tunnel endpoint pair (``a`` the lower raw address), added."""
        t = self.tunnels.get((kind, a, b))
        if t is None:
            if len(self.tunnels) >= TUNNELS_MAX:
                a = b = b""
                t = self.tunnels.get((kind, a, b))
            if t is None:
                t = self.tunnels[(kind, a, b)] = [0, 0, 0, 0]
        t[0] += packets
        t[1] += frame_bytes
        t[2] += unread_packets
        t[3] += unread_bytes

    # ------------------------------------------------------------ fragments

    def fragment(self, fkey: bytes, offset: int, more: bool, piece: bytes, owner: Direction | None) -> bytes | None:
        """Keep UDP fragments of a datagram whose flow is inspected; the whole IP payload once complete."""
        pieces = self.frag_pieces.get(fkey)
        if pieces is None:
            if len(self.frag_pieces) > FRAGMENTED_DATAGRAMS_MAX:
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

    def frag_owner_of(self, fid: bytes) -> Direction | None:
        """The side of the flow a datagram's first fragment went to, while that flow is live."""
        c = self.frag_owner.get(fid)
        if c is None or c.flow not in self.live:
            return None  # never seen, or folded since: later fragments count as a port-less flow
        return c

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
                last = f.a.last_ts if f.a.last_ts > f.b.last_ts else f.b.last_ts
                if now - last > IDLE_TIMEOUT or (f.fin and now - last > FINISHED_GRACE):
                    self.fold(f)
            self.finished = [f for f in self.finished if f in live]
        else:
            keep = []
            for f in self.finished:
                if f in live:
                    last = f.a.last_ts if f.a.last_ts > f.b.last_ts else f.b.last_ts
                    if now - last > FINISHED_GRACE:
                        self.fold(f)
                    else:
                        keep.append(f)
            self.finished = keep
        self.prune_fragments()

    def prune_fragments(self) -> None:
        """Bound the datagram -> first-fragment owner maps (the engine's and the C core's)."""
        for owners in (self.frag_owner, self.core_frag_owner):
            if len(owners) > FRAGMENT_OWNERS_MAX:
                # Drop the oldest only: fragments still in flight keep their owner (clearing them all
                # turned a datagram's later fragments into a port-less flow pointing the wrong way).
                for k in list(itertools.islice(owners, len(owners) - FRAGMENT_OWNERS_KEEP)):
                    del owners[k]

    def new_pair(self, key: PairKey, ports: Iterable[PortKey] = (), timeline: dict[float, list[int]] | None = None,
                 *, timed: bool = True) -> int:
        """The row of a pair seen for the first time (taking ``timeline`` as its own when given); past
        ``budget.timeline`` pairs (or when not ``timed``) it keeps no timeline."""
        pairs = self.pairs
        timed = timed and len(pairs) < self.budget.timeline
        if not timed:
            self.untimed_pairs += 1
        return pairs.new(key, ports, ({} if timeline is None else timeline) if timed else None)

    def fold(self, f: Flow) -> None:
        a, b = f.a, f.b
        key = (f.init, f.resp, f.app)
        pairs = self.pairs
        i = pairs.index.get(key)
        if i is None:
            i = self.new_pair(key)
        pairs.counts.add(i, 1, a.packets, b.packets, a.frame_bytes, b.frame_bytes, a.ip_bytes, b.ip_bytes)
        pairs.times.seen(i, f.first, a.last_ts if a.last_ts > b.last_ts else b.last_ts)
        pairs.ports.add(i, (f.proto, f.resp_port))
        if f.l2_bcast:
            pairs.l2_broadcast.add(i)
        ptl = pairs.timelines.get(i)
        if ptl is not None:
            if f.timeline:
                _merge_timeline(ptl, f.timeline)
            if a.bucket_bytes:
                slot = ptl.get(a.bucket)
                if slot is None:
                    ptl[a.bucket] = [a.bucket_bytes, 0]
                else:
                    slot[0] += a.bucket_bytes
            if b.bucket_bytes:
                slot = ptl.get(b.bucket)
                if slot is None:
                    ptl[b.bucket] = [0, b.bucket_bytes]
                else:
                    slot[1] += b.bucket_bytes
        t = f.table
        k1, k2 = f.keys
        t.pop(k1, None)
        t.pop(k2, None)
        del self.live[f]
        a.flow = b.flow = FOLDED  # the flow and its directions point at each other: free them without the GC

    # ------------------------------------------------------------ the compiled flow table

    def attach_core(self) -> Core:
        """A compiled flow table for one capture, folded into this engine by ``fold_all``."""
        from ipowner.capture.core import new_core

        devices = []
        for d in self.devices_given:
            raw = socket.inet_pton(socket.AF_INET6 if ":" in d else socket.AF_INET, d)
            if addr_text(raw) == d:  # the reference compares text: a form it cannot produce never matches
                devices.append(raw)
        self.timeline_pairs = max(0, self.budget.timeline - len(self.pairs))  # the rest of the budget
        core = new_core(self, tuple(devices))
        self.cores.append(core)
        return core

    def core_view(self, kind: FlowKind, init: str, resp: str, resp_port: int) -> tuple[Direction, Direction]:
        """The two directions ``inspect`` works on, for a flow held by the compiled table."""
        f = Flow()
        f.kind = kind
        f.init, f.resp, f.resp_port = init, resp, resp_port
        f.streams = None
        f.quic = None
        a = Direction(0, 0, 0, 0.0, 0.0, 0, 0, f, resp)
        b = Direction(0, 0, 0, 0.0, 0.0, 0, 0, f, init)
        f.a, f.b = a, b
        return a, b

    def core_hello(self, server: str, sni: bytes | None, ech: bool, port: int) -> None:
        """A ClientHello read by the compiled table (raw server_name bytes), recorded as ``_tcp`` does."""
        # Every connection to a server repeats its hello; recording it again would change nothing.
        key = (server, sni, ech, port)
        seen = self.core_hellos
        if key in seen:
            return
        if len(seen) > HELLOS_SEEN_MAX:
            seen.clear()
        seen.add(key)
        name = normalise_name(sni.decode("utf-8", "replace")) if sni else None
        if name:
            self._sni(server, name, ech, "sni", port)

    def merge_pair(self, init: str, resp: str, app: str | None, flows: int, packets_sent: int,
                   packets_received: int, bytes_sent: int, bytes_received: int, ip_bytes_sent: int,
                   ip_bytes_received: int, first: float, last: float, ports: Iterable[PortKey], l2_broadcast: bool,
                   timeline: dict[float, list[int]] | None) -> None:
        """Flows folded by the compiled table, added as ``fold`` adds them one by one."""
        texts = self.init_texts  # the initiator is most often one of a few devices: one string each
        init = texts.get(init) or (texts.setdefault(init, init) if len(texts) < INIT_TEXTS_MAX else init)
        key = (init, resp, app)
        pairs = self.pairs
        i = pairs.index.get(key)
        if i is None:  # a row made whole at once; the core's timeline becomes the pair's: it is not copied
            timed = timeline is not None and len(pairs) < self.budget.timeline
            if not timed:
                self.untimed_pairs += 1
            i = pairs.new(key, ports, timeline if timed else None, (flows, packets_sent, packets_received, bytes_sent,
                          bytes_received, ip_bytes_sent, ip_bytes_received), first, last)
        else:
            ptl = pairs.timelines.get(i)
            if ptl is not None:
                if timeline is None:  # past the core's budget: the pair's timeline would miss its bytes
                    del pairs.timelines[i]
                    self.untimed_pairs += 1
                elif timeline:
                    _merge_timeline(ptl, timeline)
            pairs.ports.update(i, ports)
            pairs.counts.add(i, flows, packets_sent, packets_received, bytes_sent, bytes_received, ip_bytes_sent,
                             ip_bytes_received)
            pairs.times.seen(i, first, last)
        if l2_broadcast:
            pairs.l2_broadcast.add(i)

    def fold_all(self) -> None:
        for core in self.cores:
            core.finish()
        self.cores.clear()
        for f in list(self.live):
            self.fold(f)
        self.finished = []
        self.frag_owner.clear()
        self.core_frag_owner.clear()
        self.frag_pieces.clear()

    # ------------------------------------------------------------ logs

    def log_value(self, value: int | float | None, high: int) -> int | None:
        """A number a log gave, or None (counted in ``log_bad_values``) when it is outside 0..``high``."""
        if value is None or 0 <= value <= high:
            return None if value is None else int(value)
        self.log_bad_values += 1
        return None

    def log_time(self, t: float | None) -> float | None:
        """A log's time, or None (counted in ``log_bad_values``) when it is not a finite number."""
        if t is None or math.isfinite(t):
            return t
        self.log_bad_values += 1
        return None

    def note_peer(self, device: str | None, remote: str, *, proto: str, port: int | None, ts: float | None,
                  app: str | None = None) -> None:
        """A destination named by a log without counts (ssl/http logs, address lists)."""
        port, ts = self.log_value(port, PORT_MAX), self.log_time(ts)
        key = (device, remote, app)
        pairs = self.pairs
        i = pairs.index.get(key)
        if i is None:
            i = self.new_pair(key)
        if proto:
            pairs.ports.add(i, (proto, port or None))
        pairs.times.seen(i, ts, ts)

    def add_log_pair(self, device: str | None, remote: str, app: str | None, *, proto: str, port: int | None,
                     packets_sent: int, packets_received: int, ip_bytes_sent: int, ip_bytes_received: int,
                     first: float | None, last: float | None, flows: int = 1) -> None:
        """A connection from a log: IP-level counts already oriented device -> remote. A count or port out
        of range is read as unknown (``log_value``)."""
        value = self.log_value
        port = value(port, PORT_MAX)
        packets_sent = value(packets_sent, LOG_COUNT_MAX) or 0
        packets_received = value(packets_received, LOG_COUNT_MAX) or 0
        ip_bytes_sent = value(ip_bytes_sent, LOG_COUNT_MAX) or 0
        ip_bytes_received = value(ip_bytes_received, LOG_COUNT_MAX) or 0
        flows = value(flows, LOG_COUNT_MAX) or 0
        first, last = self.log_time(first), self.log_time(last)
        key = (device, remote, app)
        pairs = self.pairs
        i = pairs.index.get(key)
        if i is None:
            i = self.new_pair(key)
        pairs.counts.add(i, flows, packets_sent, packets_received, 0, 0, ip_bytes_sent, ip_bytes_received)
        pairs.times.seen(i, first, last if last is not None else first)
        if proto:
            pairs.ports.add(i, (proto, port if proto in ("tcp", "udp", "sctp") else None))
        tl = pairs.timelines.get(i)
        if tl is not None and first is not None and (ip_bytes_sent or ip_bytes_received):
            bk = first // self.bucket
            slot = tl.setdefault(bk, [0, 0])
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


def _sender_is_client(proto: int, sport: int, dport: int, flags: int, s_local: bool, d_local: bool, s_known: bool,
                      d_known: bool) -> tuple[bool, bool]:
    """Whether the sender of a flow's first captured packet is its client (the device side), and whether strong
    evidence said so. Strong, in this order: the TCP handshake; an ICMP reply (the other side asked) or request;
    a server port on one side only; a well-known port (< EPHEMERAL_FROM) on one side only. Then: one side seen
    as a client before (``s_known``/``d_known``); one side in LOCAL_NETWORKS (``s_local``/``d_local``); a
    dynamic port (>= DYNAMIC_FROM) on one side only; the receiver of an ICMP error (it sent what the error
    answers); and last, the sender."""
    if proto == TCP:
        if flags & TCP_SYN:  # the SYN sender is the client, a SYN-ACK's receiver is
            return not flags & TCP_ACK, True
    elif proto in (ICMP, ICMPV6):
        # sport carries the ICMP type here
        if sport in ICMP_REPLIES:
            return False, True
        if sport in ICMP_REQUESTS:
            return True, True
        if s_known != d_known:
            return s_known, False
        if s_local != d_local:
            return s_local, False
        return sport not in (ICMP_ERRORS if proto == ICMP else ICMPV6_ERRORS), False
    elif proto != UDP:
        if s_known != d_known:
            return s_known, False
        return s_local if s_local != d_local else True, False
    s_srv = sport in SERVER_PORTS
    d_srv = dport in SERVER_PORTS
    if s_srv != d_srv:
        return d_srv, True
    if sport < EPHEMERAL_FROM <= dport:
        return False, True
    if dport < EPHEMERAL_FROM <= sport:
        return True, True
    if s_known != d_known:
        return s_known, False
    if s_local != d_local:
        return s_local, False
    if sport >= DYNAMIC_FROM > dport:
        return True, False
    if dport >= DYNAMIC_FROM > sport:
        return False, False
    return True, False
