"""The DuckDB engine: a table of flows or addresses joined with the range table in SQL, memory bounded.

Steps, all in one DuckDB connection with a memory limit and a spill folder:

1. the distinct addresses of the input column, each parsed once to (family, 16-byte big-endian key) by
   ``inet_pton`` in batches, or taken from the table's key columns where it has valid ones
   (``<column>_family``/``<column>_key``, or the flow table's ``family``/``address_key`` for ``address``:
   docs/ranges.md, "Keyed tables"). What ``inet_pton`` does not read as a plain
   address (brackets, zone ids, whitespace, leading zeros, not an address at all) goes through
   ``ipowner.enrich()`` instead: few inputs, and the same answer or error a lookup gives;
2. an ASOF join of the keys with ``ranges.parquet`` (greatest start at or below the key, same family), kept
   where the key is at or below the row's end, comparing the stored 16-byte keys as they are;
3. addresses in a translation block: the IPv4 address they carry is decoded in SQL (the rules of
   ``engines.ranges.carried_ipv4``) and joined again; its facts replace all but the block's own, unless it is
   itself special-purpose;
4. the facts joined back onto every input row, in input order, written as Parquet.

The fact columns are those of ``engines.ranges.OUTPUT_COLUMNS``, the same the Python engine writes.
"""

from __future__ import annotations

import os
import re
import socket
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ipowner.engines.ranges import (
    EXTRA,
    FACTS,
    OUTPUT_COLUMNS,
    RANGES_FILE,
    cloud_answer,
    facts_row,
    output_schema,
)
from ipowner.errors import InputError, UsageError
from ipowner.lookups.enrich import Enrichment
from ipowner.providers.cloud import CloudRangeProvider

DEFAULT_MEMORY = "1GB"  # DuckDB's memory_limit unless told otherwise; past it, joins and sorts spill to disk

def _q(name: str) -> str:
    """A SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


_PARSE_BATCH = 500_000  # distinct addresses parsed per round trip to Python (bounds the Python lists)
_V4_PAD = bytes(12)  # an IPv4 key: 12 zero bytes, then the address (docs/ranges.md: binary order is address order)
_V4_MAX_KEY = "'" + "".join(["\\x00"] * 12 + ["\\xFF"] * 4) + "'::BLOB"
# What a key column must hold to be taken as given: family 4 or 6 and 16 bytes, an IPv4 key within 32 bits.
_KEY_OK = f"(family IN (4, 6) AND octet_length(key) = 16 AND (family = 6 OR key <= {_V4_MAX_KEY}))"


def _pton(texts: list[Any]) -> tuple[list[int | None], list[bytes | None]]:
    """(family, 16-byte key) per address text, (None, None) where it is not a plain address. The C parser
    (``inet_pton``) is strict: no whitespace, brackets, zone ids or leading zeros in a dotted quad; those
    inputs go through enrich() and get the answer or error a lookup gives."""
    pton, v4, v6 = socket.inet_pton, socket.AF_INET, socket.AF_INET6
    fams: list[int | None] = []
    keys: list[bytes | None] = []
    for text in texts:
        try:
            keys.append(_V4_PAD + pton(v4, text))
            fams.append(4)
            continue
        except (OSError, ValueError, TypeError):
            pass
        try:
            keys.append(pton(v6, text))
            fams.append(6)
        except (OSError, ValueError, TypeError):
            keys.append(None)
            fams.append(None)
    return fams, keys


def _parse(con: Any) -> None:
    """``keyed(address, family, key)`` for every row of ``distinct_addr``: the key columns where the input
    carried valid ones (``distinct_addr.family``/``key``), else the text parsed once per distinct address."""
    import pyarrow as pa

    con.execute("CREATE TEMP TABLE keyed (address VARCHAR, family TINYINT, key BLOB)")
    cols = {d[0] for d in con.execute("SELECT * FROM distinct_addr LIMIT 0").description}
    if {"family", "key"} <= cols:
        con.execute(f"INSERT INTO keyed SELECT address, family, key FROM distinct_addr WHERE {_KEY_OK}")
        con.execute(f"CREATE TEMP TABLE to_parse AS SELECT address FROM distinct_addr WHERE NOT {_KEY_OK} "
                    "OR family IS NULL OR key IS NULL")
    else:
        con.execute("CREATE TEMP TABLE to_parse AS SELECT address FROM distinct_addr")
    total = con.execute("SELECT count(*) FROM to_parse").fetchall()[0][0]
    for lo in range(0, total, _PARSE_BATCH):
        texts = con.sql(f"SELECT address FROM to_parse WHERE rowid >= {int(lo)} AND rowid < {int(lo + _PARSE_BATCH)}"
                        ).to_arrow_table().column(0)
        fams, keys = _pton(texts.to_pylist())
        con.register("parsed", pa.table({"address": texts, "family": pa.array(fams, pa.int8()),
                                         "key": pa.array(keys, pa.binary())}))
        con.execute("INSERT INTO keyed SELECT * FROM parsed")
        con.unregister("parsed")
    con.execute("DROP TABLE to_parse")


# The carried IPv4 of a translation address ``n`` (its key as a 128-bit integer), by the rules of docs/ranges.md.
_M32 = "CAST(4294967295 AS UHUGEINT)"
_M16 = "CAST(65535 AS UHUGEINT)"
_CARRIED = f"""
CASE translation
  WHEN 'ipv4-mapped' THEN n & {_M32}
  WHEN 'nat64' THEN n & {_M32}
  WHEN 'nat64-local' THEN (((n >> 64) & {_M16}) << 16) | ((n >> 40) & {_M16})
  WHEN '6to4' THEN (n >> 80) & {_M32}
  WHEN 'teredo' THEN xor(n & {_M32}, {_M32})
END
"""

# The range table's keys, narrow (an ASOF join carries its payload through the sort: keep it small). The
# 16-byte big-endian keys compare as they are stored (binary order is address order within a family).
_KEYS = """
CREATE TEMP TABLE range_keys AS
SELECT family, start AS s, "end" AS e,
       file_row_number AS rid, translation, special IS NOT NULL AS is_special
FROM read_parquet({ranges}, file_row_number = true)
"""


@dataclass(slots=True)
class JoinSummary:
    """What a DuckDB run did: rows, distinct addresses, those SQL could not read, and the settings used."""

    rows: int = 0
    distinct: int = 0
    fallback: int = 0  # distinct inputs answered through enrich() (not plain addresses)
    memory_limit: str = DEFAULT_MEMORY
    problems: list[str] = field(default_factory=list)


def connect(memory_limit: str = DEFAULT_MEMORY, temp_directory: str | os.PathLike[str] | None = None,
            threads: int | None = None) -> Any:
    """A DuckDB connection with a memory limit and a spill folder (insertion order kept)."""
    import duckdb

    con = duckdb.connect(":memory:")
    con.execute(f"SET memory_limit = {_lit(memory_limit)}")
    con.execute(f"SET temp_directory = {_lit(str(temp_directory or tempfile.gettempdir()))}")
    con.execute("SET preserve_insertion_order = true")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    return con


_INT_TYPE = re.compile(r"U?(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT)")


def _source_sql(path: Path, kind: str) -> str:
    if kind == "parquet":
        return f"read_parquet({_lit(str(path))}, file_row_number = true)"
    return f"(SELECT row_number() OVER () - 1 AS file_row_number, * FROM read_csv({_lit(str(path))}, all_varchar = true, header = true))"


def join_facts(con: Any, ranges_dir: Path, *, fallback: Enrichment | None = None, summary: JoinSummary,
               cloud: CloudRangeProvider | None = None) -> None:
    """``facts(address, <OUTPUT_COLUMNS>)`` for every row of the temp table ``distinct_addr(address)``."""
    ranges = _lit(str(ranges_dir / RANGES_FILE))
    _parse(con)
    if not _has_table(con, "range_keys"):
        con.execute(_KEYS.format(ranges=ranges))
    # 1. each address's segment (and, in a translation block, the carried IPv4's segment)
    con.execute("""
        CREATE TEMP TABLE hit AS
        SELECT k.address, k.key, CASE WHEN r.e >= k.key THEN r.rid END AS rid,
               CASE WHEN r.e >= k.key THEN r.translation END AS translation
        FROM (SELECT * FROM keyed WHERE family IS NOT NULL) k
        ASOF LEFT JOIN range_keys r ON k.family = r.family AND k.key >= r.s
    """)
    con.execute(f"""
        CREATE TEMP TABLE carried AS
        WITH t AS (SELECT address, translation, CAST('0x' || hex(key) AS UHUGEINT) AS n
                   FROM hit WHERE translation IS NOT NULL),
        c AS (SELECT address, CAST(4 AS TINYINT) AS family,
                     unhex(lpad(hex(CAST({_CARRIED} AS UBIGINT)), 32, '0')) AS key FROM t)
        SELECT c.address, CASE WHEN r.e >= c.key AND NOT r.is_special THEN r.rid END AS rid
        FROM c ASOF LEFT JOIN (SELECT * FROM range_keys WHERE family = 4) r ON c.family = r.family AND c.key >= r.s
    """)
    # 2. the facts of the segments met, read once from the wide table
    fact_cols = [c.name for c in FACTS]
    value_cols = [*[x for n in fact_cols for x in (n, f"{n}_source")], *EXTRA]
    con.execute(f"""
        CREATE TEMP TABLE met AS
        SELECT file_row_number AS rid, {", ".join(_q(c) for c in value_cols)}
        FROM read_parquet({ranges}, file_row_number = true)
        WHERE file_row_number IN (SELECT rid FROM hit WHERE rid IS NOT NULL
                                  UNION SELECT rid FROM carried WHERE rid IS NOT NULL)
    """)
    own = [x for n in fact_cols if n.startswith("special") for x in (n, f"{n}_source")]
    theirs = [*[x for n in fact_cols if not n.startswith("special") for x in (n, f"{n}_source")], *EXTRA]
    cols = ", ".join(
        [f"m.{_q(c)}" for c in own]
        + [f"CASE WHEN h.translation IS NOT NULL THEN mc.{_q(c)} ELSE m.{_q(c)} END AS {_q(c)}" for c in theirs]
    )
    con.execute(f"""
        CREATE TEMP TABLE facts AS
        SELECT h.address, {cols}
        FROM hit h LEFT JOIN met m ON m.rid = h.rid
        LEFT JOIN carried c ON c.address = h.address LEFT JOIN met mc ON mc.rid = c.rid
    """)
    # What SQL could not read: through enrich(), the answer (or error) a lookup gives.
    odd = [row[0] for row in con.execute("SELECT address FROM keyed WHERE family IS NULL").fetchall()]
    summary.fallback = len(odd)
    if odd:
        import pyarrow as pa

        own_run = fallback is None
        run = fallback if fallback is not None else Enrichment()
        try:
            batch = [output_row(facts_row(e, cloud_answer(cloud, e) if cloud is not None else None,
                                           cloud_asked=cloud is not None))
                     for e in run.run(odd)]
        finally:
            if own_run:
                run.close()
        schema = output_schema()
        table = pa.Table.from_pylist([{"address": a, **row} for a, row in zip(odd, batch, strict=True)],
                                     schema=pa.schema([pa.field("address", pa.string()), *schema]))
        con.register("odd_facts", table)
        con.execute("INSERT INTO facts SELECT * FROM odd_facts")
        con.unregister("odd_facts")


def _has_table(con: Any, name: str) -> bool:
    got = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [name]).fetchone()
    return bool(got and got[0])


def output_row(facts: dict[str, tuple[Any, str]]) -> dict[str, Any]:
    """``facts_row``'s answer as the enriched table's columns (value, and ``<name>_source``; non-null only)."""
    out: dict[str, Any] = {}
    for name, (value, source) in facts.items():
        out[name] = value
        if name not in EXTRA:
            out[f"{name}_source"] = source
    return out


def enrich_table(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    ranges_dir: str | os.PathLike[str],
    *,
    column: str,
    input_kind: str,
    memory_limit: str = DEFAULT_MEMORY,
    temp_directory: str | os.PathLike[str] | None = None,
    threads: int | None = None,
    fallback: Enrichment | None = None,
    cloud: CloudRangeProvider | None = None,
) -> JoinSummary:
    """Every row of the input table (Parquet or CSV, ``input_kind``) with the facts of its ``column``, in
    input order, written as Parquet to ``output_path``. ``fallback`` answers inputs SQL does not read (by
    default an offline ``enrich()`` with the default sources)."""
    import duckdb

    try:
        return _enrich_table(input_path, output_path, ranges_dir, column=column, input_kind=input_kind,
                             memory_limit=memory_limit, temp_directory=temp_directory, threads=threads,
                             fallback=fallback, cloud=cloud)
    except duckdb.Error as exc:  # a table DuckDB cannot read to the end (bad bytes, a line past its limit)
        raise InputError(str(input_path), f"cannot be enriched ({_first_line(exc)})") from None


def _enrich_table(input_path: str | os.PathLike[str], output_path: str | os.PathLike[str],
                  ranges_dir: str | os.PathLike[str], *, column: str, input_kind: str, memory_limit: str,
                  temp_directory: str | os.PathLike[str] | None, threads: int | None, fallback: Enrichment | None,
                  cloud: CloudRangeProvider | None) -> JoinSummary:
    summary = JoinSummary(memory_limit=memory_limit)
    src = _source_sql(Path(input_path), input_kind)
    con = connect(memory_limit, temp_directory, threads)
    try:
        try:
            names = [d[0] for d in con.execute(f"SELECT * FROM {src} LIMIT 0").description]
        except Exception as exc:
            raise InputError(str(input_path), f"cannot be read as {input_kind} ({_first_line(exc)})") from None
        names = [n for n in names if n != "file_row_number"]
        if column not in names:
            raise UsageError(f"{input_path}: no column {column!r} (columns: {', '.join(names[:20])})")
        clash = sorted(set(names) & set(OUTPUT_COLUMNS))
        if clash:
            raise UsageError(f"{input_path}: already has the fact columns {', '.join(clash[:5])}")
        con.execute(f"CREATE TEMP VIEW src AS SELECT * FROM {src}")
        types = {r[0]: str(r[1]) for r in con.execute("DESCRIBE SELECT * FROM src").fetchall()}
        pairs = [(f"{column}_family", f"{column}_key")] + ([("family", "address_key")] if column == "address" else [])
        keyed = [(f, k) for f, k in pairs if _INT_TYPE.fullmatch(types.get(f, "")) and types.get(k) == "BLOB"]
        if keyed:
            fam, key = keyed[0]
            # A keyed table: one key per distinct text (the least, should a table disagree with itself).
            con.execute(f"""
                CREATE TEMP TABLE distinct_addr AS
                SELECT address, fk.f AS family, fk.k AS key
                FROM (SELECT CAST({_q(column)} AS VARCHAR) AS address,
                             min(struct_pack(f := TRY_CAST({_q(fam)} AS TINYINT), k := {_q(key)})) AS fk
                      FROM src WHERE {_q(column)} IS NOT NULL GROUP BY 1)
            """)
        else:
            con.execute(f"CREATE TEMP TABLE distinct_addr AS SELECT DISTINCT CAST({_q(column)} AS VARCHAR) AS address "
                        f"FROM src WHERE {_q(column)} IS NOT NULL")
        summary.distinct = con.execute("SELECT count(*) FROM distinct_addr").fetchone()[0]
        join_facts(con, Path(ranges_dir), fallback=fallback, summary=summary, cloud=cloud)
        keep = ", ".join(f"s.{_q(n)}" for n in names)
        facts = ", ".join(f"f.{_q(c)}" for c in OUTPUT_COLUMNS)
        out = Path(output_path)
        tmp = out.with_name(out.name + ".part")
        con.execute(f"""
            COPY (SELECT {keep}, {facts} FROM src s LEFT JOIN facts f ON CAST(s.{_q(column)} AS VARCHAR) = f.address
                  ORDER BY s.file_row_number)
            TO {_lit(str(tmp))} (FORMAT parquet, COMPRESSION zstd)
        """)
        tmp.replace(out)
        summary.rows = con.execute(f"SELECT count(*) FROM read_parquet({_lit(str(out))})").fetchone()[0]
    finally:
        con.close()
    return summary


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def facts_of(addresses: Sequence[str], ranges_dir: str | os.PathLike[str], *,
             fallback: Enrichment | None = None, memory_limit: str = DEFAULT_MEMORY) -> dict[str, dict[str, Any]]:
    """Address -> its output columns (non-null only), for a list of addresses: the join, for tests and callers
    that hold the addresses in memory."""
    import pyarrow as pa

    summary = JoinSummary(memory_limit=memory_limit)
    con = connect(memory_limit)
    try:
        con.register("given", pa.table({"address": pa.array(list(dict.fromkeys(addresses)), pa.string())}))
        con.execute("CREATE TEMP TABLE distinct_addr AS SELECT address FROM given")
        join_facts(con, Path(ranges_dir), fallback=fallback, summary=summary)
        rows = con.execute(f"SELECT address, {', '.join(_q(c) for c in OUTPUT_COLUMNS)} FROM facts").fetchall()
    finally:
        con.close()
    return {r[0]: {c: v for c, v in zip(OUTPUT_COLUMNS, r[1:], strict=True) if v is not None} for r in rows}


__all__ = ["DEFAULT_MEMORY", "JoinSummary", "connect", "enrich_table", "facts_of", "join_facts", "output_row"]
