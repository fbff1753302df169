"""ipowner: who holds the servers a device talks to.

The public API (``lookup``, ``enrich``, ``traffic``, ``report``, ``diff_reports``, ``data_status``, the
``cache_*`` functions) does the same work as the command line; every document it returns has ``to_dict``
and reads back with ``from_json`` or ``load_document``/``read_document``. Names are imported on first
use, so a command pays only for the parts it runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ipowner._version import __version__
from ipowner.errors import (
    CaptureError,
    DatabaseError,
    InputError,
    InputNotFoundError,
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
    from ipowner.lookups.lookup import lookup
    from ipowner.model import AddressRecord, Counts, Destination, SourceInfo, TrafficResult
    from ipowner.model.cache import CacheCleared, CacheImported, CacheStats
    from ipowner.model.data import DataStatus
    from ipowner.model.diff import Diff
    from ipowner.model.documents import load_document, load_lines, read_document
    from ipowner.model.lookup import LookupResult, QueryError
    from ipowner.model.report import Report
    from ipowner.providers.housekeeping import (
        cache_clear,
        cache_export,
        cache_import,
        cache_status,
        data_status,
    )
    from ipowner.reports.diff import diff_reports
    from ipowner.reports.report import build_report, report

_LAZY = {
    "Enriched": "ipowner.lookups.enrich", "Enrichment": "ipowner.lookups.enrich", "enrich": "ipowner.lookups.enrich",
    "lookup": "ipowner.lookups.lookup",
    "LookupResult": "ipowner.model.lookup", "QueryError": "ipowner.model.lookup",
    "build_report": "ipowner.reports.report", "report": "ipowner.reports.report",
    "diff_reports": "ipowner.reports.diff",
    "traffic": "ipowner.capture.traffic",
    "data_status": "ipowner.providers.housekeeping", "cache_status": "ipowner.providers.housekeeping",
    "cache_clear": "ipowner.providers.housekeeping", "cache_export": "ipowner.providers.housekeeping",
    "cache_import": "ipowner.providers.housekeeping",
    "AddressRecord": "ipowner.model", "Counts": "ipowner.model", "Destination": "ipowner.model",
    "SourceInfo": "ipowner.model", "TrafficResult": "ipowner.model",
    "Report": "ipowner.model.report", "Diff": "ipowner.model.diff", "DataStatus": "ipowner.model.data",
    "CacheStats": "ipowner.model.cache", "CacheCleared": "ipowner.model.cache",
    "CacheImported": "ipowner.model.cache",
    "load_document": "ipowner.model.documents", "load_lines": "ipowner.model.documents",
    "read_document": "ipowner.model.documents",
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
    "CacheCleared",
    "CacheImported",
    "CacheStats",
    "Counts",
    "DataStatus",
    "Diff",
    "Report",
    "build_report",
    "cache_clear",
    "cache_export",
    "cache_import",
    "cache_status",
    "data_status",
    "diff_reports",
    "load_document",
    "load_lines",
    "read_document",
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
    "InputNotFoundError",
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
