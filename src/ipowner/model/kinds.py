"""Every closed set of values the documents carry, as string enums.

A ``StrEnum`` member is a ``str``: it compares, hashes and serialises as its value, so code and JSON that
hold the plain strings keep working. Adding, removing or renaming a value of one of these sets changes
the documents that carry it, and so their schema version (docs/schema.md).
"""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    """Where a destination sits, from the device's point of view."""

    INTERNET = "internet"
    LAN = "lan"  # private, loopback, link-local, unique-local, benchmarking, unspecified
    CGNAT = "cgnat"  # shared address space behind a carrier NAT (100.64.0.0/10)
    MULTICAST = "multicast"
    BROADCAST = "broadcast"
    RESERVED = "reserved"  # reserved or unallocated space, and blocks IANA says are not globally reachable
    DOCUMENTATION = "documentation"  # the documentation ranges: never on a real network


class ByteKind(StrEnum):
    """What the ``bytes_*`` counts of a traffic result measure."""

    FRAME = "frame"  # on-the-wire frame lengths, as captured (captures only)
    IP = "ip"  # IP-level counts: logs, and captures mixed with logs (frame sizes are not in logs)
    NONE = "none"  # no input carried byte counts (address lists)


class SourceKind(StrEnum):
    """What kind of data source a ``SourceInfo`` is."""

    IANA = "iana"
    MMDB = "mmdb"
    RDAP = "rdap"
    RESOLVER = "resolver"
    CACHE = "cache"
    TABLE = "table"  # a table shipped with ipowner or a library (cloud providers, Public Suffix List)
    RANGES = "ranges"  # a provider's published range file given with --cloud-ranges


class HostnameSource(StrEnum):
    """Where a hostname of a destination was seen."""

    DNS = "dns"  # a DNS answer in the capture
    SNI = "sni"  # a TLS ClientHello's server name
    QUIC = "quic"  # a QUIC Initial's ClientHello
    HTTP = "http"  # an HTTP Host header
    CERT = "cert"  # a name in the server's certificate
    ZEEK_DNS = "zeek-dns"
    ZEEK_SSL = "zeek-ssl"
    ZEEK_QUIC = "zeek-quic"
    ZEEK_HTTP = "zeek-http"
    CSV = "csv"  # the hostname column of a generic CSV
    PCAPDROID = "pcapdroid"  # PCAPdroid's Info column


class Concealment(StrEnum):
    """Why a hostname may hide the real destination."""

    ECH_OUTER = "ech-outer"  # the outer name of an Encrypted ClientHello
    DOH = "doh"  # a DNS-over-HTTPS server: the names it resolves are not seen
    DOT = "dot"  # DNS over TLS (port 853)


class Mechanism(StrEnum):
    """How an IPv6 address carries an IPv4 one."""

    IPV4_MAPPED = "ipv4-mapped"
    NAT64 = "nat64"
    NAT64_LOCAL = "nat64-local"
    SIX_TO_FOUR = "6to4"
    TEREDO = "teredo"


class ChainRole(StrEnum):
    """One link of the registry chain."""

    IANA = "iana"
    RIR = "rir"
    NIR = "nir"
    HOLDER = "holder"
    SUB_ASSIGNMENT = "sub-assignment"


class HolderRule(StrEnum):
    """The evidence rule that named a holder."""

    REGISTRANT = "registrant"  # the registrant organisation of the network object
    ORG_HANDLE = "org-handle"  # an organisation given by handle
    DESCRIPTION = "description"  # free text of the record (inferred)
    NETNAME = "netname"  # the network's name (inferred)
    RANGE_FILE = "range-file"  # the provider's own published range file lists the prefix


class ErrorKind(StrEnum):
    """Why a lookup input or data source could not be answered."""

    INVALID_ADDRESS = "invalid-address"
    RESOLUTION = "resolution"
    OFFLINE = "offline"
    DATABASE = "database"
    PROVIDER = "provider"


class RdapRequestKind(StrEnum):
    """What an RDAP request asked for (run statistics, cached objects, evidence)."""

    IP_NETWORK = "ip network"
    ENTITY = "entity"
    AUTNUM = "autnum"
    NIR = "nir"
    REFERRAL = "referral"
    PARENT = "parent"
    SEARCH = "search"  # an rdap-down child search
    BOOTSTRAP = "bootstrap"


class RegistryBasis(StrEnum):
    """How a report knows the registry of a destination."""

    REGISTRY_DATA = "registry data"  # the RDAP chain or the network object
    DELEGATION_STATISTICS = "delegation statistics"  # the registry's published delegation file, offline
    IANA_TABLE = "IANA /8 table"  # IPv4 only, offline: no delegation file lists the block
    RDAP_BOOTSTRAP = "IANA RDAP bootstrap"  # IPv6 and AS numbers, offline: no delegation file lists them


class Flag(StrEnum):
    """Disagreements and gaps a judgement shows (policy files and scripts match on them)."""

    HOLDER_UNKNOWN = "holder-unknown"
    HOLDER_INFERRED = "holder-inferred"
    LOCATION_UNKNOWN = "location-unknown"
    HOLDER_ABROAD = "holder-country-differs-from-location"
    REGISTERED_ABROAD = "registered-country-differs-from-location"


class RollupGroup(StrEnum):
    """The groupings of a report's rollups, in the order reports list them."""

    LOCATION = "location"
    HOLDER_COUNTRY = "holder_country"
    HOLDER = "holder"
    ASN = "asn"
    REGISTRY = "registry"
    DOMAIN = "domain"
    DEVICE = "device"
    APP = "app"


class DatabaseOrigin(StrEnum):
    """How a location/AS database came to be used."""

    GIVEN = "given"  # --mmdb
    DISCOVERED = "discovered"  # $IPOWNER_MMDB_PATH, the data folder, the system GeoIP folders
    EMBEDDED = "embedded"  # shipped with ipowner


class SideOrigin(StrEnum):
    """Where one side of a diff comes from."""

    SAVED = "saved report"  # a saved JSON report: the answers of its day
    LOOKED_UP = "looked up now"  # a capture or log, looked up at diff time
    UNSTATED = ""  # a report document handed to ``diff_reports`` without saying where it came from


class ReportLine(StrEnum):
    """The ``kind`` of one line of a report's JSON Lines form."""

    PROVENANCE = "provenance"
    DESTINATION = "destination"
    ROLLUP = "rollup"
    POLICY = "policy"


class DiffLine(StrEnum):
    """The ``kind`` of one line of a diff's JSON Lines form."""

    SIDE = "side"
    CHANGE = "change"


class DiffChange(StrEnum):
    """The ``change`` column of a diff row."""

    ADDED = "added"
    REMOVED = "removed"
    ANSWER_CHANGED = "answer changed"  # same address, different location, holder, AS or registry
    BYTES = "bytes"  # bytes per jurisdiction moved


class DiffSection(StrEnum):
    """The ``section`` column of a diff row."""

    DESTINATION = "destination"
    HOSTNAME = "hostname"
    DOMAIN = "domain"
    LOCATION = "location"
    HOLDER_COUNTRY = "holder_country"
    HOLDER = "holder"
    ASN = "asn"
    BYTES_BY_LOCATION = "bytes by location"
    BYTES_BY_HOLDER_COUNTRY = "bytes by holder_country"


class CacheRow(StrEnum):
    """The ``type`` of one line of ``ipowner cache export``."""

    ANSWER = "answer"
    OBJECT = "object"


__all__ = [
    "ByteKind",
    "CacheRow",
    "ChainRole",
    "Concealment",
    "DatabaseOrigin",
    "DiffChange",
    "DiffLine",
    "DiffSection",
    "ErrorKind",
    "Flag",
    "HolderRule",
    "HostnameSource",
    "Mechanism",
    "RdapRequestKind",
    "RegistryBasis",
    "ReportLine",
    "RollupGroup",
    "Scope",
    "SideOrigin",
    "SourceKind",
]
