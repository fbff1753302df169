"""The registry table: which registry delegated each block, from the RIRs' delegation statistics.

One compact file (``ipowner-delegations.tsv.xz``), written by ``datasets`` (the build script and
``ipowner data update``) and read here, once per process. The shipped copy is in ``data/``; a copy that
``ipowner data update`` built in the user data folder (``registry/``) replaces it while it reads cleanly.

Format (xz-compressed UTF-8 text): a first line ``# ipowner-delegations/1``, a second line of JSON
(the files used, with their dates, counts and warnings; the registry that serves each country), then one
row per disjoint range, sorted by family and start::

    family|first|last|file|status|delegated|country|opaque-id

``family`` is ``4``, ``6`` or ``a`` (AS numbers); ``first`` and ``last`` are hexadecimal integers;
``file`` is an index into the JSON's ``files``; ``delegated`` is ``YYYYMMDD`` or empty.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import json
import lzma
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from ipowner import paths

FORMAT = "ipowner-delegations/1"
TABLE_NAME = "ipowner-delegations.tsv.xz"
USER_FOLDER = "registry"  # under the user data folder: the table `ipowner data update` built
MAX_TABLE_BYTES = 128 << 20  # uncompressed
FAMILIES = {"4": 4, "6": 6, "a": 0}  # 0: AS numbers


class TableError(ValueError):
    """A registry table that cannot be read."""


@dataclass(frozen=True, slots=True)
class TableFile:
    """One delegation file the table was built from."""

    registry: str  # "APNIC"
    name: str  # the file's name, e.g. "delegated-apnic-20260617"
    date: dt.date | None  # the header's end date
    extended: bool
    opaque_ids_from: str | None = None  # an older extended file the opaque ids were taken from
    sha256: str | None = None
    terms: str | None = None  # the publisher's terms of use
    counts: dict[str, int] = field(default_factory=dict)  # ranges per family kept in the table
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Row:
    first: int
    last: int
    file: TableFile
    status: str
    delegated: dt.date | None
    country: str | None
    opaque_id: str | None


@dataclass(slots=True)
class Family:
    """One family's rows: bounds as integer lists (searched), the rest as text (read when found)."""

    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    rest: list[str] = field(default_factory=list)  # "file|status|delegated|country|opaque-id"


@dataclass(slots=True)
class Table:
    path: str
    built: datetime | None
    files: list[TableFile]
    country_registries: dict[str, str]  # country -> the registry whose files list it most
    families: dict[int, Family]  # 4, 6, and 0 for AS numbers

    def index(self, family: int, value: int) -> int | None:
        """The position of the row covering ``value`` in its family, or None."""
        fam = self.families.get(family)
        if fam is None or not fam.starts:
            return None
        i = bisect.bisect_right(fam.starts, value) - 1
        if i < 0 or fam.ends[i] < value:
            return None
        return i

    def row(self, family: int, i: int) -> Row | None:
        """The row at position ``i`` of a family (None when its text is damaged)."""
        return self._row(self.families[family], i)

    def find(self, family: int, value: int) -> Row | None:
        """The row covering ``value`` (an address of family 4 or 6, or an AS number with family 0)."""
        i = self.index(family, value)
        return None if i is None else self._row(self.families[family], i)

    def _row(self, fam: Family, i: int) -> Row | None:
        cols = fam.rest[i].split("|")
        if len(cols) < 5:
            return None
        try:
            index = int(cols[0])
        except ValueError:
            return None
        if not 0 <= index < len(self.files):
            return None
        country = cols[3][:2] or None
        return Row(fam.starts[i], fam.ends[i], self.files[index], cols[1][:12], _date(cols[2]), country,
                   cols[4][:128] or None)

    def rows(self, family: int) -> list[Row]:
        """Every row of one family (tests, diffs between tables)."""
        fam = self.families.get(family)
        return [r for i in range(len(fam.starts)) if (r := self._row(fam, i)) is not None] if fam else []

    def __len__(self) -> int:
        return sum(len(f.starts) for f in self.families.values())


def _date(text: str) -> date | None:
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def _iso_date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _file(entry: Any) -> TableFile:
    if not isinstance(entry, dict) or not isinstance(entry.get("registry"), str) or not isinstance(entry.get("name"), str):
        raise TableError("a file entry without registry and name")
    raw_counts, raw_warnings = entry.get("counts"), entry.get("warnings")
    counts: dict[Any, Any] = raw_counts if isinstance(raw_counts, dict) else {}
    warnings: list[Any] = raw_warnings if isinstance(raw_warnings, list) else []
    return TableFile(
        registry=entry["registry"][:40], name=entry["name"][:200], date=_iso_date(entry.get("date")),
        extended=bool(entry.get("extended")),
        opaque_ids_from=str(entry["opaque_ids_from"])[:200] if entry.get("opaque_ids_from") else None,
        sha256=str(entry["sha256"])[:64] if entry.get("sha256") else None,
        terms=str(entry["terms"])[:300] if entry.get("terms") else None,
        counts={str(k): int(v) for k, v in counts.items() if isinstance(v, int)},
        warnings=tuple(str(w)[:500] for w in warnings[:20]),
    )


def parse_table(text: str, path: str) -> Table:
    """A table from its text; raises ``TableError`` for anything that is not one."""
    lines = text.split("\n")
    if len(lines) < 2 or lines[0].strip() != f"# {FORMAT}":
        raise TableError(f"{path}: not an {FORMAT} table")
    try:
        meta = json.loads(lines[1])
    except ValueError as exc:
        raise TableError(f"{path}: unreadable table header ({exc})") from exc
    if not isinstance(meta, dict) or not isinstance(meta.get("files"), list):
        raise TableError(f"{path}: table header has no files")
    files = [_file(e) for e in meta["files"]]
    regs = meta.get("country_registries")
    country_registries = {str(k)[:2]: str(v)[:40] for k, v in regs.items()} if isinstance(regs, dict) else {}
    built = None
    if isinstance(meta.get("built"), str):
        with contextlib.suppress(ValueError):
            built = datetime.fromisoformat(meta["built"].replace("Z", "+00:00"))
    families = {4: Family(), 6: Family(), 0: Family()}
    maxima = {4: (1 << 32) - 1, 6: (1 << 128) - 1, 0: (1 << 32) - 1}
    for n, line in enumerate(lines[2:], 3):
        if not line:
            continue
        cols = line.split("|", 3)
        try:
            fam_key = FAMILIES[cols[0]]
            first, last, rest = int(cols[1], 16), int(cols[2], 16), cols[3]
        except (KeyError, IndexError, ValueError) as exc:
            raise TableError(f"{path}: line {n}: not a table row") from exc
        fam = families[fam_key]
        if not 0 <= first <= last <= maxima[fam_key] or (fam.ends and first <= fam.ends[-1]):
            raise TableError(f"{path}: line {n}: range out of bounds, or rows overlap or are not sorted")
        fam.starts.append(first)
        fam.ends.append(last)
        fam.rest.append(rest)
    return Table(path=path, built=built, files=files, country_registries=country_registries, families=families)


def load_table(path: Path) -> Table:
    """Read a table file (xz); raises ``TableError``."""
    try:
        with lzma.open(path, "rb") as f:
            data = f.read(MAX_TABLE_BYTES + 1)
    except (OSError, lzma.LZMAError, EOFError) as exc:
        raise TableError(f"{path}: cannot read the registry table ({exc})") from exc
    if len(data) > MAX_TABLE_BYTES:
        raise TableError(f"{path}: registry table larger than {MAX_TABLE_BYTES >> 20} MiB")
    return parse_table(data.decode("utf-8", errors="replace"), str(path))


def _clean(text: str | None) -> str:
    return (text or "").replace("|", " ").replace("\n", " ").replace("\r", " ")


def table_text(files: list[dict[str, Any]], country_registries: dict[str, str],
               rows: Iterable[tuple[str, int, int, int, str, date | None, str | None, str | None]],
               built: datetime | None = None) -> str:
    """The table's text from its parts (rows: family, first, last, file index, status, delegated, country, opaque id)."""
    built = (built or datetime.now(UTC)).replace(microsecond=0)
    meta = {"format": FORMAT, "built": built.isoformat().replace("+00:00", "Z"), "files": files,
            "country_registries": dict(sorted(country_registries.items()))}
    out = [f"# {FORMAT}", json.dumps(meta, sort_keys=True, separators=(",", ":"))]
    for fam, first, last, index, status, delegated, country, opaque in rows:
        out.append(f"{fam}|{first:x}|{last:x}|{index}|{_clean(status)}|"
                   f"{delegated.strftime('%Y%m%d') if delegated else ''}|{_clean(country)}|{_clean(opaque)}")
    return "\n".join(out) + "\n"


def write_table(path: Path, text: str) -> None:
    """Write a table atomically (temp file in the same folder, then rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as raw, lzma.open(raw, "wb", preset=9 | lzma.PRESET_EXTREME) as out:
            out.write(text.encode("utf-8"))
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def shipped_table_path() -> Path:
    return paths.shipped(TABLE_NAME)


def user_table_path() -> Path:
    return paths.user_data_dir() / USER_FOLDER / TABLE_NAME


@dataclass(slots=True)
class Loaded:
    table: Table | None
    problems: list[str]


@lru_cache(maxsize=4)
def _cached(path: str, mtime: float, size: int) -> Table:
    return load_table(Path(path))


def _load(path: Path) -> Table:
    st = path.stat()
    return _cached(str(path), st.st_mtime, st.st_size)


def current_table() -> Loaded:
    """The table a lookup uses: the user's (from ``ipowner data update``) while it reads, else the shipped one."""
    problems: list[str] = []
    user = user_table_path()
    if user.is_file():
        try:
            return Loaded(_load(user), problems)
        except (OSError, TableError) as exc:
            problems.append(f"{exc}; using the shipped registry table")
    try:
        return Loaded(_load(shipped_table_path()), problems)
    except (OSError, TableError) as exc:
        problems.append(str(exc) if isinstance(exc, TableError) else f"{shipped_table_path()}: {exc}")
        return Loaded(None, problems)


def country_registry(country: str | None) -> str | None:
    """The registry whose delegation statistics list ``country`` most (None: no file lists it)."""
    if not country:
        return None
    table = current_table().table
    return table.country_registries.get(country.upper()) if table is not None else None
