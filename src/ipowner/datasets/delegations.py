"""The RIRs' delegation statistics (``delegated-<registry>[-extended]-<date>``): parsed, checked, combined.

A file is ``version|registry|serial|records|startdate|enddate|UTCoffset``, then one summary line per
type (``registry|*|type|*|count|summary``), then records
``registry|cc|type|start|value|date|status[|opaque-id[|extensions]]``: an IPv4 ``value`` is an address
count (not always a power of two: the range is split into CIDR blocks), an IPv6 ``value`` a prefix
length, an AS ``value`` a count of AS numbers. ``available`` and ``reserved`` records name the registry
but no holder; ``EU`` is a country code there.

The one count rule, for the build and for ``ipowner data update``: when the header's or a summary's
count differs from the records read, a file whose last line is a complete record is accepted with one
warning naming both counts; a file that ends in a cut line is refused as truncated. A bad record is
skipped and counted; it never costs the rest of the file.

``newest_per_registry(folder)`` takes the newest file of each registry from a folder (by the header's
end date), so a user's fresher set replaces the shipped one; opaque ids come from the newest extended
file of that registry where its record still matches (same type, start, size and date).
"""

from __future__ import annotations

import bz2
import datetime as dt
import gzip
import io
import lzma
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ipowner._addr import network_text
from ipowner.errors import InputError
from ipowner.model import RangeFact

MAX_FILE_BYTES = 256 << 20  # uncompressed; today's largest file (RIPE NCC extended) is about 30 MiB
MAX_LINE = 4096
MAX_BAD_EXAMPLES = 3
TYPES = ("asn", "ipv4", "ipv6")
STATUSES = frozenset({"allocated", "assigned", "available", "reserved"})

# The registry field as the files spell it -> the registry's name in ipowner's table (data/nirs.json).
REGISTRY_NAMES = {
    "afrinic": "AFRINIC", "apnic": "APNIC", "arin": "ARIN", "lacnic": "LACNIC", "ripencc": "RIPE NCC",
    "ripe": "RIPE NCC", "iana": "IANA",
}


@dataclass(frozen=True, slots=True)
class Publisher:
    """Where a registry publishes its statistics, and on what terms."""

    registry: str
    url: str  # the newest extended file; ``url + ".md5"`` is its published checksum
    terms: str

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]


_FREE = "published by {} for free download and use"
PUBLISHERS = (
    Publisher("AFRINIC", "https://ftp.afrinic.net/pub/stats/afrinic/delegated-afrinic-extended-latest",
              _FREE.format("AFRINIC")),
    Publisher("APNIC", "https://ftp.apnic.net/stats/apnic/delegated-apnic-extended-latest",
              "freely available for download and use on the condition that APNIC is not held responsible for any"
              " loss or damage arising from their use (APNIC's conditions of use, in the file)"),
    Publisher("ARIN", "https://ftp.arin.net/pub/stats/arin/delegated-arin-extended-latest", _FREE.format("ARIN")),
    Publisher("LACNIC", "https://ftp.lacnic.net/pub/stats/lacnic/delegated-lacnic-extended-latest",
              _FREE.format("LACNIC")),
    Publisher("RIPE NCC", "https://ftp.ripe.net/pub/stats/ripencc/delegated-ripencc-extended-latest",
              _FREE.format("the RIPE NCC")),
)
TERMS = {p.registry: p.terms for p in PUBLISHERS}
_CC = re.compile(r"[A-Z]{2}")
_NAME = re.compile(r"delegated-[a-z]+(?:-extended)?-[0-9a-z]+(?:\.(?:xz|gz|bz2))?")


class DelegationError(InputError):
    """A delegation file that cannot be used (truncated, not a delegation file, too large)."""


@dataclass(frozen=True, slots=True)
class Delegation:
    """One record: a block (or AS range) a registry delegated, or holds available or reserved."""

    registry: str  # "APNIC", "RIPE NCC", ...
    country: str | None  # as the file gives it ("EU" included); None for "ZZ" or empty
    type: str  # asn | ipv4 | ipv6
    start: int  # first address (or AS number) as an integer
    end: int  # last, inclusive
    date: dt.date | None  # when the registry delegated it
    status: str  # allocated | assigned | available | reserved
    opaque_id: str | None = None  # the holder's opaque id (extended files only)

    @property
    def version(self) -> int:
        return 6 if self.type == "ipv6" else 4

    def key(self) -> tuple[str, int, int, dt.date | None]:
        """What must match between two files for one record to carry the other's opaque id."""
        return self.type, self.start, self.end, self.date


@dataclass(slots=True)
class DelegationFile:
    """One parsed file: its header, its records, and what the checks found."""

    path: str
    registry: str  # "APNIC"
    version: str  # the format version ("2", "2.3")
    serial: str
    end_date: date | None  # the header's end date: the date the file describes
    extended: bool  # an opaque-id column is present
    declared: dict[str, int]  # "records" and each type's summary count
    counted: dict[str, int]  # records read per type (and "records")
    records: list[Delegation] = field(default_factory=list)
    bad: int = 0  # records skipped
    warnings: list[str] = field(default_factory=list)  # one line each

    @property
    def name(self) -> str:
        return Path(self.path).name


def _date(text: str) -> date | None:
    if len(text) != 8 or not text.isdigit() or text == "00000000":
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def read_bytes(path: Path, limit: int = MAX_FILE_BYTES) -> bytes:
    """A file's bytes, decompressed by its suffix (.xz, .gz, .bz2), refused past ``limit`` bytes."""
    opener = {".xz": lzma.open, ".gz": gzip.open, ".bz2": bz2.open}.get(path.suffix)
    try:
        if opener is None:
            with open(path, "rb") as f:
                data = f.read(limit + 1)
        else:
            with opener(path, "rb") as f:  # type: ignore[operator]
                data = f.read(limit + 1)
    except (OSError, lzma.LZMAError, EOFError) as exc:
        raise DelegationError(str(path), f"cannot read ({exc})") from exc
    if len(data) > limit:
        raise DelegationError(str(path), f"larger than {limit >> 20} MiB uncompressed; refused")
    return data


def _registry(text: str) -> str | None:
    return REGISTRY_NAMES.get(text.strip().lower())


def _record(fields: list[str], registry: str) -> Delegation | None:
    """One data line's record, or None when it is not a plausible record."""
    if len(fields) < 7:
        return None
    cc_text, kind, start_text, value_text, date_text, status = (f.strip() for f in fields[1:7])
    status = status.lower()
    if kind not in TYPES or status not in STATUSES or _registry(fields[0]) is None:
        return None
    cc = cc_text.upper()
    country = cc if _CC.fullmatch(cc) and cc != "ZZ" else None
    if cc and country is None and cc != "ZZ":
        return None
    if not value_text.isdigit() or len(value_text) > 40:
        return None
    value = int(value_text)
    opaque = fields[7].strip()[:128] or None if len(fields) > 7 else None
    try:
        if kind == "asn":
            first = int(start_text)
            if value < 1 or not 0 <= first <= 0xFFFFFFFF or first + value - 1 > 0xFFFFFFFF:
                return None
            last = first + value - 1
        elif kind == "ipv4":
            parts = start_text.split(".")
            if len(parts) != 4 or not all(p.isdigit() and len(p) <= 3 and int(p) < 256 for p in parts):
                return None
            first = (int(parts[0]) << 24) | (int(parts[1]) << 16) | (int(parts[2]) << 8) | int(parts[3])
            last = first + value - 1
            if value < 1 or last > 0xFFFFFFFF:
                return None
        else:
            import ipaddress

            if not 0 <= value <= 128 or len(start_text) > 45:
                return None
            first = int(ipaddress.IPv6Address(start_text))
            size = 1 << (128 - value)
            if first & (size - 1):
                return None  # not the start of a /value block
            last = first + size - 1
    except ValueError:
        return None
    return Delegation(registry, country, kind, first, last, _date(date_text), status, opaque)


def parse(data: bytes, path: str) -> DelegationFile:
    """One delegation file, checked by the count rule (module docstring). Raises ``DelegationError``."""
    text = data.decode("utf-8", errors="replace")
    lines = text.split("\n")
    ends_cleanly = text.endswith("\n")
    header: list[str] | None = None
    declared: dict[str, int] = {}
    counted = dict.fromkeys(("records", *TYPES), 0)
    records: list[Delegation] = []
    bad = 0
    examples: list[str] = []
    registry = ""
    last_complete = False
    wide = 0  # records with an opaque-id column
    for lineno, raw in enumerate(lines, 1):
        line = raw.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if len(line) > MAX_LINE:
            bad += 1
            last_complete = False
            continue
        fields = line.split("|")
        if header is None:
            if len(fields) < 6 or not fields[0].strip()[:1].isdigit() or _registry(fields[1]) is None:
                raise DelegationError(path, f"line {lineno}: not a delegation statistics header")
            header = fields
            registry = _registry(fields[1]) or ""
            if fields[3].strip().isdigit():
                declared["records"] = int(fields[3])
            continue
        if len(fields) >= 6 and fields[-1].strip() == "summary" and fields[1].strip() == "*":
            kind = fields[2].strip()
            if kind in TYPES and fields[4].strip().isdigit():
                declared[kind] = int(fields[4])
            continue
        rec = _record(fields, registry)
        counted["records"] += 1
        # A complete line has every field; an implausible one is a bad record, a short one may be a cut.
        last_complete = len(fields) >= 7 and all(f.strip() for f in fields[2:5])
        if rec is None:
            bad += 1
            if len(examples) < MAX_BAD_EXAMPLES:
                examples.append(f"line {lineno}: {line[:80]!r}")
            continue
        counted[rec.type] += 1
        wide += len(fields) > 7
        records.append(rec)
    if header is None:
        raise DelegationError(path, "no delegation statistics header")
    if not ends_cleanly or (records and not last_complete):
        raise DelegationError(path, "truncated: the last line is not a complete record")
    if not records:
        raise DelegationError(path, "no records")
    warnings = []
    mismatched = [(k, declared[k], counted[k]) for k in ("records", *TYPES) if k in declared and declared[k] != counted[k]]
    if mismatched:
        warnings.append(f"{Path(path).name}: counts differ from the header, "
                        + ", ".join(f"{k} declared {d}, read {c}" for k, d, c in mismatched)
                        + "; the last line is a complete record, so the file is used")
    if bad:
        warnings.append(f"{Path(path).name}: {bad} records skipped as unreadable (" + "; ".join(examples) + ")")
    return DelegationFile(
        path=path,
        registry=registry,
        version=header[0].strip(),
        serial=header[2].strip(),
        end_date=_date(header[5].strip()) if len(header) > 5 else None,
        extended=wide > 0,
        declared=declared,
        counted=counted,
        records=records,
        bad=bad,
        warnings=warnings,
    )


def read(path: Path) -> DelegationFile:
    """Parse one file from disk (compressed by suffix)."""
    return parse(read_bytes(path), str(path))


def read_header(path: Path) -> tuple[str, date | None, bool] | None:
    """(registry, end date, extended by name) from a file's header, or None when it has none."""
    opener = {".xz": lzma.open, ".gz": gzip.open, ".bz2": bz2.open}.get(path.suffix, open)
    try:
        with opener(path, "rb") as f:  # type: ignore[operator]
            head = f.read(64 << 10)
    except (OSError, lzma.LZMAError, EOFError):
        return None
    for raw in io.StringIO(head.decode("utf-8", errors="replace")):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = line.split("|")
        registry = _registry(fields[1]) if len(fields) > 5 else None
        if registry is None or not fields[0][:1].isdigit():
            return None
        return registry, _date(fields[5].strip()), "-extended" in path.name
    return None


@dataclass(slots=True)
class RegistrySet:
    """The files chosen for one registry: the newest, and the newest extended one for opaque ids."""

    registry: str
    newest: Path
    newest_date: date | None
    extended: Path | None  # None when the newest is itself extended, or there is no extended file


def newest_per_registry(folder: Path) -> list[RegistrySet]:
    """The newest delegation file of each registry in ``folder`` (by header end date), sorted by registry."""
    found: dict[str, list[tuple[date, bool, Path]]] = {}
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        raise DelegationError(str(folder), f"cannot list ({exc.strerror or exc})") from exc
    for p in entries:
        if not p.is_file() or not _NAME.fullmatch(p.name):
            continue
        head = read_header(p)
        if head is None:
            continue
        registry, end, extended = head
        found.setdefault(registry, []).append((end or date.min, extended, p))
    out = []
    for registry, files in sorted(found.items()):
        files.sort(key=lambda f: (f[0], f[1]))  # newest last; on the same date the extended file
        end, extended, newest = files[-1]
        ext = next((f[2] for f in reversed(files) if f[1]), None)
        out.append(RegistrySet(registry, newest, None if end == date.min else end, None if extended else ext))
    return out


def with_opaque_ids(newest: DelegationFile, extended: DelegationFile) -> int:
    """Copy opaque ids from an older extended file onto ``newest``'s records that still match; returns how many."""
    ids = {r.key(): r.opaque_id for r in extended.records if r.opaque_id}
    if not ids:
        return 0
    n = 0
    for i, r in enumerate(newest.records):
        if r.opaque_id is None and (oid := ids.get(r.key())) is not None:
            newest.records[i] = Delegation(r.registry, r.country, r.type, r.start, r.end, r.date, r.status, oid)
            n += 1
    return n


def cidrs(start: int, end: int, bits: int) -> Iterator[tuple[int, int]]:
    """(first address, prefix length) of the CIDR blocks covering start..end exactly."""
    while start <= end:
        size = (start & -start).bit_length() - 1 if start else bits
        while size > 0 and start + (1 << size) - 1 > end:
            size -= 1
        yield start, bits - size
        start += 1 << size


def range_facts(file: DelegationFile, source: str) -> Iterator[RangeFact]:
    """The file's address records as ``RangeFact``s, one per CIDR block (IPv4 counts split)."""
    for r in file.records:
        if r.type == "asn":
            continue
        bits = 32 if r.type == "ipv4" else 128
        for first, plen in cidrs(r.start, r.end, bits):
            last = first + (1 << (bits - plen)) - 1
            yield RangeFact(
                start=first, end=last, version=r.version, source=source, registered_country=r.country,
                registry=r.registry, handle=r.opaque_id, name=network_text(r.version, first, plen),
                fields=(("registration.status", r.status, source),
                        ("registration.delegated", r.date.isoformat() if r.date else None, source)),
            )


def read_set(chosen: RegistrySet) -> tuple[DelegationFile, list[str]]:
    """One registry's newest file with the opaque ids of its newest extended file; warnings besides the file's."""
    newest = read(chosen.newest)
    notes: list[str] = []
    if chosen.extended is not None:
        try:
            older = read(chosen.extended)
        except DelegationError as exc:
            notes.append(f"opaque ids not taken: {exc}")
        else:
            n = with_opaque_ids(newest, older)
            notes.append(f"{newest.name}: opaque ids of {n} records from {older.name}"
                         f" ({older.end_date.isoformat() if older.end_date else 'undated'})")
    return newest, notes


def files_in(paths: Iterable[Path]) -> list[Path]:
    return [p for p in paths if p.is_file() and _NAME.fullmatch(p.name)]
