"""The data sources of a lookup or a report, with their dates, written into an ``--evidence`` folder.

The RDAP provider keeps each raw registry answer there (``responses/``, ``responses.jsonl``,
``claims.json``); ``sources.json`` adds every other source the answers came from (databases with
their build dates, the special-purpose registry, the shipped tables) and, for a report, each source's
age against the capture, so the folder alone says what the report rests on and how old it was.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ipowner.errors import UsageError
from ipowner.model import SourceInfo
from ipowner.model.report import DataSourceNote
from ipowner.model.serialize import iso, to_plain

SOURCES_FILE = "sources.json"


def write_sources_json(directory: str | Path, sources: Iterable[SourceInfo | DataSourceNote], *,
                       generated: datetime | None = None, name: str = SOURCES_FILE) -> Path:
    """Write ``sources.json`` (``{"generated", "sources": [{id, kind, name, date, path, licence, credit,
    age_days, warning}]}``) into ``directory``; returns its path."""
    rows: list[dict[str, Any]] = []
    for s in sources:
        if isinstance(s, DataSourceNote):
            rows.append({**to_plain(s.source), "age_days": s.age_days, "warning": s.warning})
        else:
            rows.append({**to_plain(s), "age_days": None, "warning": None})
    doc = {"generated": iso(generated or datetime.now(UTC)), "sources": rows}
    path = Path(directory) / name
    try:
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=True) + "\n", encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: cannot write evidence here ({exc.strerror or exc})") from None
    return path
