"""Plain record classes: what ipowner knows about addresses and traffic, with provenance.

Records hold data only; readers build them, providers fill them, renderers show them.
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
from ipowner.model.ranges import RangeFact
from ipowner.model.sources import SourceInfo
from ipowner.model.traffic import AppSummary, Destination, DeviceSummary, Hostname, InputInfo, TrafficResult

__all__ = [
    "SCHEMA_LOOKUP",
    "Abuse",
    "AppSummary",
    "AddressRecord",
    "AsnInfo",
    "ChainLink",
    "Destination",
    "DeviceSummary",
    "Holder",
    "Hostname",
    "InputInfo",
    "Location",
    "LookedThrough",
    "Network",
    "RangeFact",
    "Resolution",
    "SourceInfo",
    "Special",
    "TrafficResult",
]
