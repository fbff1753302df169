"""Capture rules: every constant and table the frame walkers and the flow engine decide by, in one place.

Two walkers read frames: ``frame.py`` (Python, the readable specification) and the C core (``_core.c``,
the fast one). Neither restates what is here: ``frame.py`` and ``engine.py`` import these names, and the
C core is handed them (``core.core_rules()``) each time a ``Core`` is constructed and hands back what it
holds (``Core.rules()``), which the tests compare with this module. Change a rule here and both walkers
follow; the core refuses a value it could not read frames with safely (an EtherType offset outside its
link header, say). Offsets of fields inside fixed headers (an IPv4 header's protocol byte, a pcap
record's length word) are the walkers' code, not rules.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Final, NamedTuple

# ---------------------------------------------------------------- reading capture files

READ_CHUNK: Final = 1 << 22  # bytes read at a time from a capture
MAX_RECORD: Final = 262144  # the largest record tshark/libpcap accept; a header claiming more is corrupt
MAX_BLOCK: Final = 16 << 20  # a pcapng block larger than this is taken as corruption
PCAPNG_EPB: Final = 6  # pcapng enhanced packet block, the block type the C core walks in a row
# Records that capture nothing (captured length 0), this many in a row: the rest of the file is taken as
# padding or damage (a preallocated or zero-filled file reads as one empty record per 16 bytes) and reading
# stops there with a reason; when no record before them captured anything, the input is refused.
EMPTY_RUN_MAX: Final = 4096

# ---------------------------------------------------------------- link layer


class Framing(IntEnum):
    """How a link type's header leads to the IP header."""

    ETHERNET = 1  # destination, source, EtherType; then VLAN tags, PPPoE or MPLS as below
    RAW = 2  # the IP header first: its version nibble says which
    COOKED = 3  # a fixed header holding an EtherType (Linux "cooked" SLL, SLL2)
    FAMILY = 4  # a 4-byte address family (BSD NULL / loopback), in either byte order
    PPP = 5  # PPP, with or without the HDLC-like address and control bytes (ff 03), then its protocol
    WLAN = 6  # an 802.11 frame: data frames carry LLC/SNAP, then an EtherType
    RADIOTAP = 7  # a radiotap header (its length in bytes 2-3, little-endian), then an 802.11 frame
    NFLOG = 8  # Linux NFLOG: family, version, resource id, then type-length-value records, one of them the packet
    PKTAP = 9  # Apple PKTAP: its header length and the link type of the frame after it, both little-endian


class LinkType(NamedTuple):
    name: str
    framing: Framing
    header: int  # bytes before the IP header (Ethernet: before any tag)
    type_at: int  # offset of the EtherType (Ethernet, cooked); 0 where there is none


# LINKTYPE_* values as written in pcap and pcapng files
LINK_TYPES: Final[dict[int, LinkType]] = {
    0: LinkType("null", Framing.FAMILY, 4, 0),
    1: LinkType("ethernet", Framing.ETHERNET, 14, 12),
    12: LinkType("raw", Framing.RAW, 0, 0),
    14: LinkType("raw", Framing.RAW, 0, 0),
    101: LinkType("raw", Framing.RAW, 0, 0),
    108: LinkType("loop", Framing.FAMILY, 4, 0),
    113: LinkType("linux-sll", Framing.COOKED, 16, 14),
    228: LinkType("ipv4", Framing.RAW, 0, 0),
    229: LinkType("ipv6", Framing.RAW, 0, 0),
    276: LinkType("linux-sll2", Framing.COOKED, 20, 0),
    9: LinkType("ppp", Framing.PPP, 0, 0),
    50: LinkType("ppp-hdlc", Framing.PPP, 0, 0),
    104: LinkType("c-hdlc", Framing.COOKED, 4, 2),  # Cisco HDLC: address, control, EtherType
    105: LinkType("ieee802-11", Framing.WLAN, 0, 0),
    127: LinkType("ieee802-11-radiotap", Framing.RADIOTAP, 8, 0),
    239: LinkType("nflog", Framing.NFLOG, 4, 0),
    149: LinkType("pktap", Framing.PKTAP, 8, 0),  # Apple's own number for PKTAP in the files its tcpdump writes
    258: LinkType("pktap", Framing.PKTAP, 8, 0),
}

# NULL/loopback address families: AF_INET is 2 everywhere; AF_INET6 is 10, 24, 28 or 30 depending on the OS.
# The family is in host order, so the larger of its first and last byte is read.
AF_INET_VALUES: Final = frozenset({2})
AF_INET6_VALUES: Final = frozenset({10, 24, 28, 30})

ETHERNET_BROADCAST: Final = b"\xff" * 6  # a frame sent here counts its destination as broadcast

# EtherTypes
ETHERTYPE_IPV4: Final = 0x0800
ETHERTYPE_IPV6: Final = 0x86DD
VLAN_TAGS: Final = frozenset({0x8100, 0x88A8, 0x9100})  # 802.1Q, 802.1ad (QinQ), the older QinQ tag
VLAN_TAG_LENGTH: Final = 4  # each tag: tag control, then the next EtherType
PPPOE_SESSION: Final = 0x8864
PPPOE_HEADER: Final = 6  # version/type, code, session id, length; then the 2-byte PPP protocol
PPP_IPV4: Final = 0x0021
PPP_IPV6: Final = 0x0057
MPLS: Final = frozenset({0x8847, 0x8848})  # unicast, multicast: labels up to the bottom of the stack, then IP
MPLS_LABEL_LENGTH: Final = 4
CISCO_METADATA: Final = 0x8909  # Cisco MetaData: version, length, option, group tag, then the next EtherType
CISCO_METADATA_HEADER: Final = 8
PPP_ADDRESS_CONTROL: Final = b"\xff\x03"  # the HDLC-like framing PPP may start with (RFC 1662)

# 802.11 (IEEE 802.11-2020 section 9.2): a data frame's header is 24 bytes, 30 with four addresses, 2 more
# with QoS control, 4 more with HT control; then LLC/SNAP and an EtherType.
WLAN_DATA: Final = 2  # frame type of data frames (frame control bits 2-3)
WLAN_HEADER: Final = 24
WLAN_FOUR_ADDRESS: Final = 6  # both to-DS and from-DS set: a fourth address
WLAN_QOS_CONTROL: Final = 2
WLAN_HT_CONTROL: Final = 4
WLAN_PROTECTED: Final = 0x40  # frame control flag: the body is encrypted (not read, counted as such)
LLC_SNAP: Final = b"\xaa\xaa\x03"  # LLC/SNAP header: DSAP, SSAP, control; then an OUI and the EtherType
LLC_SNAP_HEADER: Final = 8
NFLOG_PAYLOAD: Final = 9  # NFULA_PAYLOAD: the record holding the packet, from its IP header on
NFLOG_TLV_ALIGN: Final = 4  # records are padded to this many bytes

# ---------------------------------------------------------------- tunnels


class Tunnel(IntEnum):
    """Tunnels opened: the inner packets are the flows; the outer endpoints are counted as the tunnel's."""

    GRE = 1
    ERSPAN = 2
    VXLAN = 3
    GENEVE = 4
    GTP_U = 5
    IP_IN_IP = 6  # IPv4 or IPv6 directly inside IPv4 or IPv6 (4in4, 6in4, 4in6, 6in6)
    TEREDO = 7
    L2TP = 8


TUNNEL_NAMES: Final[dict[int, str]] = {Tunnel.GRE: "GRE", Tunnel.ERSPAN: "ERSPAN", Tunnel.VXLAN: "VXLAN",
                                       Tunnel.GENEVE: "Geneve", Tunnel.GTP_U: "GTP-U", Tunnel.IP_IN_IP: "IP-in-IP",
                                       Tunnel.TEREDO: "Teredo", Tunnel.L2TP: "L2TP"}
TUNNEL_DEPTH: Final = 4  # tunnels opened inside one another at most; a deeper one stays a flow of its own
TUNNELS_MAX: Final = 256  # tunnel endpoint pairs counted one by one; more are summed under the last
IP_IN_IP: Final = frozenset({4, 41})  # IP protocols carrying an IPv4 (4) or IPv6 (41) packet directly
GRE: Final = 47
GRE_VERSIONS: Final = frozenset({0, 1})  # RFC 2784 GRE, and the enhanced GRE of PPTP (RFC 2637)
GRE_TEB: Final = 0x6558  # transparent Ethernet bridging: an Ethernet frame follows (also Geneve's)
GRE_ERSPAN_II: Final = 0x88BE  # ERSPAN type II (8-byte header), or type I (none) when no sequence number
GRE_ERSPAN_III: Final = 0x22EB  # ERSPAN type III (12-byte header, 8 more with the platform subheader)
GRE_PPP: Final = 0x880B  # a PPP frame (PPTP)
GRE_WLAN: Final = frozenset({0x8200, 0x8210})  # an 802.11 frame (Aruba controllers' access point tunnels)
ERSPAN_II_HEADER: Final = 8
ERSPAN_III_HEADER: Final = 12
ERSPAN_III_SUBHEADER: Final = 8
# UDP tunnels by their server port (either end): VXLAN (RFC 7348), Geneve (RFC 8926), GTP-U (3GPP TS 29.281),
# Teredo (RFC 4380), L2TPv2 data (RFC 2661). A datagram whose payload does not read as the tunnel's header
# stays an ordinary UDP datagram.
TUNNEL_PORTS: Final[dict[int, Tunnel]] = {4789: Tunnel.VXLAN, 6081: Tunnel.GENEVE, 2152: Tunnel.GTP_U,
                                          3544: Tunnel.TEREDO, 1701: Tunnel.L2TP}
VXLAN_HEADER: Final = 8
GENEVE_HEADER: Final = 8
GTP_HEADER: Final = 8
GTP_G_PDU: Final = 0xFF  # the message type of a GTP-U packet carrying a user packet
TEREDO_AUTH: Final = 13  # the authentication indicator's fixed part (RFC 4380 section 5.1.1), without id/value
TEREDO_ORIGIN: Final = 8  # the origin indication
L2TP_VERSION: Final = 2

# PCAPdroid appends the app that sent each packet to its Ethernet frames: magic, uid, 20-byte name.
PCAPDROID_MAGIC: Final = b"\x01\x07\x20\x21"
PCAPDROID_TRAILER: Final = 32  # bytes at the end of the frame
PCAPDROID_MIN_FRAME: Final = 46  # an Ethernet header and a trailer: shorter frames have none

# ---------------------------------------------------------------- network layer


class ExtLength(IntEnum):
    """How an IPv6 extension header's length is read."""

    OCTETS8 = 1  # (Hdr Ext Len + 1) * 8 bytes, the generic format (RFC 8200 4.x)
    FRAGMENT = 2  # 8 bytes; a fragment other than the first ends the walk (RFC 8200 4.5)
    AH = 3  # (Payload Len + 2) * 4 bytes (RFC 4302)


# IANA's "IPv6 Extension Header Types", each with how to step over it. ESP (50) is there too but cannot be
# stepped over (what follows it is encrypted): a flow under ESP is an "esp" flow.
IPV6_EXTENSION_HEADERS: Final[dict[int, ExtLength]] = {
    0: ExtLength.OCTETS8,  # hop-by-hop options
    43: ExtLength.OCTETS8,  # routing
    44: ExtLength.FRAGMENT,  # fragment
    51: ExtLength.AH,  # authentication header
    60: ExtLength.OCTETS8,  # destination options
    135: ExtLength.OCTETS8,  # mobility
    139: ExtLength.OCTETS8,  # host identity protocol
    140: ExtLength.OCTETS8,  # shim6
    253: ExtLength.OCTETS8,  # experimentation and testing (RFC 3692, RFC 4727)
    254: ExtLength.OCTETS8,  # experimentation and testing
}
NO_NEXT_HEADER: Final = 59  # what a walk cut short by the capture ends with: no transport header is read

# IP protocol numbers
ICMP: Final = 1
TCP: Final = 6
UDP: Final = 17
ICMPV6: Final = 58
SCTP: Final = 132
PROTO_NAMES: Final[dict[int, str]] = {1: "icmp", 2: "igmp", 6: "tcp", 17: "udp", 47: "gre", 50: "esp", 51: "ah",
                                      58: "icmpv6", 89: "ospf", 132: "sctp"}
PORTED_PROTOCOLS: Final = frozenset({TCP, UDP, SCTP})  # a destination's port label names the port

# ---------------------------------------------------------------- who opened a flow

TCP_FIN: Final = 0x01
TCP_SYN: Final = 0x02
TCP_RST: Final = 0x04
TCP_ACK: Final = 0x10
# ICMP echo replies (ICMP type 0, ICMPv6 type 129): their sender answers, so the other side opened the flow
ICMP_REPLIES: Final = frozenset({0, 129})
# Server ports that make the sender of a first packet the client even when no SYN was captured.
SERVER_PORTS: Final = frozenset({53, 67, 80, 88, 110, 123, 137, 138, 143, 161, 389, 443, 465, 514, 587, 853, 993,
                                 995, 1194, 1900, 3478, 5060, 5228, 5353, 5355, 8080, 8443})
EPHEMERAL_FROM: Final = 1024  # a first packet from a port below this to one at or above it came from the server
DYNAMIC_FROM: Final = 49152  # IANA's dynamic ports: with both ports >= EPHEMERAL_FROM, the side in here is the client
# ICMP errors (ICMP destination unreachable, source quench, redirect, time exceeded, parameter problem; ICMPv6
# destination unreachable, packet too big, time exceeded, parameter problem): their receiver sent what they
# answer, so the error never makes its sender the client
ICMP_ERRORS: Final = frozenset({3, 4, 5, 11, 12})
# ICMP echo request and ICMPv6 echo request, router and neighbour solicitation: their sender is the client
ICMP_REQUESTS: Final = frozenset({8, 128, 133, 135})
# Addresses seen as the client of a flow the handshake, an ICMP request or reply or a server port decided (the
# DNS asker, the ClientHello sender...): when nothing that strong decides a later flow, the side seen so is the
# client. Kept for this many addresses (once full, no more are added).
KNOWN_CLIENTS_MAX: Final = 4096
ICMPV6_ERRORS: Final = frozenset({1, 2, 3, 4})
# Networks only the device's side of a flow sits in (RFC 1918 private, RFC 6598 shared address space behind a
# carrier NAT, link-local, unique local): between one of them and an address outside them, the inside one is the
# client when neither the handshake nor a server port says otherwise.
LOCAL_NETWORKS: Final = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16",
                         "fc00::/7", "fe80::/10")

# ---------------------------------------------------------------- what payloads are looked at

DNS_PORT: Final = 53  # every datagram of a flow on this port may carry answers
DOT_PORT: Final = 853  # DNS over TLS: the server's lookups are hidden
INSPECT_ALWAYS: Final = -1  # the inspection budget of a DNS flow: every payload, in both directions
TCP_CLIENT_INSPECT: Final = 8  # client data segments looked at for a ClientHello or HTTP request head
TCP_SERVER_INSPECT: Final = 16  # server data segments looked at for a TLS <= 1.2 certificate
UDP_CLIENT_INSPECT: Final = 4  # client datagrams looked at for a QUIC Initial
STREAM_LIMIT: Final = 32768  # bytes of a TCP stream kept while looking for a handshake
STREAM_PENDING: Final = 32  # out-of-order segments of a stream kept for later

# What the walkers recognise before a payload goes to a parser (protocols/: tls, http, quic)
TLS_CONTENT_TYPES: Final = frozenset({20, 21, 22, 23})  # change cipher spec, alert, handshake, application data
TLS_HANDSHAKE: Final = 22
TLS_MAJOR: Final = 3  # the first byte of every record version, SSL 3.0 to TLS 1.3
TLS_CLIENT_HELLO: Final = 1
TLS_SERVER_HELLO: Final = 2
TLS_CERTIFICATE: Final = 11
# server key exchange, certificate request, server hello done: a flight that shows them has no certificate
TLS_AFTER_CERTIFICATE: Final = frozenset({12, 13, 14})
TLS_EXT_SERVER_NAME: Final = 0x0000
TLS_EXT_ALPN: Final = 0x0010
TLS_EXT_SUPPORTED_VERSIONS: Final = 43
TLS_EXT_ECH: Final = 0xFE0D  # encrypted_client_hello: the server name is the outer, public one
TLS_EXT_ESNI: Final = 0xFFCE  # its draft predecessor
TLS_SNI_HOST_NAME: Final = 0  # the server_name entry type of a host name
TLS_ECH_OUTER: Final = 0  # ECH type of an outer ClientHello (the inner one never appears on the wire)
TLS_13: Final = 0x0304  # the supported version a TLS 1.3 ServerHello names: its certificate is encrypted
HTTP_METHODS: Final = (b"GET ", b"POST ", b"HEAD ", b"PUT ", b"DELETE ", b"OPTIONS ", b"PATCH ", b"CONNECT ",
                       b"TRACE ")
QUIC_LONG_HEADER: Final = 0x80  # the first bit of a long-header packet, as every Initial is
QUIC_MIN_INITIAL: Final = 7  # first byte, version, DCID length: shorter is not an Initial
GQUIC_MIN_HELLO: Final = 30  # a Google QUIC client hello is at least this long
GQUIC_MARK: Final = b"Q0"  # its version (Q0xx), within the first GQUIC_MARK_WITHIN bytes
GQUIC_MARK_WITHIN: Final = 16

# QUIC versions whose Initial packets are decrypted. Initial salts from RFC 9001 section 5.2, RFC 9369 section
# 3.3.1 and draft-ietf-quic-tls (drafts 23-28 share one, 29-32 another, 33-34 use the RFC's), as Wireshark,
# lsquic and nDPI list them; Facebook's mvfst versions use the salt of the draft they follow (0xfaceb001:
# draft 22; 0xfaceb002, 0xfaceb00e: draft 27); Google's T050/T051 carry a TLS ClientHello in IETF-style
# Initials under salts of their own.
QUIC_INITIAL_SALTS: Final = {
    "draft-22": bytes.fromhex("7fbcdb0e7c66bbe9193a96cd21519ebd7a02644a"),
    "draft-23": bytes.fromhex("c3eef712c72ebb5a11a7d2432bb46365bef9f502"),
    "draft-29": bytes.fromhex("afbfec289993d24c9e9786f19c6111e04390a899"),
    "v1": bytes.fromhex("38762cf7f55934b34d179ae6a4c80cadccbb7f0a"),
    "v2": bytes.fromhex("0dede3def700a6db819381be6e269dcbf9bd2ed9"),
    "t050": bytes.fromhex("7ff579e5acd072915580304c43a2367c60488310"),
    "t051": bytes.fromhex("7a4edef4e7ccee5fa4506c19124fc8ccda6e033d"),
}
# version -> (its salt above, its HKDF label prefix, the long-header type bits of its Initial packets)
QUIC_VERSIONS: Final[dict[int, tuple[str, bytes, int]]] = {
    0x00000001: ("v1", b"quic ", 0),
    0x6B3343CF: ("v2", b"quicv2 ", 1),
    **{0xFF000000 + d: ("draft-23", b"quic ", 0) for d in range(23, 29)},
    **{0xFF000000 + d: ("draft-29", b"quic ", 0) for d in range(29, 33)},
    **{0xFF000000 + d: ("v1", b"quic ", 0) for d in (33, 34)},
    0xFACEB001: ("draft-22", b"quic ", 0),
    0xFACEB002: ("draft-23", b"quic ", 0),
    0xFACEB00E: ("draft-23", b"quic ", 0),
    0x54303530: ("t050", b"quic ", 0),
    0x54303531: ("t051", b"quic ", 0),
}
# Versions of the form 0x?a?a?a?a are reserved to exercise version negotiation (RFC 9000 section 15): QUIC
# still, with nothing to decrypt; the client's next datagrams are looked at.
QUIC_GREASE_MASK: Final = 0x0F0F0F0F
QUIC_GREASE: Final = 0x0A0A0A0A

# ---------------------------------------------------------------- concealment

# Names that serve DNS over HTTPS: a ClientHello naming one of them hides the real lookups.
DOH_NAMES: Final = frozenset(
    {
        "cloudflare-dns.com",
        "mozilla.cloudflare-dns.com",
        "chrome.cloudflare-dns.com",
        "1dot1dot1dot1.cloudflare-dns.com",
        "security.cloudflare-dns.com",
        "family.cloudflare-dns.com",
        "one.one.one.one",
        "dns.google",
        "dns.google.com",
        "dns64.dns.google",
        "dns.quad9.net",
        "dns9.quad9.net",
        "dns10.quad9.net",
        "dns11.quad9.net",
        "doh.opendns.com",
        "doh.familyshield.opendns.com",
        "doh.cleanbrowsing.org",
        "dns.adguard.com",
        "dns.adguard-dns.com",
        "dns.nextdns.io",
        "firefox.dns.nextdns.io",
        "doh.dns.sb",
        "dns.alidns.com",
        "doh.pub",
        "dns.pub",
        "doh.360.cn",
        "dns.twnic.tw",
        "doh.mullvad.net",
    }
)

# ---------------------------------------------------------------- the flow table

IDLE_TIMEOUT: Final = 300.0  # seconds of capture time without a packet before a flow is folded
FINISHED_GRACE: Final = 10.0  # after FIN/RST, wait this long for stragglers before folding
SWEEP_MASK: Final = (1 << 16) - 1  # the flow table is swept every 65536 frames
FULL_SWEEP_EVERY: Final = 16  # sweeps between scans of every live flow for idleness (others: finished ones)
DEFAULT_BUCKET: Final = 60.0  # seconds per timeline bucket unless the caller chooses
# Packet times a calendar date can hold (1970-01-01 to 9999-12-31 UTC); a record stamped outside is damaged
# or hostile, and its time is unknown (its bytes still count).
TIME_FIRST: Final = 0.0
TIME_LAST: Final = 253402300799.0

# Numbers a log row may give (Zeek, PCAPdroid, generic CSV): a count outside 0..LOG_COUNT_MAX (2^50, a
# pebibyte or 10^15 packets on one connection) or a port outside 0..PORT_MAX is damaged or hostile: it is
# read as unknown (count 0, no port) and the input is marked partial.
LOG_COUNT_MAX: Final = 1 << 50
PORT_MAX: Final = 65535

# ---------------------------------------------------------------- the memory budget

# Memory follows destinations: every (device, destination, app) pair keeps its exact counts, ports and
# times whatever its number. Past these budgets the rest is summarised or spilled, with one warning in the
# document and on stderr (IPOWNER_CAPTURE_BUDGET overrides them: "timeline=N,names=N,named=N"):
# - a per-destination timeline for the first TIMELINE_PAIRS_MAX pairs; the later pairs' bytes are in their
#   totals only (summarised);
# - NAMES_PER_ADDRESS_MAX names per address from each source (dns, sni, cert...); more are counted, not kept
#   (summarised), so a flood of one kind never crowds out another;
# - the names of NAMED_ADDRESSES_MAX addresses in memory; past it the oldest half is spilled to a temporary
#   file (capture/spill.py) and read back for the addresses that turn out to be destinations, so the names
#   DNS gave for addresses never contacted cost disk, not memory.
class Budget(NamedTuple):
    timeline: int = 1 << 17  # TIMELINE_PAIRS_MAX
    names: int = 256  # NAMES_PER_ADDRESS_MAX
    named: int = 1 << 16  # NAMED_ADDRESSES_MAX


TIMELINE_PAIRS_MAX: Final = Budget().timeline
NAMES_PER_ADDRESS_MAX: Final = Budget().names
NAMED_ADDRESSES_MAX: Final = Budget().named
BUDGET_ENV: Final = "IPOWNER_CAPTURE_BUDGET"
NAMED_SEEN_MAX: Final = 1 << 16  # names already recorded (a cache of add_name's repeats), cleared when more

# Bounds on what the engine remembers (memory follows destinations, not packets)
ADDRESS_TEXTS_MAX: Final = 1 << 20  # raw address -> text, cleared when larger
FRAGMENTED_DATAGRAMS_MAX: Final = 1024  # UDP datagrams being reassembled, cleared when more
FRAGMENT_OWNERS_MAX: Final = 4096  # datagram -> flow of its first fragment: pruned past this at sweeps...
FRAGMENT_OWNERS_KEEP: Final = 2048  # ...down to the newest this many
DNS_SEEN_MAX: Final = 8192  # DNS answers (all but the id) already read, cleared when more
HELLOS_SEEN_MAX: Final = 1 << 16  # ClientHellos already recorded from the C core, cleared when more
