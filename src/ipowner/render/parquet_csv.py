"""A Parquet table as CSV, streamed batch by batch, every text cell made safe for spreadsheets.

Binary cells (the range tables' 16-byte addresses) are written as 32 hex digits, times as ISO 8601 UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from ipowner.render.csv import write_csv

BATCH = 16_384


def _plain(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


def parquet_to_csv(source: Path, target: Path) -> None:
    """Write ``source`` (a Parquet file) as CSV to ``target`` (written to a temporary name, then renamed)."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(source)
    columns = pf.schema_arrow.names

    def rows() -> Iterator[list[Any]]:
        for batch in pf.iter_batches(batch_size=BATCH):
            cols = [batch.column(i).to_pylist() for i in range(batch.num_columns)]
            for row in zip(*cols, strict=True):
                yield [_plain(v) for v in row]

    tmp = target.with_name(target.name + ".part")
    with tmp.open("w", encoding="utf-8", newline="") as stream:
        write_csv(columns, rows(), stream)
    tmp.replace(target)
