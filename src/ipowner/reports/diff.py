"""Compare two reports: what a device talks to before and after (an update, a policy change).

Each side is a capture, a log or a saved JSON report. A saved report keeps the answers of its day;
a capture or log is looked up now, so re-reading an old capture gives today's registry answers.
The comparison works on the JSON form of the reports (``Report.to_dict()``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ipowner.errors import InputError
from ipowner.model.report import SCHEMA_DIFF, SCHEMA_REPORT

Doc = dict[str, Any]


def read_saved_report(path: str | Path) -> Doc | None:
    """The report document in ``path`` if it is a saved ipowner JSON report, else None."""
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
    if doc["schema"] != SCHEMA_REPORT:
        raise InputError(str(path), f"report schema {doc['schema']} is not supported (expected {SCHEMA_REPORT})")
    if not isinstance(doc.get("destinations"), list):
        raise InputError(str(path), "saved report has no destinations list")
    return doc


def load_side(path: str | Path, make_report: Callable[[str], Doc]) -> tuple[Doc, str]:
    """(report document, "saved report" | "looked up now") for one side of a diff."""
    saved = read_saved_report(path)
    if saved is not None:
        return saved, "saved report"
    return make_report(str(path)), "looked up now"


def _internet(doc: Doc) -> dict[str, Doc]:
    return {d["address"]: d for d in doc.get("destinations", []) if d.get("scope", "internet") == "internet"}


def _names(dests: dict[str, Doc], key: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for d in dests.values():
        vals = {h["name"] for h in d.get("hostnames", [])} if key == "hostnames" else set(d.get(key, []))
        for v in vals:
            out[v] = out.get(v, 0) + int(d.get("bytes_sent", 0))
    return out


def _j(d: Doc, field: str) -> Any:
    return (d.get("jurisdiction") or {}).get(field)


def _dest_summary(d: Doc) -> Doc:
    return {
        "address": d["address"],
        "hostnames": sorted({h["name"] for h in d.get("hostnames", [])}),
        "location_country": _j(d, "location_country"),
        "location": _j(d, "location"),
        "holder": _j(d, "holder"),
        "holder_country": _j(d, "holder_country"),
        "asn": _j(d, "asn"),
        "bytes_sent": d.get("bytes_sent", 0),
        "bytes_received": d.get("bytes_received", 0),
        "verdict": _j(d, "verdict"),
    }


def _rollup(doc: Doc, group: str) -> dict[str, Doc]:
    return {r["key"]: r for r in (doc.get("rollups") or {}).get(group, [])}


def _byte_changes(before: Doc, after: Doc, group: str) -> list[Doc]:
    b, a = _rollup(before, group), _rollup(after, group)
    rows = []
    for key in set(b) | set(a):
        rb, ra = b.get(key, {}), a.get(key, {})
        row = {
            "key": key,
            "label": ra.get("label") or rb.get("label") or key,
            "bytes_sent_before": rb.get("bytes_sent", 0),
            "bytes_sent_after": ra.get("bytes_sent", 0),
            "bytes_received_before": rb.get("bytes_received", 0),
            "bytes_received_after": ra.get("bytes_received", 0),
            "destinations_before": rb.get("destinations", 0),
            "destinations_after": ra.get("destinations", 0),
        }
        row["bytes_sent_change"] = row["bytes_sent_after"] - row["bytes_sent_before"]
        row["bytes_received_change"] = row["bytes_received_after"] - row["bytes_received_before"]
        rows.append(row)
    return sorted(rows, key=lambda r: (-abs(r["bytes_sent_change"]), -abs(r["bytes_received_change"]), r["key"]))


def _set_change(before: set[str], after: set[str]) -> Doc:
    return {"added": sorted(after - before), "removed": sorted(before - after)}


def diff_reports(before: Doc, after: Doc, *, before_kind: str = "", after_kind: str = "") -> Doc:
    """The ``ipowner.reports.diff/1`` document: destinations, hostnames and jurisdictions added and removed,
    answers that changed for the same address, and byte changes per jurisdiction."""
    bd, ad = _internet(before), _internet(after)
    added = [_dest_summary(ad[a]) for a in ad if a not in bd]
    removed = [_dest_summary(bd[a]) for a in bd if a not in ad]
    key = lambda d: (-d["bytes_sent"], d["address"])  # noqa: E731
    changed = []
    for addr in sorted(set(bd) & set(ad)):
        fields = [f for f in ("location_country", "holder", "holder_country", "asn", "registry", "nir")
                  if _j(bd[addr], f) != _j(ad[addr], f)]
        if fields:
            changed.append({"address": addr, "fields": {f: [_j(bd[addr], f), _j(ad[addr], f)] for f in fields}})

    def keys(doc: Doc, group: str) -> set[str]:
        return {k for k in _rollup(doc, group) if k}

    def side(doc: Doc, kind: str) -> Doc:
        p = doc.get("provenance") or {}
        return {
            "kind": kind,
            "inputs": [{"name": i.get("name"), "sha256": i.get("sha256")} for i in p.get("inputs", [])],
            "capture_start": p.get("capture_start"),
            "capture_end": p.get("capture_end"),
            "generated": p.get("generated"),
            "tool_version": p.get("tool_version"),
            "totals": doc.get("totals"),
        }

    return {
        "schema": SCHEMA_DIFF,
        "before": side(before, before_kind),
        "after": side(after, after_kind),
        "destinations": {"added": sorted(added, key=key), "removed": sorted(removed, key=key)},
        "changed_answers": changed,
        "hostnames": _set_change(set(_names(bd, "hostnames")), set(_names(ad, "hostnames"))),
        "domains": _set_change(set(_names(bd, "domains")), set(_names(ad, "domains"))),
        "jurisdictions": {
            "location": _set_change(keys(before, "location"), keys(after, "location")),
            "holder_country": _set_change(keys(before, "holder_country"), keys(after, "holder_country")),
            "holder": _set_change(keys(before, "holder"), keys(after, "holder")),
            "asn": _set_change(keys(before, "asn"), keys(after, "asn")),
        },
        "bytes": {
            "location": _byte_changes(before, after, "location"),
            "holder_country": _byte_changes(before, after, "holder_country"),
        },
    }


def has_changes(doc: Doc) -> bool:
    return bool(
        doc["destinations"]["added"] or doc["destinations"]["removed"] or doc["changed_answers"]
        or doc["hostnames"]["added"] or doc["hostnames"]["removed"]
        or any(v["added"] or v["removed"] for v in doc["jurisdictions"].values())
    )
