"""ipowner: who holds the servers a device talks to.

The public API (``lookup``, ``enrich``, ``traffic``, ``report``) does the same work as the command line.
Names are imported on first use, so a command pays only for the parts it runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from ipowner.capture.traffic import traffic
    from ipowner.lookups.enrich import Enriched, Enrichment, enrich
    from ipowner.lookups.lookup import LookupResult, QueryError, lookup
    from ipowner.model import AddressRecord, Destination, SourceInfo, TrafficResult
    from ipowner.model.report import Report
    from ipowner.reports.report import build_report, report

_LAZY = {
    "Enriched": "ipowner.lookups.enrich", "Enrichment": "ipowner.lookups.enrich", "enrich": "ipowner.lookups.enrich",
    "LookupResult": "ipowner.lookups.lookup", "QueryError": "ipowner.lookups.lookup", "lookup": "ipowner.lookups.lookup",
    "build_report": "ipowner.reports.report", "report": "ipowner.reports.report",
    "traffic": "ipowner.capture.traffic",
    "AddressRecord": "ipowner.model", "Destination": "ipowner.model", "SourceInfo": "ipowner.model",
    "TrafficResult": "ipowner.model",
    "Report": "ipowner.model.report",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ipowner' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


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
