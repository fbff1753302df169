"""Data age: how far each source's date is from the capture's, and a warning when too far.

A registry answer or a database describes its own date; far from the capture's date it describes
another time than the traffic's. Fixed tables (the cloud table, the Public Suffix List) do not warn.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC

from ipowner.model import SourceInfo
from ipowner.model.report import DataSourceNote

# Data more than this far from the capture's date describes another time than the traffic's.
STALE_DAYS = 90.0
# Kinds of source whose answers change over time (registries, databases, DNS); fixed tables do not warn.
DATED_KINDS = frozenset({"mmdb", "rdap", "cache", "ranges", "resolver"})


def age_text(days: float) -> str:
    """A span of days as people say it: "5 days", "7 months", "9.6 years" (the sign is dropped)."""
    d = abs(days)
    if d < 1:
        return "less than a day"
    if d < 60:
        n = int(d)
        return f"{n} day{'s' if n != 1 else ''}"
    if d < 730:
        return f"{round(d / 30.44)} months"
    return f"{d / 365.25:.1f} years"


def age_note(days: float) -> str:
    """ "9.6 years after" / "3 months before" (the capture)."""
    return f"{age_text(days)} {'after' if days > 0 else 'before'}"


def age_notes(sources: Iterable[SourceInfo], capture_mid: float | None) -> list[DataSourceNote]:
    """One note per source (by id): its age in days from the capture's middle, and a warning when stale."""
    notes = []
    for s in sorted(sources, key=lambda s: s.id):
        age = None
        warning = None
        if s.date is not None and capture_mid is not None:
            dt = s.date if s.date.tzinfo else s.date.replace(tzinfo=UTC)
            age = round((dt.timestamp() - capture_mid) / 86400.0, 1)
            if abs(age) > STALE_DAYS and s.kind in DATED_KINDS:
                warning = (
                    f"{s.name} is dated {age_note(age)} the capture: "
                    "its answers describe that date, not the traffic's"
                )
        notes.append(DataSourceNote(source=s, age_days=age, warning=warning))
    return notes


def stale_summary(notes: list[DataSourceNote]) -> list[str]:
    """One warning naming every source far from the capture's date (each note keeps its own)."""
    parts = [
        f"{n.source.id} ({age_note(n.age_days)})"
        for n in notes
        if n.warning and n.age_days is not None
    ]
    if not parts:
        return []
    return ["data far from the capture's date describes its own date, not the traffic's: " + "; ".join(parts)]
