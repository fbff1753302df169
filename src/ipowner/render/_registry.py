"""One registry of writers, (document kind, format) -> writer, and the one entry point ``render``.

Every writer is called the same way: ``writer(document, out, width=width)``; ``width`` is the line
width for the terminal views and ignored by every other format. A writer that shows more when asked
(the terminal views: full provenance, every hostname) also takes ``verbose=True``, passed only when
``render`` is asked for it. The built-in writers are named by module and imported on first use, so a
command pays only for the format it writes.

Some formats hold one kind of row per table (CSV, TSV): the report's destinations are one table, its
rollups and sources others. ``companions(kind, fmt)`` names the tables written beside the main one
(``{"rollups": writer, "sources": writer, "peers": writer}``); the command line writes them next to
``-o FILE``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO, Literal, Protocol, TextIO

from ipowner.errors import UsageError


class Writer(Protocol):
    """Writes one document in one format to ``out``."""

    def __call__(self, document: Any, out: TextIO, /, *, width: int | None = None) -> None: ...


# How a built-in function is called: with the width (terminal views), without it, or with the
# format as its second argument (the diff module writes every format from one function).
_Call = Literal["width", "plain", "format"]


@dataclass(frozen=True, slots=True)
class _Builtin:
    module: str
    name: str
    call: _Call = "plain"

    def load(self, fmt: str) -> Writer:
        fn: Callable[..., None] = getattr(importlib.import_module(self.module), self.name)
        if self.call == "width":
            return fn  # a terminal view's writer: already a Writer

        def write(document: Any, out: TextIO, /, *, width: int | None = None, verbose: bool = False) -> None:
            if self.call == "format":
                fn(document, fmt, out)
            else:
                fn(document, out)

        return write


_R = "ipowner.render."
_BUILTIN: dict[tuple[str, str], _Builtin] = {
    ("lookup", "table"): _Builtin(_R + "terminal.lookup", "write_terminal_lookup", "width"),
    ("lookup", "json"): _Builtin(_R + "lookup_json", "write_lookup_json"),
    ("lookup", "jsonl"): _Builtin(_R + "lookup_json", "write_lookup_jsonl"),
    ("lookup", "csv"): _Builtin(_R + "lookup_csv", "write_lookup_csv"),
    ("lookup", "tsv"): _Builtin(_R + "lookup_csv", "write_lookup_tsv"),
    ("traffic", "table"): _Builtin(_R + "terminal.traffic", "write_terminal_traffic", "width"),
    ("traffic", "json"): _Builtin(_R + "traffic_json", "write_traffic_json"),
    ("traffic", "jsonl"): _Builtin(_R + "traffic_json", "write_traffic_jsonl"),
    ("traffic", "csv"): _Builtin(_R + "traffic_csv", "write_traffic_csv"),
    ("traffic", "tsv"): _Builtin(_R + "traffic_csv", "write_traffic_tsv"),
    ("traffic", "parquet"): _Builtin(_R + "traffic_parquet", "write_traffic_parquet"),
    ("report", "table"): _Builtin(_R + "terminal.report", "write_terminal_report", "width"),
    ("report", "json"): _Builtin(_R + "report_json", "write_report_json"),
    ("report", "jsonl"): _Builtin(_R + "report_json", "write_report_jsonl"),
    ("report", "csv"): _Builtin(_R + "report_csv", "write_report_csv"),
    ("report", "tsv"): _Builtin(_R + "report_csv", "write_report_tsv"),
    ("report", "markdown"): _Builtin(_R + "markdown", "write_markdown"),
    ("report", "html"): _Builtin(_R + "html", "write_html"),
    ("diff", "table"): _Builtin(_R + "terminal.diff", "write_terminal_diff", "width"),
    **{("diff", fmt): _Builtin(_R + "diff", "write_diff", "format") for fmt in ("json", "jsonl", "csv")},
    ("diff", "tsv"): _Builtin(_R + "diff_tsv", "write_diff_tsv"),
    ("diff", "markdown"): _Builtin(_R + "diff", "write_diff", "format"),
    ("diff", "html"): _Builtin(_R + "diff_html", "write_diff_html"),
    **{("data", fmt): _Builtin(_R + "data", "write_data", "format") for fmt in ("table", "json")},
    **{("cache", fmt): _Builtin(_R + "cache", "write_cache_stats", "format") for fmt in ("table", "json")},
    # an iterable of cache entries, written as they come (the kind is given, never told from the document)
    ("cache-export", "jsonl"): _Builtin(_R + "cache", "write_cache_export"),
    # one AS number's answer (``ipowner lookup AS15169``)
    ("as", "table"): _Builtin(_R + "terminal.asn", "write_terminal_as", "width"),
    ("as", "json"): _Builtin(_R + "as_json", "write_as_json"),
    ("as", "jsonl"): _Builtin(_R + "as_json", "write_as_jsonl"),
}

# Formats written as bytes: ``render`` is given a binary file for them, never a terminal or stdout.
BINARY_FORMATS = frozenset({"parquet"})

# The tables written beside the main one, by (kind, format): name -> writer (``companions``).
_PARTS = {"report": ("rollups", "sources", "peers"), "traffic": ("rollups", "sources")}
_COMPANIONS: dict[tuple[str, str], dict[str, _Builtin]] = {
    (kind, fmt): {part: _Builtin(_R + f"{kind}_csv", f"write_{kind}_{part}_{fmt}") for part in parts}
    for kind, parts in _PARTS.items() for fmt in ("csv", "tsv")
}

# Writers registered at run time, and built-ins once imported.
_WRITERS: dict[tuple[str, str], Writer] = {}
# Formats per kind in the order they were first registered (the order ``--format`` lists them).
_FORMATS: dict[str, list[str]] = {}
for _kind, _fmt in _BUILTIN:
    _FORMATS.setdefault(_kind, []).append(_fmt)

# The document kinds by class name (checked along the document's MRO, ipowner's own classes only), so
# that telling a document's kind imports nothing.
_KIND_OF_CLASS = {"LookupResult": "lookup", "TrafficResult": "traffic", "Report": "report", "Diff": "diff",
                  "DataStatus": "data", "CacheStats": "cache", "AsLookup": "as"}


def register(kind: str, fmt: str, writer: Writer) -> None:
    """Write documents of ``kind`` in format ``fmt`` with ``writer`` (replacing any writer there was)."""
    _WRITERS[(kind, fmt)] = writer
    formats = _FORMATS.setdefault(kind, [])
    if fmt not in formats:
        formats.append(fmt)


def kinds() -> list[str]:
    """Every document kind with at least one writer."""
    return list(_FORMATS)


def formats(kind: str) -> list[str]:
    """The formats documents of ``kind`` can be written in, the terminal table first."""
    return list(_FORMATS.get(kind, ()))


def kind_of(document: Any) -> str:
    """The kind of a document: "lookup", "traffic", "report" or "diff"; ``UsageError`` for anything else."""
    for cls in type(document).__mro__:
        if cls.__module__.startswith("ipowner.") and cls.__name__ in _KIND_OF_CLASS:
            return _KIND_OF_CLASS[cls.__name__]
    raise UsageError(f"cannot render a {type(document).__name__}: not a document ipowner writes")


def writer_for(kind: str, fmt: str) -> Writer:
    """The writer of (``kind``, ``fmt``); ``UsageError`` naming the formats there are when there is none."""
    key = (kind, fmt)
    writer = _WRITERS.get(key)
    if writer is None:
        builtin = _BUILTIN.get(key)
        if builtin is None:
            known = ", ".join(formats(kind)) or "none"
            raise UsageError(f"a {kind} document cannot be written as {fmt!r} (formats: {known})")
        writer = _WRITERS[key] = builtin.load(fmt)
    return writer


def is_binary(fmt: str) -> bool:
    """Whether ``fmt`` is written as bytes (Parquet): to a binary file, never to a terminal or stdout."""
    return fmt in BINARY_FORMATS


def companions(kind: str, fmt: str) -> dict[str, Writer]:
    """The tables a format writes beside the main one, by name (``{"rollups": ..., "sources": ...}`` for a
    report or traffic in CSV or TSV); empty when the format holds the whole document."""
    return {name: b.load(fmt) for name, b in _COMPANIONS.get((kind, fmt), {}).items()}


def render(document: Any, fmt: str, out: TextIO | BinaryIO, *, kind: str | None = None, width: int | None = None,
           verbose: bool = False) -> None:
    """Write ``document`` (a lookup, traffic, report, diff, data or cache document) to ``out`` in format ``fmt``.

    ``kind`` is found from the document when not given. ``width``: the line width of the terminal
    views ("table"); by default the terminal's width when ``out`` is one, else ``COLUMNS`` or 160; the
    views are laid out for 80 columns and up and never crop a value. ``verbose``: the terminal views
    show everything (the full provenance, every hostname and port). Other formats ignore both. A binary
    format (``is_binary``: Parquet) is written to a binary ``out``.
    """
    writer = writer_for(kind or kind_of(document), fmt)
    if verbose:
        writer(document, out, width=width, verbose=True)  # type: ignore[call-arg, arg-type]
    else:
        writer(document, out, width=width)  # type: ignore[arg-type]
