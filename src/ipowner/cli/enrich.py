"""`ipowner enrich`: a table of flows or addresses in, the same rows with each address's facts out."""

from __future__ import annotations

from pathlib import Path

import click

from ipowner.cli._common import detail_line, note, verbosity_options


@click.command("enrich")
@click.argument("table", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The enriched table: .parquet or .csv (by its suffix).")
@click.option("--column", metavar="NAME", help="The address column (default: the first of address, addr, ip, dst, "
                                                "destination, dst_ip, daddr, id.resp_h, server).")
@click.option("--engine", type=click.Choice(["auto", "python", "duckdb"]), default="auto", show_default=True,
              help="python: enrich() batch by batch; duckdb: a range join in SQL (the 'scale' extra); auto: DuckDB "
                   "from 1,000,000 rows (CSV: 64 MB) when installed.")
@click.option("--ranges", "ranges_dir", type=click.Path(file_okay=False, path_type=Path),
              help="A range table from `ipowner ranges export` (DuckDB engine; default: one kept in the cache "
                   "folder, exported again when a source changes).")
@click.option("--memory-limit", default="1GB", show_default=True, metavar="SIZE",
              help="DuckDB's memory limit; past it joins and sorts spill to --temp-dir.")
@click.option("--temp-dir", type=click.Path(file_okay=False, path_type=Path), help="Where DuckDB spills (default: the system's).")
@click.option("--mmdb", multiple=True, metavar="PATH", help="A MaxMind-format database to use as well (repeatable).")
@click.option("--no-system-mmdb", is_flag=True, help="Do not use databases found in the usual places.")
@click.option("--no-embedded", is_flag=True, help="Do not use the embedded database shipped with ipowner.")
@click.option("--no-rdap-cache", is_flag=True, help="Do not answer holders from the RDAP cache.")
@click.option("--cloud-ranges", multiple=True, metavar="FILE",
              help="A provider's published range file (AWS ip-ranges.json, Google cloud.json, Azure service tags; "
                   "repeatable).")
@verbosity_options
def enrich_cmd(table: Path, output: Path, column: str | None, engine: str, ranges_dir: Path | None, memory_limit: str,
               temp_dir: Path | None, mmdb: tuple[str, ...], no_system_mmdb: bool, no_embedded: bool,
               no_rdap_cache: bool, cloud_ranges: tuple[str, ...]) -> int:
    """Add each row's offline facts (location, AS, holder, registry, special-purpose block, cloud) as columns.

    Offline only: the databases, the RDAP cache and the range files; nothing is asked over the network.
    Columns added, each with a <name>_source column: docs/ranges.md. Rows keep their order.
    """
    from ipowner.engines import tables
    from ipowner.errors import UsageError

    kind = tables.table_kind(table)
    out_kind = tables.table_kind(output)
    if output.resolve() == table.resolve():
        raise UsageError(f"-o {output}: is the input table")
    col = tables.pick_column(tables.columns_of(table, kind), column, table)
    choice = tables.choose(engine, table, kind)
    if choice.note:
        note(choice.note)
    if out_kind == "parquet" and choice.engine == "python":
        from ipowner.engines.extra import require_scale

        require_scale("writing Parquet")
    from ipowner.providers.cloud import load_cloud_ranges

    cloud = load_cloud_ranges(cloud_ranges) if cloud_ranges else None
    from ipowner.lookups.enrich import Enrichment

    run = Enrichment(mmdb=mmdb, use_embedded=not no_embedded, discover=not no_system_mmdb,
                     rdap_cache=not no_rdap_cache)
    try:
        if choice.engine == "duckdb":
            rows = _duckdb(table, output, out_kind, kind, col, run, cloud, ranges_dir, memory_limit, temp_dir,
                           mmdb, no_system_mmdb, no_embedded, no_rdap_cache, cloud_ranges)
        else:
            columns, it = tables.python_rows(table, kind, col, run, cloud)
            if out_kind == "parquet":
                rows = tables.write_parquet(table, kind, columns, it, output)
            else:
                rows = _write_csv(output, columns, it)
        problems = run.problems
    finally:
        run.close()
        if cloud is not None:
            cloud.close()
    for p in problems:
        note(p)
    note(f"wrote {output}: {rows} rows ({choice.engine} engine)")
    return 4 if problems else 0


def _write_csv(output: Path, columns: list[str], rows: object) -> int:
    from collections.abc import Iterable
    from typing import Any, cast

    from ipowner.render.csv import write_csv

    n = 0

    def counted() -> Iterable[Any]:
        nonlocal n
        for r in cast(Iterable[Any], rows):
            n += 1
            yield r

    tmp = output.with_name(output.name + ".part")
    with tmp.open("w", encoding="utf-8", newline="") as f:
        write_csv(columns, counted(), f)
    tmp.replace(output)
    return n


def _duckdb(table: Path, output: Path, out_kind: str, kind: str, col: str, run: object, cloud: object,
            ranges_dir: Path | None, memory_limit: str, temp_dir: Path | None, mmdb: tuple[str, ...],
            no_system_mmdb: bool, no_embedded: bool, no_rdap_cache: bool, cloud_ranges: tuple[str, ...]) -> int:
    from typing import Any, cast

    from ipowner.engines import duck, tables

    if ranges_dir is None:
        ranges_dir, built = tables.range_table(mmdb=mmdb, use_embedded=not no_embedded,
                                               discover=not no_system_mmdb, rdap_cache=not no_rdap_cache,
                                               cloud_ranges=cloud_ranges)
        detail_line(f"range table {ranges_dir} ({'exported now' if built else 'kept from an earlier run'})")
    target = output if out_kind == "parquet" else output.with_name(output.name + ".parquet.part")
    summary = duck.enrich_table(table, target, ranges_dir, column=col, input_kind=kind, memory_limit=memory_limit,
                                temp_directory=temp_dir, fallback=cast(Any, run), cloud=cast(Any, cloud))
    if out_kind == "csv":
        from ipowner.render.parquet_csv import parquet_to_csv

        try:
            parquet_to_csv(target, output)
        finally:
            target.unlink(missing_ok=True)
    detail_line(f"{summary.distinct} distinct addresses, {summary.fallback} read outside SQL")
    return summary.rows
