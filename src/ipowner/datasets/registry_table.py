"""The registry table built from a folder of delegation statistics (``reference.delegation_table`` reads it).

The newest file of each registry is used (``delegations.newest_per_registry``). Where two registries'
files list the same space (a transfer between regions), the file with the newer date wins and the
older claim is cut: the delegation files set the registry. Each country is credited to the registry
whose files list it in most records, when that registry lists at least ``COUNTRY_SHARE`` of them: the
judgement uses it to tell when an IANA fallback contradicts the registration country.
"""

from __future__ import annotations

import hashlib
import heapq
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from ipowner.datasets.delegations import TERMS, Delegation, DelegationFile, newest_per_registry, read_set
from ipowner.errors import InputError
from ipowner.reference.delegation_table import table_text, write_table

COUNTRY_SHARE = 0.9  # the share of a country's records one registry must list to be credited with it
COUNTRY_MIN_RECORDS = 100  # fewer records than this credit no registry (a region whose file is missing
#                           leaves a few out-of-region records in the others: 47 for CA, without ARIN)
FAMILY = {"ipv4": "4", "ipv6": "6", "asn": "a"}


@dataclass(slots=True)
class TableBuild:
    """What a build used and made."""

    files: list[dict[str, Any]] = field(default_factory=list)  # as written into the table's header
    warnings: list[str] = field(default_factory=list)
    ranges: dict[str, int] = field(default_factory=dict)  # family -> disjoint ranges written
    text: str = ""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def disjoint(claims: list[tuple[int, int, int, int]]) -> list[tuple[int, int, int]]:
    """(first, last, rank, id) claims -> disjoint (first, last, id): where claims overlap, the lowest rank wins."""
    claims = sorted(claims)
    bounds = sorted({c[0] for c in claims} | {c[1] + 1 for c in claims})
    out: list[tuple[int, int, int]] = []
    heap: list[tuple[int, int, int]] = []  # (rank, last, id)
    i = 0
    for b, nb in zip(bounds, bounds[1:], strict=False):
        while i < len(claims) and claims[i][0] <= b:
            first, last, rank, ident = claims[i]
            heapq.heappush(heap, (rank, last, ident))
            i += 1
        while heap and heap[0][1] < b:
            heapq.heappop(heap)
        if not heap:
            continue
        ident = heap[0][2]
        if out and out[-1][2] == ident and out[-1][1] + 1 == b:
            out[-1] = (out[-1][0], nb - 1, ident)
        else:
            out.append((b, nb - 1, ident))
    return out


def country_registries(files: list[DelegationFile]) -> dict[str, str]:
    """Country -> the registry listing at least ``COUNTRY_SHARE`` of its delegated records."""
    counts: dict[str, Counter[str]] = {}
    for f in files:
        for r in f.records:
            if r.country and r.status in ("allocated", "assigned"):
                counts.setdefault(r.country, Counter())[r.registry] += 1
    out = {}
    for country, by_registry in counts.items():
        total = sum(by_registry.values())
        registry, n = by_registry.most_common(1)[0]
        if total >= COUNTRY_MIN_RECORDS and n >= COUNTRY_SHARE * total:
            out[country] = registry
    return out


def build_table(folder: Path, *, built: datetime | None = None) -> TableBuild:
    """The table's text from the newest files in ``folder``; raises ``InputError`` when a chosen file is unusable."""
    chosen = newest_per_registry(folder)
    if not chosen:
        raise InputError(str(folder), "no delegation statistics files (delegated-<registry>[-extended]-<date>)")
    result = TableBuild()
    parsed: list[DelegationFile] = []
    for c in chosen:
        f, notes = read_set(c)
        parsed.append(f)
        result.warnings += f.warnings + notes
    # Newer files first: a lower rank wins an overlap.
    order = sorted(range(len(parsed)), key=lambda k: parsed[k].end_date or date.min, reverse=True)
    rank = {k: r for r, k in enumerate(order)}
    records: list[Delegation] = []
    owner: list[int] = []
    claims: dict[str, list[tuple[int, int, int, int]]] = {"4": [], "6": [], "a": []}
    for k, f in enumerate(parsed):
        for r in f.records:
            ident = len(records)
            records.append(r)
            owner.append(k)
            claims[FAMILY[r.type]].append((r.start, r.end, rank[k] * (1 << 32) + ident, ident))
    rows = []
    kept: dict[int, Counter[str]] = {k: Counter() for k in range(len(parsed))}
    for fam in ("4", "6", "a"):
        pieces = disjoint(claims[fam])
        result.ranges[fam] = len(pieces)
        for first, last, ident in pieces:
            r = records[ident]
            kept[owner[ident]][fam] += 1
            rows.append((fam, first, last, owner[ident], r.status, r.date, r.country, r.opaque_id))
    for k, (f, c) in enumerate(zip(parsed, chosen, strict=True)):
        result.files.append({
            "registry": f.registry, "name": f.name, "date": f.end_date.isoformat() if f.end_date else None,
            "extended": f.extended, "opaque_ids_from": c.extended.name if c.extended else None,
            "sha256": _sha256(Path(f.path)), "terms": TERMS.get(f.registry), "counts": dict(kept[k]), "warnings": f.warnings,
        })
    result.text = table_text(result.files, country_registries(parsed), rows, built)
    return result


def build_table_file(folder: Path, out: Path, *, built: datetime | None = None) -> TableBuild:
    """Build the table from ``folder`` and write it to ``out`` atomically."""
    result = build_table(folder, built=built)
    write_table(out, result.text)
    return result
