"""Plain record classes: what ipowner knows about addresses and traffic, with provenance.

Records hold data only; readers build them, providers fill them, renderers show them. Every document
the command line writes is one of them (``to_dict``) and reads back into it (``from_json``,
``documents.load_document``); ``kinds`` holds the closed sets of values, ``counts`` the counter block
traffic summaries share, ``schema`` the JSON Schemas generated from these classes.
"""

from ipowner.model.address import (
    SCHEMA_LOOKUP,
    Abuse,
    AddressRecord,
    AsnInfo,
    ChainLink,
    Holder,
    Location,
    LookedThrough,
    Network,
    Resolution,
    Special,
)
from ipowner.model.counts import Counts
from ipowner.model.kinds import (
    ByteKind,
    CacheRow,
    ChainRole,
    Concealment,
    DatabaseOrigin,
    DiffChange,
    DiffLine,
    DiffSection,
    ErrorKind,
    Flag,
    HolderRule,
    HostnameSource,
    Mechanism,
    RdapRequestKind,
    RegistryBasis,
    ReportLine,
    RollupGroup,
    Scope,
    SideOrigin,
    SourceKind,
)
from ipowner.model.ranges import RangeFact
from ipowner.model.sources import SourceInfo
from ipowner.model.traffic import (
    SCHEMA_TRAFFIC,
    AppSummary,
    Destination,
    DeviceSummary,
    Hostname,
    InputInfo,
    TrafficResult,
)

__all__ = [
    "SCHEMA_LOOKUP",
    "SCHEMA_TRAFFIC",
    "Abuse",
    "AddressRecord",
    "AppSummary",
    "AsnInfo",
    "ByteKind",
    "CacheRow",
    "ChainLink",
    "ChainRole",
    "Concealment",
    "Counts",
    "DatabaseOrigin",
    "Destination",
    "DeviceSummary",
    "DiffChange",
    "DiffLine",
    "DiffSection",
    "ErrorKind",
    "Flag",
    "Holder",
    "HolderRule",
    "Hostname",
    "HostnameSource",
    "InputInfo",
    "Location",
    "LookedThrough",
    "Mechanism",
    "Network",
    "RangeFact",
    "RdapRequestKind",
    "RegistryBasis",
    "ReportLine",
    "Resolution",
    "RollupGroup",
    "Scope",
    "SideOrigin",
    "SourceInfo",
    "SourceKind",
    "Special",
    "TrafficResult",
]
