"""The DuckDB engine: a table of flows or addresses joined with the range table in SQL, memory bounded.

Steps, all in one DuckDB connection with a memory limit and a spill folder:

1. the distinct addresses of the input column, parsed to (family, 16-byte key) in SQL (strict dotted quads;
   IPv6 groups, ``::`` expanded). What SQL does not read as a plain address (brackets, zone ids, whitespace,
   dotted IPv6 tails, not an address at all) goes through ``ipowner.enrich()`` instead: few inputs, and the
   same answer or error a lookup gives;
2. an ASOF join of the keys with ``ranges.parquet`` (greatest start at or below the key, same family), kept
   where the key is at or below the row's end;
3. addresses in a translation block: the IPv4 address they carry is decoded in SQL (the rules of
   ``engines.ranges.carried_ipv4``) and joined again; its facts replace all but the block's own, unless it is
   itself special-purpose;
4. the facts joined back onto every input row, in input order, written as Parquet.

The fact columns are those of ``engines.ranges.OUTPUT_COLUMNS``, the same the Python engine writes.
"""

from __future__ import annotations

import os
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
    facts_row,
    output_schema,
)
from ipowner.errors import InputError, UsageError
from ipowner.lookups.enrich import Enrichment
from ipowner.providers.cloud import CloudRangeProvider

DEFAULT_MEMORY = "1GB"  # DuckDB's memory_limit unless told otherwise; past it, joins and sorts spill to disk

# A dotted quad as inet_pton reads it: four numbers 0-255, no leading zeros.
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_V4 = rf"^{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}$"


def _q(name: str) -> str:
    """A SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


# (family, key) of an address text ``a`` (lower case), NULL family when SQL does not read it as a plain address.
_PARSE = f"""
CREATE TEMP TABLE keyed AS
WITH d AS (SELECT address, lower(address) AS a FROM distinct_addr),
v4 AS (
  SELECT address,
         (CAST(split_part(a, '.', 1) AS UBIGINT) << 24) | (CAST(split_part(a, '.', 2) AS UBIGINT) << 16)
         | (CAST(split_part(a, '.', 3) AS UBIGINT) << 8) | CAST(split_part(a, '.', 4) AS UBIGINT) AS n
  FROM d WHERE regexp_full_match(a, '{_V4}')
),
v6raw AS (
  SELECT address, a, string_split(a, '::') AS halves
  FROM d WHERE length(a) BETWEEN 2 AND 39 AND regexp_full_match(a, '^[0-9a-f:]+$')
),
v6parts AS (
  SELECT address, len(halves) AS nh,
         CASE WHEN halves[1] = '' THEN []::VARCHAR[] ELSE string_split(halves[1], ':') END AS l,
         CASE WHEN len(halves) < 2 OR halves[2] = '' THEN []::VARCHAR[] ELSE string_split(halves[2], ':') END AS r
  FROM v6raw WHERE len(halves) <= 2
),
v6 AS (
  SELECT address,
         array_to_string(list_transform(l, lambda g: lpad(g, 4, '0')), '')
         || repeat('0000', 8 - len(l) - len(r))
         || array_to_string(list_transform(r, lambda g: lpad(g, 4, '0')), '') AS hex
  FROM v6parts
  WHERE list_bool_and(list_transform(list_concat(l, r), lambda g: length(g) BETWEEN 1 AND 4)) IS NOT FALSE
    AND ((nh = 1 AND len(l) = 8) OR (nh = 2 AND len(l) + len(r) <= 7))
)
SELECT d.address, CAST(CASE WHEN v4.n IS NOT NULL THEN 4 WHEN v6.hex IS NOT NULL THEN 6 END AS TINYINT) AS family,
       CASE WHEN v4.n IS NOT NULL THEN CAST(v4.n AS UHUGEINT)
            WHEN v6.hex IS NOT NULL THEN CAST('0x' || v6.hex AS UHUGEINT) END AS key
FROM d LEFT JOIN v4 USING (address) LEFT JOIN v6 USING (address)
"""

# The carried IPv4 of a translation address ``key`` (a 128-bit integer), by the rules of docs/ranges.md.
_M32 = "CAST(4294967295 AS UHUGEINT)"
_M16 = "CAST(65535 AS UHUGEINT)"
_CARRIED = f"""
CASE translation
  WHEN 'ipv4-mapped' THEN key & {_M32}
  WHEN 'nat64' THEN key & {_M32}
  WHEN 'nat64-local' THEN (((key >> 64) & {_M16}) << 16) | ((key >> 40) & {_M16})
  WHEN '6to4' THEN (key >> 80) & {_M32}
  WHEN 'teredo' THEN xor(key & {_M32}, {_M32})
END
"""

# The range table's keys, narrow (an ASOF join carries its payload through the sort: keep it small).
_KEYS = """
CREATE TEMP TABLE range_keys AS
SELECT family, CAST('0x' || hex(start) AS UHUGEINT) AS s, CAST('0x' || hex("end") AS UHUGEINT) AS e,
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


def _source_sql(path: Path, kind: str) -> str:
    if kind == "parquet":
        return f"read_parquet({_lit(str(path))}, file_row_number = true)"
    return f"(SELECT row_number() OVER () - 1 AS file_row_number, * FROM read_csv({_lit(str(path))}, all_varchar = true, header = true))"


def join_facts(con: Any, ranges_dir: Path, *, fallback: Enrichment | None = None, summary: JoinSummary,
               cloud: CloudRangeProvider | None = None) -> None:
    """``facts(address, <OUTPUT_COLUMNS>)`` for every row of the temp table ``distinct_addr(address)``."""
    ranges = _lit(str(ranges_dir / RANGES_FILE))
    con.execute(_PARSE)
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
        WITH c AS (SELECT address, CAST(4 AS TINYINT) AS family, {_CARRIED} AS key
                   FROM hit WHERE translation IS NOT NULL)
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
            batch = [output_row(facts_row(e, cloud.find(e.address) if cloud is not None and e.address else None))
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
