"""Compare two reports: what a device talks to before and after (an update, a policy change).

Each side is a capture, a log or a saved JSON report. A saved report keeps the answers of its day;
a capture or log is looked up now, so re-reading an old capture gives today's registry answers.
The comparison works on typed ``Report`` objects; a saved report is read back with ``Report.from_json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ipowner.errors import DocumentError, InputError
from ipowner.model.diff import (
    AnswerChange,
    ByteChange,
    ByteChanges,
    DestinationChanges,
    DestinationSummary,
    Diff,
    DiffSide,
    InputRef,
    JurisdictionChanges,
    SetChange,
)
from ipowner.model.kinds import RollupGroup, SideOrigin
from ipowner.model.report import SCHEMA_REPORT_READ, DestinationReport, Report, RollupRow

# The answers whose change for the same address a diff reports.
ANSWER_FIELDS = ("location_country", "holder", "holder_country", "asn", "registry", "nir")


def read_saved_report(path: str | Path) -> Report | None:
    """The report in ``path`` if it is a saved ipowner JSON report, else None (a capture or a log).

    Raises ``InputError`` for a file that cannot be read, and for a report of a schema version this
    version does not read or one that is not a whole report.
    """
    p = Path(path)
    try:
        with p.open("rb") as fh:
            head = fh.read(64).lstrip()
    except OSError as exc:
        raise InputError(str(path), f"cannot read ({exc.strerror or exc})") from None
    if not head.startswith(b"{"):
        return None
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(doc, dict) or not str(doc.get("schema", "")).startswith("ipowner.report/"):
        return None
    if doc["schema"] not in SCHEMA_REPORT_READ:
        raise InputError(str(path), f"report schema {doc['schema']} is not supported (expected {Report.SCHEMA})")
    if not isinstance(doc.get("destinations"), list):
        raise InputError(str(path), "saved report has no destinations list")
    try:
        return Report.from_json(doc)
    except DocumentError as exc:
        raise InputError(str(path), f"saved report: {exc}") from None


def load_side(path: str | Path, make_report: Callable[[str], Report]) -> tuple[Report, SideOrigin]:
    """(report, where it came from) for one side of a diff: a saved report as saved, else ``make_report``."""
    saved = read_saved_report(path)
    if saved is not None:
        return saved, SideOrigin.SAVED
    return make_report(str(path)), SideOrigin.LOOKED_UP


def _report(value: Report | Mapping[str, Any]) -> Report:
    return value if isinstance(value, Report) else Report.from_json(value)


def _internet(report: Report) -> dict[str, DestinationReport]:
    return {d.address: d for d in report.internet}


def _names(dests: dict[str, DestinationReport], hostnames: bool) -> set[str]:
    out: set[str] = set()
    for d in dests.values():
        out |= {h.name for h in d.hostnames} if hostnames else set(d.domains)
    return out


def _summary(d: DestinationReport) -> DestinationSummary:
    j = d.jurisdiction
    return DestinationSummary(
        address=d.address, hostnames=sorted({h.name for h in d.hostnames}), location_country=j.location_country,
        location=j.location, holder=j.holder, holder_country=j.holder_country, asn=j.asn, bytes_sent=d.bytes_sent,
        bytes_received=d.bytes_received, verdict=j.verdict,
    )


def _rollup(report: Report, group: RollupGroup) -> dict[str, RollupRow]:
    return {r.key: r for r in report.rollups.get(group, [])}


def _byte_changes(before: Report, after: Report, group: RollupGroup) -> list[ByteChange]:
    b, a = _rollup(before, group), _rollup(after, group)
    rows = []
    for key in set(b) | set(a):
        rb, ra = b.get(key), a.get(key)
        rows.append(ByteChange(
            key=key,
            label=(ra.label if ra else "") or (rb.label if rb else "") or key,
            bytes_sent_before=rb.bytes_sent if rb else 0,
            bytes_sent_after=ra.bytes_sent if ra else 0,
            bytes_received_before=rb.bytes_received if rb else 0,
            bytes_received_after=ra.bytes_received if ra else 0,
            destinations_before=rb.destinations if rb else 0,
            destinations_after=ra.destinations if ra else 0,
        ))
    return sorted(rows, key=lambda r: (-abs(r.bytes_sent_change), -abs(r.bytes_received_change), r.key))


def _set_change(before: set[str], after: set[str]) -> SetChange:
    return SetChange(added=sorted(after - before), removed=sorted(before - after))


def _side(report: Report, origin: SideOrigin) -> DiffSide:
    p = report.provenance
    return DiffSide(
        origin=origin,
        inputs=[InputRef(name=i.name, sha256=i.sha256) for i in p.inputs],
        capture_start=p.capture_start,
        capture_end=p.capture_end,
        generated=p.generated,
        tool_version=p.tool_version,
        totals=report.totals(),
    )


def diff_reports(before: Report | Mapping[str, Any], after: Report | Mapping[str, Any], *,
                 before_kind: SideOrigin | str = SideOrigin.UNSTATED,
                 after_kind: SideOrigin | str = SideOrigin.UNSTATED) -> Diff:
    """Destinations, hostnames and jurisdictions added and removed, answers that changed for the same
    address, and byte changes per jurisdiction. A side given as a saved document (a dict) is read with
    ``Report.from_json``."""
    rb, ra = _report(before), _report(after)
    bd, ad = _internet(rb), _internet(ra)
    rank = lambda d: (-d.bytes_sent, d.address)  # noqa: E731
    changed = []
    for addr in sorted(set(bd) & set(ad)):
        jb, ja = bd[addr].jurisdiction, ad[addr].jurisdiction
        fields = {f: (getattr(jb, f), getattr(ja, f)) for f in ANSWER_FIELDS if getattr(jb, f) != getattr(ja, f)}
        if fields:
            changed.append(AnswerChange(address=addr, fields=fields))

    def keys(report: Report, group: RollupGroup) -> set[str]:
        return {k for k in _rollup(report, group) if k}

    def jurisdiction(group: RollupGroup) -> SetChange:
        return _set_change(keys(rb, group), keys(ra, group))

    return Diff(
        before=_side(rb, SideOrigin(before_kind)),
        after=_side(ra, SideOrigin(after_kind)),
        destinations=DestinationChanges(
            added=sorted((_summary(ad[a]) for a in ad if a not in bd), key=rank),
            removed=sorted((_summary(bd[a]) for a in bd if a not in ad), key=rank),
        ),
        changed_answers=changed,
        hostnames=_set_change(_names(bd, True), _names(ad, True)),
        domains=_set_change(_names(bd, False), _names(ad, False)),
        jurisdictions=JurisdictionChanges(
            location=jurisdiction(RollupGroup.LOCATION),
            holder_country=jurisdiction(RollupGroup.HOLDER_COUNTRY),
            holder=jurisdiction(RollupGroup.HOLDER),
            asn=jurisdiction(RollupGroup.ASN),
        ),
        bytes=ByteChanges(
            location=_byte_changes(rb, ra, RollupGroup.LOCATION),
            holder_country=_byte_changes(rb, ra, RollupGroup.HOLDER_COUNTRY),
        ),
    )


def has_changes(diff: Diff) -> bool:
    return diff.has_changes


__all__ = ["ANSWER_FIELDS", "diff_reports", "has_changes", "load_side", "read_saved_report"]
