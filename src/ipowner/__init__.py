"""ipowner: who holds the servers a device talks to.

The public API (``lookup``, ``traffic``, ``report``) does the same work as the command line.
"""

from ipowner._lookup import LookupResult, QueryError, lookup
from ipowner._version import __version__
from ipowner.errors import (
    CaptureError,
    DatabaseError,
    InputError,
    InvalidAddressError,
    IpownerError,
    OfflineError,
    RdapError,
    ResolutionError,
    UsageError,
)
from ipowner.exitcodes import ExitCode
from ipowner.model import AddressRecord, Destination, SourceInfo, TrafficResult

__all__ = [
    "__version__",
    "lookup",
    "LookupResult",
    "QueryError",
    "AddressRecord",
    "CaptureError",
    "DatabaseError",
    "Destination",
    "ExitCode",
    "InputError",
    "InvalidAddressError",
    "IpownerError",
    "OfflineError",
    "RdapError",
    "ResolutionError",
    "SourceInfo",
    "TrafficResult",
    "UsageError",
]
