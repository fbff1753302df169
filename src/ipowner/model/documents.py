"""Every document ipowner writes, by its ``schema`` name, and one reader for all of them.

``load_document`` turns a parsed JSON document into its typed model, ``load_lines`` does the same for
a JSON Lines form, ``read_document`` does either from a file. Each accepts the schema versions the
model still reads (docs/schema.md: a version goes up when keys or a closed set of values change).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ipowner.errors import DocumentError, InputNotFoundError
from ipowner.model.address import SCHEMA_LOOKUP, SCHEMA_LOOKUPS_READ
from ipowner.model.asn import SCHEMA_AS, AsLookup
from ipowner.model.cache import SCHEMA_CACHE, SCHEMA_CACHE_READ, CacheExport, CacheStats
from ipowner.model.data import SCHEMA_DATA, SCHEMA_DATAS_READ, DataStatus
from ipowner.model.diff import SCHEMA_DIFF, SCHEMA_DIFF_READ, Diff, DiffLines
from ipowner.model.lookup import LookupResult
from ipowner.model.report import SCHEMA_REPORT, SCHEMA_REPORTS_READ, Report
from ipowner.model.traffic import SCHEMA_TRAFFIC, SCHEMA_TRAFFIC_READ, TrafficResult

Document = LookupResult | TrafficResult | Report | Diff | DataStatus | CacheStats | AsLookup
Lines = LookupResult | TrafficResult | Report | DiffLines | CacheExport


@dataclass(frozen=True, slots=True)
class DocumentKind:
    """One kind of document: its current schema name, the names still read, its model classes."""

    name: str  # "lookup", "traffic", ...
    schema: str  # the version written now
    reads: tuple[str, ...]  # every version read
    document: type | None  # the model of the JSON document (None: JSON Lines only)
    lines: type | None  # the model of the JSON Lines form (None: no JSON Lines form)
    commands: tuple[str, ...]  # the commands that write it


KINDS: tuple[DocumentKind, ...] = (
    DocumentKind("lookup", SCHEMA_LOOKUP, SCHEMA_LOOKUPS_READ, LookupResult, LookupResult,
                 ("lookup --format json", "lookup --format jsonl")),
    DocumentKind("traffic", SCHEMA_TRAFFIC, SCHEMA_TRAFFIC_READ, TrafficResult, TrafficResult,
                 ("traffic --format json", "traffic --format jsonl")),
    DocumentKind("report", SCHEMA_REPORT, SCHEMA_REPORTS_READ, Report, Report,
                 ("report --format json", "report --format jsonl")),
    DocumentKind("diff", SCHEMA_DIFF, SCHEMA_DIFF_READ, Diff, DiffLines, ("diff --format json", "diff --format jsonl")),
    DocumentKind("as", SCHEMA_AS, (SCHEMA_AS,), AsLookup, None, ("lookup --format json (one AS number: AS15169)",)),
    DocumentKind("data", SCHEMA_DATA, SCHEMA_DATAS_READ, DataStatus, None, ("data --format json",)),
    DocumentKind("cache", SCHEMA_CACHE, SCHEMA_CACHE_READ, CacheStats, CacheExport,
                 ("cache stats --format json", "cache export")),
)


def kind_of(schema: Any) -> DocumentKind:
    """The kind of document a ``schema`` value names; ``DocumentError`` for one ipowner does not read."""
    for kind in KINDS:
        if schema in kind.reads:
            return kind
    known = next((k for k in KINDS if isinstance(schema, str) and schema.startswith(f"ipowner.{k.name}/")), None)
    if known is not None:
        raise DocumentError(str(schema), f"{known.name} schema {schema} is not supported "
                                         f"(this version reads {', '.join(known.reads)})")
    raise DocumentError(str(schema), "not an ipowner document")


def load_document(doc: Mapping[str, Any]) -> Document:
    """The typed model of one JSON document, chosen by its ``schema``."""
    if not isinstance(doc, Mapping):
        raise DocumentError("document", "not a JSON object")
    kind = kind_of(doc.get("schema"))
    if kind.document is None:
        raise DocumentError(str(doc.get("schema")), "written as JSON Lines only")
    result: Document = kind.document.from_json(doc)  # type: ignore[attr-defined]
    return result


def load_lines(lines: Iterable[Mapping[str, Any]]) -> Lines:
    """The typed model of a JSON Lines output, chosen by the first line's ``schema``."""
    rows = list(lines)
    if not rows:
        raise DocumentError("lines", "no lines")
    kind = kind_of(rows[0].get("schema") if isinstance(rows[0], Mapping) else None)
    if kind.lines is None:
        raise DocumentError(kind.schema, "has no JSON Lines form")
    result: Lines = kind.lines.from_lines(rows)  # type: ignore[attr-defined]
    return result


def read_document(path: str | Path) -> Document | Lines:
    """A saved ipowner document (JSON or JSON Lines) from a file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputNotFoundError(path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DocumentError(str(path), f"cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    try:
        return load_document(json.loads(text))
    except json.JSONDecodeError:
        pass
    except DocumentError as exc:
        raise DocumentError(str(path), exc.reason) from None
    try:
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    except json.JSONDecodeError as exc:
        raise DocumentError(str(path), f"neither JSON nor JSON Lines ({exc})") from None
    try:
        return load_lines(rows)
    except DocumentError as exc:
        raise DocumentError(str(path), exc.reason) from None


__all__ = ["KINDS", "Document", "DocumentKind", "Lines", "kind_of", "load_document", "load_lines", "read_document"]
