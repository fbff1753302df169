"""Tables in, the same rows with their facts out: the engine choice, the Python engine, the range table used.

``choose`` picks the engine: ``python`` (``ipowner.enrich()`` batch by batch: no extra needed), ``duckdb``
(``engines.duck``: needs the ``scale`` extra) or ``auto`` (DuckDB from ``AUTO_ROWS`` input rows, when the extra
is installed). ``range_table`` finds or builds the range table the DuckDB engine joins with: an export kept
in the cache folder under a fingerprint of its sources, rebuilt when any of them changes.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ipowner import paths
from ipowner.engines.extra import INSTALL, require_scale, scale_available
from ipowner.engines.ranges import (
    OUTPUT_COLUMNS,
    RANGES_FILE,
    TABLE_VERSION,
    export_ranges,
    facts_row,
    output_schema,
)
from ipowner.errors import InputError, UsageError
from ipowner.lookups.enrich import Enrichment
from ipowner.providers.cloud import CloudRangeProvider
from ipowner.providers.mmdb.reader import MmdbProvider
from ipowner.providers.rdap import CACHE_FILE, RdapConfig

AUTO_ROWS = 1_000_000  # auto picks DuckDB from this many input rows (CSV: from AUTO_CSV_BYTES)
AUTO_CSV_BYTES = 64 * 1024 * 1024
BATCH = 65_536  # rows per batch in the Python engine
COLUMN_GUESSES = ("address", "addr", "ip", "dst", "destination", "dst_ip", "daddr", "id.resp_h", "server")
MAX_CSV_FIELD = 1 << 20  # a CSV cell longer than this is an error (a hostile file), not a memory sink


def table_kind(path: str | os.PathLike[str]) -> str:
    """``parquet`` or ``csv``, by the file's suffix (UsageError otherwise)."""
    suffix = Path(path).suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix in (".csv", ".txt"):
        return "csv"
    raise UsageError(f"{path}: the suffix {suffix or '(none)'!r} names no table format (.parquet, .csv)")


def columns_of(path: Path, kind: str) -> list[str]:
    """The column names of a table file."""
    if kind == "parquet":
        require_scale("reading Parquet")
        import pyarrow.parquet as pq

        try:
            return list(pq.ParquetFile(path).schema_arrow.names)
        except Exception as exc:
            raise InputError(str(path), f"cannot be read as Parquet ({type(exc).__name__})") from None
    try:
        with path.open(encoding="utf-8", newline="") as f:
            return next(csv.reader(f), [])
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(str(path), f"cannot be read as CSV ({exc})") from None


def pick_column(names: Sequence[str], column: str | None, path: Path) -> str:
    """The address column: the one named, else the first usual name the table has."""
    if column is not None:
        if column not in names:
            raise UsageError(f"{path}: no column {column!r}")
        return column
    for guess in COLUMN_GUESSES:
        if guess in names:
            return guess
    raise UsageError(f"{path}: none of the columns is an address column by name ({', '.join(COLUMN_GUESSES)}); "
                     "give --column")


def count_rows(path: Path, kind: str) -> int | None:
    """Rows of a Parquet file from its footer; None for CSV (its size decides)."""
    if kind != "parquet" or not scale_available():
        return None
    import pyarrow.parquet as pq

    try:
        return int(pq.ParquetFile(path).metadata.num_rows)
    except Exception:
        return None


@dataclass(frozen=True, slots=True)
class Choice:
    engine: str  # "python" or "duckdb"
    note: str | None = None  # one line for stderr (auto fell back), or None


def choose(engine: str, path: Path, kind: str) -> Choice:
    """The engine to run: explicit ``duckdb`` needs the extra (UsageError, exit 2, naming the install);
    ``auto`` takes DuckDB past ``AUTO_ROWS`` rows (CSV: ``AUTO_CSV_BYTES``) and falls back with a note."""
    if engine == "python":
        return Choice("python")
    if engine == "duckdb":
        require_scale("--engine duckdb")
        return Choice("duckdb")
    rows = count_rows(path, kind)
    big = rows >= AUTO_ROWS if rows is not None else (kind == "csv" and path.stat().st_size >= AUTO_CSV_BYTES)
    if not big:
        return Choice("python")
    if scale_available():
        return Choice("duckdb")
    return Choice("python", f"{path}: a large table; the DuckDB engine would be faster ({INSTALL}): "
                            "using the Python engine")


# -- the Python engine ---------------------------------------------------------------------------------

def _with_facts(values: list[Any], run: Enrichment, cloud: CloudRangeProvider | None) -> list[dict[str, Any]]:
    """The output columns of each value (one enrich() answer per distinct non-null value)."""
    distinct = list(dict.fromkeys(v for v in values if v is not None))
    got: dict[str, dict[str, Any]] = {}
    for text, e in zip(distinct, run.run([str(v) for v in distinct]), strict=True):
        row: dict[str, Any] = {}
        hit = cloud.find(e.address) if cloud is not None and e.address is not None else None
        for name, (value, source) in facts_row(e, hit).items():
            row[name] = value
            if name in OUTPUT_COLUMNS and f"{name}_source" in OUTPUT_COLUMNS:
                row[f"{name}_source"] = source
        got[text] = row
    return [got.get(v, {}) if v is not None else {} for v in values]


def python_rows(path: Path, kind: str, column: str, run: Enrichment,
                cloud: CloudRangeProvider | None = None) -> tuple[list[str], Iterator[list[Any]]]:
    """(columns, rows): every input row with its facts appended, in input order, batch by batch."""
    names = columns_of(path, kind)
    clash = sorted(set(names) & set(OUTPUT_COLUMNS))
    if clash:
        raise UsageError(f"{path}: already has the fact columns {', '.join(clash[:5])}")
    at = names.index(column)

    def batches() -> Iterator[list[list[Any]]]:
        if kind == "parquet":
            import pyarrow.parquet as pq

            for batch in pq.ParquetFile(path).iter_batches(batch_size=BATCH):
                cols = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
                yield [list(r) for r in zip(*cols, strict=True)]
            return
        csv.field_size_limit(MAX_CSV_FIELD)
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            next(reader, None)
            rows: list[list[Any]] = []
            try:
                for r in reader:
                    if len(r) != len(names):
                        r = (r + [""] * len(names))[:len(names)]
                    rows.append([v if v != "" else None for v in r])  # an empty cell is no value (as in DuckDB)
                    if len(rows) >= BATCH:
                        yield rows
                        rows = []
            except (csv.Error, UnicodeDecodeError) as exc:
                raise InputError(str(path), f"line {reader.line_num}: {exc}") from None
            if rows:
                yield rows

    def rows() -> Iterator[list[Any]]:
        for batch in batches():
            facts = _with_facts([r[at] for r in batch], run, cloud)
            for r, f in zip(batch, facts, strict=True):
                yield [*r, *(f.get(c) for c in OUTPUT_COLUMNS)]

    return [*names, *OUTPUT_COLUMNS], rows()


def write_parquet(path: Path, kind: str, columns: list[str], rows: Iterator[list[Any]], out: Path) -> int:
    """The Python engine's rows as Parquet (the input's column types kept; CSV columns are text)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if kind == "parquet":
        fields = list(pq.ParquetFile(path).schema_arrow)
    else:
        fields = [pa.field(n, pa.string()) for n in columns[:len(columns) - len(OUTPUT_COLUMNS)]]
    schema = pa.schema([*fields, *output_schema()])
    tmp = out.with_name(out.name + ".part")
    n = 0
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        batch: list[list[Any]] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= BATCH:
                writer.write_table(pa.Table.from_pylist([dict(zip(columns, r, strict=True)) for r in batch],
                                                        schema=schema))
                n += len(batch)
                batch = []
        if batch:
            writer.write_table(pa.Table.from_pylist([dict(zip(columns, r, strict=True)) for r in batch], schema=schema))
            n += len(batch)
    tmp.replace(out)
    return n


# -- the range table the DuckDB engine joins with --------------------------------------------------------

def _stamp(path: str | os.PathLike[str]) -> list[Any]:
    try:
        st = os.stat(path)
    except OSError:
        return [str(path), None]
    return [str(path), st.st_size, st.st_mtime_ns]


def fingerprint(*, mmdb: Sequence[str | os.PathLike[str]], use_embedded: bool, discover: bool, rdap_cache: bool,
                rdap_config: RdapConfig, cloud_ranges: Sequence[str | os.PathLike[str]]) -> str:
    """A key that changes when any source of the range table does (databases, RDAP cache, cloud files)."""
    with MmdbProvider(mmdb, use_embedded=use_embedded, discover=discover) as provider:
        dbs = [_stamp(info.path) for info in provider.databases()]
    cache_dir = rdap_config.cache_dir or paths.user_cache_dir()
    parts = {
        "version": TABLE_VERSION, "databases": dbs, "cloud": [_stamp(p) for p in cloud_ranges],
        "rdap": [_stamp(Path(cache_dir) / name) for name in (CACHE_FILE, CACHE_FILE + "-wal")] if rdap_cache else None,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:20]


def range_table(
    *,
    mmdb: Sequence[str | os.PathLike[str]] = (),
    use_embedded: bool = True,
    discover: bool = True,
    rdap_cache: bool = True,
    rdap_config: RdapConfig | None = None,
    cloud_ranges: Sequence[str | os.PathLike[str]] = (),
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Path, bool]:
    """(folder, built now) of the range table for these sources: kept in the cache folder, exported again
    when a source changed (the older exports are removed)."""
    config = rdap_config if rdap_config is not None else RdapConfig.from_env()
    key = fingerprint(mmdb=mmdb, use_embedded=use_embedded, discover=discover, rdap_cache=rdap_cache,
                      rdap_config=config, cloud_ranges=cloud_ranges)
    root = paths.user_cache_dir() / "ranges"
    folder = root / key
    if (folder / RANGES_FILE).is_file() and (folder / "complete").is_file():
        return folder, False
    if root.is_dir():
        for old in root.iterdir():
            if old.name != key:
                shutil.rmtree(old, ignore_errors=True)
    work = root / f"{key}.part"
    shutil.rmtree(work, ignore_errors=True)
    export_ranges(work, mmdb=mmdb, use_embedded=use_embedded, discover=discover, rdap_cache=rdap_cache,
                  rdap_config=config, cloud_ranges=cloud_ranges, progress=progress)
    (work / "complete").write_text("", encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    work.replace(folder)
    return folder, True


__all__ = ["AUTO_CSV_BYTES", "AUTO_ROWS", "Choice", "choose", "columns_of", "count_rows", "fingerprint",
           "pick_column", "python_rows", "range_table", "table_kind", "write_parquet"]
