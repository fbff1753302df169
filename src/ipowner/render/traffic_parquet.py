"""Traffic as a Parquet flow table: one row per (device, destination, app) pair, written in row groups.

The table's columns, version and metadata are documented in docs/tables.md (``ipowner.flows/1``).
``write_traffic_parquet`` writes a traffic document's pairs (``traffic(pairs=True)``);
``FlowTableWriter`` writes rows as they come, one row group per batch, so a streamed log is never held
whole (``ipowner traffic --stream``). Both write the same schema, so every engine reads either alike.
pyarrow is imported on first use (the ``scale`` or ``spark`` extra).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO

from ipowner._addr import parse_address
from ipowner.errors import UsageError
from ipowner.model.kinds import ByteKind
from ipowner.model.traffic import TrafficPair, TrafficResult

if TYPE_CHECKING:
    import pyarrow as pa

TABLE_SCHEMA = "ipowner.flows/1"
INSTALL = "pip install 'ipowner[scale]'"
BATCH_ROWS = 65536  # rows per row group when writing a document's pairs
_COUNTS = ("flows", "packets_sent", "packets_received", "bytes_sent", "bytes_received", "ip_bytes_sent",
           "ip_bytes_received")
# Times no calendar holds are unknown (null), as in the JSON documents.
_TIME_FIRST, _TIME_LAST = datetime(1970, 1, 1, tzinfo=UTC).timestamp(), datetime(9999, 12, 31, tzinfo=UTC).timestamp()


def pyarrow_module() -> Any:
    """pyarrow, or a ``UsageError`` naming the install command when the extra is missing."""
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401 (the writer lives in the submodule)
    except ImportError:
        raise UsageError(f"Parquet output needs pyarrow: {INSTALL}") from None
    return pyarrow


def flow_schema() -> pa.Schema:
    """The Arrow schema of the flow table (docs/tables.md)."""
    pa = pyarrow_module()
    name = pa.struct([("name", pa.string()), ("source", pa.string()), ("concealment", pa.string())])
    fields = [
        pa.field("device", pa.string()),
        pa.field("address", pa.string(), nullable=False),
        pa.field("family", pa.int8(), nullable=False),
        pa.field("address_key", pa.binary(16), nullable=False),
        pa.field("address_v4", pa.int64()),
        pa.field("app", pa.string()),
        pa.field("scope", pa.string(), nullable=False),
        *(pa.field(c, pa.int64(), nullable=False) for c in _COUNTS),
        pa.field("byte_kind", pa.string(), nullable=False),
        pa.field("first_seen", pa.timestamp("us", tz="UTC")),
        pa.field("last_seen", pa.timestamp("us", tz="UTC")),
        pa.field("ports", pa.list_(pa.string())),
        pa.field("hostnames", pa.list_(name)),
    ]
    return pa.schema(fields, metadata={"ipowner.schema": TABLE_SCHEMA})


def address_key(version: int, value: int) -> bytes:
    """The 16-byte big-endian join key of an address, as the range table's ``start`` and ``end`` are
    written (docs/ranges.md): the address as a 128-bit integer, IPv4 zero-padded; ``family`` tells them apart."""
    return value.to_bytes(16, "big")


def _time(t: float | None) -> datetime | None:
    if t is None or not _TIME_FIRST <= t <= _TIME_LAST:
        return None
    return datetime.fromtimestamp(t, tz=UTC)


class FlowTableWriter:
    """Writes flow-table rows to ``out`` (a path or a binary file), one row group per ``write`` call."""

    def __init__(self, out: str | BinaryIO, *, byte_kind: ByteKind) -> None:
        pa = pyarrow_module()
        self._pa = pa
        self.schema = flow_schema()
        self.byte_kind = byte_kind.value
        self.rows = 0
        self._writer = pa.parquet.ParquetWriter(out, self.schema, compression="zstd")

    def write(self, rows: Sequence[TrafficPair]) -> None:
        """One row group of ``rows`` (nothing for none)."""
        if not rows:
            return
        pa = self._pa
        keys: list[bytes] = []
        families: list[int] = []
        v4: list[int | None] = []
        for r in rows:
            _, version, value = parse_address(r.address)
            families.append(version)
            keys.append(address_key(version, value))
            v4.append(value if version == 4 else None)
        columns: dict[str, Any] = {
            "device": [r.device for r in rows],
            "address": [r.address for r in rows],
            "family": families,
            "address_key": keys,
            "address_v4": v4,
            "app": [r.app for r in rows],
            "scope": [r.scope.value for r in rows],
            **{c: [getattr(r, c) for r in rows] for c in _COUNTS},
            "byte_kind": [self.byte_kind] * len(rows),
            "first_seen": [_time(r.first_seen) for r in rows],
            "last_seen": [_time(r.last_seen) for r in rows],
            "ports": [r.ports for r in rows],
            "hostnames": [[{"name": h.name, "source": h.source.value,
                            "concealment": h.concealment.value if h.concealment else None} for h in r.hostnames]
                          for r in rows],
        }
        self._writer.write_table(pa.Table.from_pydict(columns, schema=self.schema))
        self.rows += len(rows)

    def close(self) -> None:
        self._writer.close()

    def __enter__(self) -> FlowTableWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def _batches(rows: list[TrafficPair]) -> Iterable[list[TrafficPair]]:
    for i in range(0, len(rows), BATCH_ROWS):
        yield rows[i : i + BATCH_ROWS]


def write_traffic_parquet(result: TrafficResult, out: BinaryIO) -> None:
    """The pairs of ``result`` (read with ``traffic(..., pairs=True)``) as a flow table."""
    if result.destinations and not result.pairs:
        raise UsageError("this traffic was read without its pairs: read it with traffic(..., pairs=True) "
                         "to write Parquet")
    with FlowTableWriter(out, byte_kind=result.byte_kind) as writer:
        for batch in _batches(result.pairs):
            writer.write(batch)
