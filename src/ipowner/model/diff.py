"""What changed between two reports (``ipowner.diff/1``): destinations, answers, names, jurisdictions, bytes.

``reports.diff.diff_reports`` builds a ``Diff`` from two ``Report`` objects; ``Diff.rows()`` is the flat
list of change rows every tabular format (CSV, JSON Lines, Markdown, HTML, the terminal) shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from ipowner.errors import DocumentError
from ipowner.model.kinds import DiffChange, DiffLine, DiffSection, SideOrigin
from ipowner.model.report import Totals
from ipowner.model.serialize import Epoch, check_schema, from_plain, record_from_plain, to_plain

SCHEMA_DIFF = "ipowner.diff/2"
# Version 1 named a side's origin ``kind``, which in JSON Lines overwrote the line's own ``kind``; it is
# still read, also under the name "ipowner.reports.diff/1" that the file move of 351692b gave it.
SCHEMA_DIFF_V1 = ("ipowner.diff/1", "ipowner.reports.diff/1")
SCHEMA_DIFF_READ = (SCHEMA_DIFF, *SCHEMA_DIFF_V1)


@dataclass(slots=True)
class InputRef:
    """An input of one side's report, by name and digest."""

    name: str | None = None
    sha256: str | None = None


@dataclass(slots=True)
class DiffSide:
    """Where one side's report came from."""

    origin: SideOrigin = SideOrigin.UNSTATED
    inputs: list[InputRef] = field(default_factory=list)
    capture_start: Epoch | None = None
    capture_end: Epoch | None = None
    generated: datetime | None = None  # when that report was made
    tool_version: str | None = None
    totals: Totals | None = None


@dataclass(slots=True)
class DestinationSummary:
    """An internet destination present on one side only."""

    address: str
    hostnames: list[str] = field(default_factory=list)
    location_country: str | None = None
    location: str | None = None
    holder: str | None = None
    holder_country: str | None = None
    asn: int | None = None
    bytes_sent: int = 0
    bytes_received: int = 0
    verdict: str | None = None


@dataclass(slots=True)
class AnswerChange:
    """The same address answered differently: field -> (before, after)."""

    address: str
    fields: dict[str, tuple[Any, Any]] = field(default_factory=dict)


@dataclass(slots=True)
class SetChange:
    """Keys present after only (added) and before only (removed)."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)


@dataclass(slots=True)
class DestinationChanges:
    """Internet destinations present on one side only."""

    added: list[DestinationSummary] = field(default_factory=list)
    removed: list[DestinationSummary] = field(default_factory=list)


@dataclass(slots=True)
class JurisdictionChanges:
    """Rollup keys (countries, holders, ASes) that appear or disappear."""

    location: SetChange = field(default_factory=SetChange)
    holder_country: SetChange = field(default_factory=SetChange)
    holder: SetChange = field(default_factory=SetChange)
    asn: SetChange = field(default_factory=SetChange)


@dataclass(slots=True)
class ByteChange:
    """Bytes under one rollup key, before and after."""

    key: str
    label: str
    bytes_sent_before: int = 0
    bytes_sent_after: int = 0
    bytes_received_before: int = 0
    bytes_received_after: int = 0
    destinations_before: int = 0
    destinations_after: int = 0

    _json_keys: ClassVar[tuple[str, ...]] = (
        "key", "label", "bytes_sent_before", "bytes_sent_after", "bytes_received_before", "bytes_received_after",
        "destinations_before", "destinations_after", "bytes_sent_change", "bytes_received_change",
    )

    @property
    def bytes_sent_change(self) -> int:
        return self.bytes_sent_after - self.bytes_sent_before

    @property
    def bytes_received_change(self) -> int:
        return self.bytes_received_after - self.bytes_received_before


@dataclass(slots=True)
class ByteChanges:
    """Bytes per location and per holder country, before and after, the largest change first."""

    location: list[ByteChange] = field(default_factory=list)
    holder_country: list[ByteChange] = field(default_factory=list)


@dataclass(slots=True)
class DiffRow:
    """One row of the flat form (CSV columns; a JSON Lines ``change`` line)."""

    section: DiffSection
    change: DiffChange
    key: str
    label: str | None = None
    detail: str | None = None
    bytes_sent_before: int | None = None
    bytes_sent_after: int | None = None
    bytes_sent_change: int | None = None
    bytes_received_before: int | None = None
    bytes_received_after: int | None = None
    bytes_received_change: int | None = None


COLUMNS = tuple(name for name in DiffRow.__dataclass_fields__)


@dataclass(slots=True)
class Diff:
    """What changed between two reports (``ipowner.diff/2``)."""

    before: DiffSide = field(default_factory=DiffSide)
    after: DiffSide = field(default_factory=DiffSide)
    destinations: DestinationChanges = field(default_factory=DestinationChanges)
    changed_answers: list[AnswerChange] = field(default_factory=list)
    hostnames: SetChange = field(default_factory=SetChange)
    domains: SetChange = field(default_factory=SetChange)
    jurisdictions: JurisdictionChanges = field(default_factory=JurisdictionChanges)
    bytes: ByteChanges = field(default_factory=ByteChanges)
    command_line: list[str] | None = None  # the diff command, rebuilt from its options (CLI only)

    SCHEMA: ClassVar[str] = SCHEMA_DIFF

    @property
    def has_changes(self) -> bool:
        """Destinations, answers, hostnames or jurisdictions differ (byte changes alone do not count)."""
        j = self.jurisdictions
        return bool(self.destinations.added or self.destinations.removed or self.changed_answers
                    or self.hostnames or j.location or j.holder_country or j.holder or j.asn)

    def to_dict(self) -> dict[str, Any]:
        """The ``ipowner.diff/1`` document."""
        return {"schema": SCHEMA_DIFF, **to_plain(self)}

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> Diff:
        """A diff document, version 2 or 1, back into the model."""
        if check_schema(doc, SCHEMA_DIFF_READ) in SCHEMA_DIFF_V1:
            doc = {**doc, **{n: _side_v1(doc[n]) for n in ("before", "after") if isinstance(doc.get(n), dict)}}
        return record_from_plain(cls, doc, "diff")

    def rows(self) -> list[DiffRow]:
        """Every change as one flat row: destinations, changed answers, names, jurisdictions, byte moves."""
        out: list[DiffRow] = []
        for change, items, side in ((DiffChange.ADDED, self.destinations.added, "after"),
                                    (DiffChange.REMOVED, self.destinations.removed, "before")):
            for d in items:
                out.append(DiffRow(DiffSection.DESTINATION, change, d.address, ", ".join(d.hostnames), d.verdict,
                                   **{f"bytes_sent_{side}": d.bytes_sent, f"bytes_received_{side}": d.bytes_received}))
        for c in self.changed_answers:
            detail = "; ".join(f"{f}: {_fact(b)} -> {_fact(a)}" for f, (b, a) in c.fields.items())
            out.append(DiffRow(DiffSection.DESTINATION, DiffChange.ANSWER_CHANGED, c.address, None, detail))
        for section, names in ((DiffSection.HOSTNAME, self.hostnames), (DiffSection.DOMAIN, self.domains)):
            for change, keys in ((DiffChange.ADDED, names.added), (DiffChange.REMOVED, names.removed)):
                out += [DiffRow(section, change, k) for k in keys]
        for group in ("location", "holder_country", "holder", "asn"):
            ch: SetChange = getattr(self.jurisdictions, group)
            for change, keys in ((DiffChange.ADDED, ch.added), (DiffChange.REMOVED, ch.removed)):
                out += [DiffRow(DiffSection(group), change, k) for k in keys]
        for section, moves in ((DiffSection.BYTES_BY_LOCATION, self.bytes.location),
                               (DiffSection.BYTES_BY_HOLDER_COUNTRY, self.bytes.holder_country)):
            for r in moves:
                if r.bytes_sent_change or r.bytes_received_change:
                    out.append(DiffRow(section, DiffChange.BYTES, r.key, r.label, None, r.bytes_sent_before,
                                       r.bytes_sent_after, r.bytes_sent_change, r.bytes_received_before,
                                       r.bytes_received_after, r.bytes_received_change))
        return out

    def lines(self) -> Iterator[dict[str, Any]]:
        """The JSON Lines form: the two sides, then one ``change`` line per row."""
        yield from DiffLines(self.before, self.after, self.rows()).lines()


@dataclass(slots=True)
class DiffLines:
    """What a diff's JSON Lines form holds: the two sides and the change rows."""

    before: DiffSide = field(default_factory=DiffSide)
    after: DiffSide = field(default_factory=DiffSide)
    rows: list[DiffRow] = field(default_factory=list)

    def lines(self) -> Iterator[dict[str, Any]]:
        for name, side in (("before", self.before), ("after", self.after)):
            yield {"schema": SCHEMA_DIFF, "kind": DiffLine.SIDE.value, "side": name, **to_plain(side)}
        for row in self.rows:
            yield {"schema": SCHEMA_DIFF, "kind": DiffLine.CHANGE.value, **to_plain(row)}

    @classmethod
    def from_lines(cls, lines: Iterable[Mapping[str, Any]]) -> DiffLines:
        out = cls()
        for i, line in enumerate(lines):
            where = f"line {i + 1}"
            if check_schema(line, SCHEMA_DIFF_READ) in SCHEMA_DIFF_V1 and line.get("kind") != DiffLine.CHANGE:
                line = {**_side_v1(line), "kind": DiffLine.SIDE.value}  # v1: the side's origin took "kind"
            kind = from_plain(DiffLine, line.get("kind"), f"{where}.kind")
            body = {k: v for k, v in line.items() if k not in ("schema", "kind", "side")}
            if kind is DiffLine.SIDE:
                side = line.get("side")
                if side not in ("before", "after"):
                    raise DocumentError(where, f"side {side!r} is neither before nor after")
                setattr(out, side, from_plain(DiffSide, body, where))
            else:
                out.rows.append(from_plain(DiffRow, body, where))
        return out


def _fact(value: Any) -> str:
    """A changed answer as text: a fact nobody knew is "unknown", never Python's "None"."""
    return "unknown" if value is None or value == "" else str(value)


def _side_v1(side: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in side.items() if k != "kind"}
    out.setdefault("origin", side.get("kind", ""))
    return out


__all__ = [
    "COLUMNS",
    "SCHEMA_DIFF",
    "AnswerChange",
    "ByteChange",
    "ByteChanges",
    "DestinationChanges",
    "DestinationSummary",
    "Diff",
    "DiffLines",
    "DiffRow",
    "DiffSide",
    "InputRef",
    "JurisdictionChanges",
    "SetChange",
]
