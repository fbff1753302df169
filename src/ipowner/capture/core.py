"""The seam between the C core (``_core.c``) and the engine, in one place.

The C core walks records and frames and keeps its own flow table; it is constructed for one capture as
``Core(host, devices, rules)`` and calls back into its host (the ``Engine``) only through the
``CoreHost`` interface below: for payloads that need a parser, fragment reassembly, names and
concealment labels, and the pairs it folded. ``rules`` is ``core_rules()``: the capture rules of
``rules.py`` it decides by, so C and Python cannot drift (``Core.rules()`` returns what it holds).
``_core.pyi`` stubs the compiled module.

``IPOWNER_NO_CORE=1`` in the environment disables the core: ``core_available()`` is False and every
capture is read by the per-frame walker (``frame.py``), with the same results.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterable, Mapping
from enum import IntEnum
from typing import TYPE_CHECKING, Protocol

from ipowner.capture import rules

if TYPE_CHECKING:
    from ipowner.capture._core import Core
    from ipowner.capture.engine import Direction, Flow, FlowKind, FragmentOwner, PortKey

NO_CORE_ENV = "IPOWNER_NO_CORE"

# The rules the C core is given, by their names in rules.py; it refuses a missing or an unknown one.
CORE_RULES: tuple[str, ...] = (
    "MAX_RECORD", "MAX_BLOCK", "PCAPNG_EPB", "EMPTY_RUN_MAX",
    "LINK_TYPES", "AF_INET_VALUES", "AF_INET6_VALUES", "ETHERNET_BROADCAST",
    "ETHERTYPE_IPV4", "ETHERTYPE_IPV6", "VLAN_TAGS", "VLAN_TAG_LENGTH", "PPPOE_SESSION", "PPPOE_HEADER",
    "PPP_IPV4", "PPP_IPV6", "MPLS", "MPLS_LABEL_LENGTH",
    "PCAPDROID_MAGIC", "PCAPDROID_TRAILER", "PCAPDROID_MIN_FRAME",
    "IPV6_EXTENSION_HEADERS", "NO_NEXT_HEADER", "ICMP", "TCP", "UDP", "ICMPV6",
    "TCP_FIN", "TCP_SYN", "TCP_RST", "TCP_ACK", "ICMP_REPLIES", "SERVER_PORTS", "EPHEMERAL_FROM",
    "DYNAMIC_FROM", "ICMP_ERRORS", "ICMPV6_ERRORS", "LOCAL_NETWORKS", "ICMP_REQUESTS", "KNOWN_CLIENTS_MAX",
    "DNS_PORT", "DOT_PORT", "INSPECT_ALWAYS", "TCP_CLIENT_INSPECT", "TCP_SERVER_INSPECT", "UDP_CLIENT_INSPECT",
    "STREAM_LIMIT",
    "TLS_CONTENT_TYPES", "TLS_HANDSHAKE", "TLS_MAJOR", "TLS_CLIENT_HELLO", "TLS_SERVER_HELLO", "TLS_CERTIFICATE",
    "TLS_AFTER_CERTIFICATE", "TLS_EXT_SERVER_NAME", "TLS_EXT_SUPPORTED_VERSIONS", "TLS_EXT_ECH", "TLS_EXT_ESNI",
    "TLS_SNI_HOST_NAME", "TLS_ECH_OUTER", "TLS_13", "HTTP_METHODS",
    "QUIC_LONG_HEADER", "QUIC_MIN_INITIAL", "GQUIC_MIN_HELLO", "GQUIC_MARK", "GQUIC_MARK_WITHIN",
    "IDLE_TIMEOUT", "FINISHED_GRACE", "FULL_SWEEP_EVERY",
    "CISCO_METADATA", "CISCO_METADATA_HEADER", "PPP_ADDRESS_CONTROL", "WLAN_DATA", "WLAN_HEADER", "WLAN_FOUR_ADDRESS",
    "WLAN_QOS_CONTROL", "WLAN_HT_CONTROL", "WLAN_PROTECTED", "LLC_SNAP", "LLC_SNAP_HEADER", "NFLOG_PAYLOAD",
    "NFLOG_TLV_ALIGN", "TUNNEL_DEPTH", "TUNNELS_MAX", "IP_IN_IP", "GRE", "GRE_VERSIONS", "GRE_TEB", "GRE_ERSPAN_II",
    "GRE_ERSPAN_III", "GRE_PPP", "GRE_WLAN", "ERSPAN_II_HEADER", "ERSPAN_III_HEADER", "ERSPAN_III_SUBHEADER",
    "TUNNEL_PORTS", "VXLAN_HEADER", "GENEVE_HEADER", "GTP_HEADER", "GTP_G_PDU", "TEREDO_AUTH", "TEREDO_ORIGIN",
    "L2TP_VERSION",
)


class CoreHost(Protocol):
    """Everything the C core reads, writes and calls on the engine it feeds (``Engine`` implements it).

    Read once, when a ``Core`` is constructed: ``bucket``, ``sweep_mask``, ``sweeps``, ``timeline_pairs``,
    ``folded``, ``known_clients``, and the bound methods and containers below. The frame counter is shared: the
    core loads ``counter[0]`` at the
    start of every call and stores it back before every callback and at the end, so a frame number seen
    by the engine (in a DNS error) is the same on either walker.
    """

    bucket: float  # seconds per timeline bucket
    sweep_mask: int  # the flow table is swept when the frame counter & sweep_mask is 0
    sweeps: int  # sweeps so far: read at construction, written back by finish()
    timeline_pairs: int  # read at construction: the core's pairs past this many keep no timeline (None)
    now: float  # written at every sweep: the capture time swept at
    current_app: str | None  # read for every new flow that has no PCAPdroid trailer
    counter: list[int]  # [frames handled so far, all inputs together]
    core_frag_owner: dict[bytes, FragmentOwner]  # datagram -> (core, flow ref, serial) of its first fragment
    folded: Flow  # what a folded flow's directions are pointed at, to break the flow <-> direction cycle
    known_clients: dict[bytes, None]  # raw addresses seen as a client on strong evidence; the core adds to it

    def inspect(self, c: Direction, proto: int, payload: bytes, seq: int = 0) -> None:
        """A payload of a flow side still inspected, on a ``core_view`` direction (its ``inspect`` budget
        is set by the core before the call and read back after)."""

    def dns_payload(self, payload: bytes) -> None:
        """A UDP payload of a DNS flow (either side)."""

    def fragment(self, fkey: bytes, offset: int, more: bool, piece: bytes, owner: Direction | None) -> bytes | None:
        """A UDP fragment kept for reassembly; the whole IP payload once complete (the core passes None)."""

    def conceal(self, address: str, label: str) -> None:
        """``address`` hides what it serves (the core reports "dot" for flows to the DoT port)."""

    def core_view(self, kind: FlowKind, init: str, resp: str, resp_port: int) -> tuple[Direction, Direction]:
        """The client and server directions ``inspect`` is called with, for one flow of the core's table;
        made the first time that flow needs Python."""

    def core_hello(self, server: str, sni: bytes | None, ech: bool, port: int) -> None:
        """A whole ClientHello the core read itself: its raw server name (or None) and whether ECH is on."""

    def merge_pair(self, init: str, resp: str, app: str | None, flows: int, packets_sent: int,
                   packets_received: int, bytes_sent: int, bytes_received: int, ip_bytes_sent: int,
                   ip_bytes_received: int, first: float, last: float, ports: Iterable[PortKey],
                   l2_broadcast: bool, timeline: dict[float, list[int]] | None) -> None:
        """One (initiator, responder, app) pair with every flow the core folded into it, at ``finish()``
        (its timeline None past ``timeline_pairs``; its ports a dictionary, or a tuple of its one port); the
        timeline is the host's from then on."""

    def prune_fragments(self) -> None:
        """Called after every sweep: bounds ``core_frag_owner`` as the engine bounds its own."""

    def merge_tunnel(self, kind: int, a: bytes, b: bytes, packets: int, frame_bytes: int, unread_packets: int,
                     unread_bytes: int) -> None:
        """One tunnel endpoint pair the core counted (``a`` the lower raw address; both empty: the pairs past
        TUNNELS_MAX), at ``finish()``."""


def core_disabled() -> bool:
    """Whether ``IPOWNER_NO_CORE`` turns the compiled core off (any value but empty or 0)."""
    return os.environ.get(NO_CORE_ENV, "") not in ("", "0")


def core_built() -> bool:
    """Whether the compiled core was built for this installation (and from this source: a core built
    before it was handed the rules takes other arguments, and is left unused)."""
    try:
        from ipowner.capture._core import Core
    except ImportError:
        return False
    return hasattr(Core, "rules")


def core_available() -> bool:
    """Whether captures can be read by the compiled core: built, and not disabled."""
    return not core_disabled() and core_built()


def core_status() -> str:
    """Which capture reader this installation uses, in words."""
    if core_disabled():
        return f"pure Python (the C core is disabled by {NO_CORE_ENV})"
    if core_built():
        return "compiled core"
    try:
        from ipowner.capture import _core  # noqa: F401
    except ImportError:
        return "pure Python (the C core was not built at install)"
    return "pure Python (the C core is out of date: reinstall to rebuild it)"


def core_rules() -> dict[str, object]:
    """The rules of rules.py the C core decides by, in the plain forms it reads (and ``Core.rules()`` gives
    back): numbers and bytes as they are, sets as sorted tuples, tables as sorted tuples of rows."""
    packed: dict[str, object] = {}
    for name in CORE_RULES:
        packed[name] = pack_rule(name, getattr(rules, name))
    return packed


def pack_rule(name: str, value: object) -> object:
    """One rule in the form the C core reads it."""
    if name == "LINK_TYPES":
        assert isinstance(value, Mapping)
        return tuple((lt, int(t.framing), t.header, t.type_at) for lt, t in sorted(value.items()))
    if name == "LOCAL_NETWORKS":
        # each network as its prefix length then its address bytes
        assert isinstance(value, tuple)
        nets = [ipaddress.ip_network(n) for n in value]
        return tuple(bytes([n.prefixlen]) + n.network_address.packed for n in nets)
    if name == "HTTP_METHODS":
        # the core only asks whether a first byte could start a request
        assert isinstance(value, tuple)
        return bytes(sorted({m[0] for m in value}))
    if isinstance(value, Mapping):
        return tuple((k, int(v)) for k, v in sorted(value.items()))
    if isinstance(value, (set, frozenset)):
        return tuple(sorted(value))
    if isinstance(value, IntEnum):
        return int(value)
    return value


def new_core(host: CoreHost, devices: tuple[bytes, ...]) -> Core:
    """A compiled flow table bound to ``host`` for one capture; ``devices`` are raw addresses."""
    from ipowner.capture._core import Core

    return Core(host, devices, core_rules())
