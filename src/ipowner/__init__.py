"""ipowner: who holds the servers a device talks to.

The public API (``lookup``, ``enrich``, ``traffic``, ``report``) does the same work as the command line.
"""

from ipowner._enrich import Enriched, Enrichment, enrich
from ipowner._lookup import LookupResult, QueryError, lookup
from ipowner._report import build_report, report
from ipowner._traffic import traffic
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
from ipowner.model.report import Report

__all__ = [
    "__version__",
    "Report",
    "build_report",
    "report",
    "lookup",
    "enrich",
    "Enriched",
    "Enrichment",
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
    "traffic",
]
