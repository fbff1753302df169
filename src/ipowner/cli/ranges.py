"""`ipowner ranges export`: every range ipowner knows as Parquet tables (and CSV), for range joins elsewhere."""

from __future__ import annotations

from pathlib import Path

import click

from ipowner.cli._common import detail_line, note, verbosity_options


@click.group("ranges")
@verbosity_options
def ranges() -> None:
    """The range table: special-purpose blocks, databases, the RDAP cache and cloud ranges as disjoint segments."""


@ranges.command("export")
@click.option("-o", "--output", "output", required=True, metavar="DIR",
              help="Folder to write ranges.parquet, ranges_bucketed.parquet, ranges_wide.parquet and sources.parquet into.")
@click.option("--csv", "with_csv", is_flag=True, help="Also write ranges.csv and sources.csv.")
@click.option("--mmdb", multiple=True, metavar="PATH", help="A MaxMind-format database to use as well (repeatable).")
@click.option("--no-system-mmdb", is_flag=True, help="Do not use databases found in the usual places.")
@click.option("--no-embedded", is_flag=True, help="Do not use the embedded database shipped with ipowner.")
@click.option("--no-rdap-cache", is_flag=True, help="Leave out the networks in the RDAP cache.")
@click.option("--cloud-ranges", multiple=True, metavar="FILE",
              help="A provider's published range file (AWS ip-ranges.json, Google cloud.json, Azure service tags; "
                   "repeatable).")
@verbosity_options
def export_cmd(output: str, with_csv: bool, mmdb: tuple[str, ...], no_system_mmdb: bool, no_embedded: bool,
               no_rdap_cache: bool, cloud_ranges: tuple[str, ...]) -> int:
    """Write the range table: disjoint segments, each with the facts a lookup of its addresses gives.

    Schema (table version, columns, bucket sizes): docs/ranges.md. Needs the 'scale' extra.
    """
    from ipowner.engines.extra import require_scale

    require_scale("ipowner ranges export")
    from ipowner.engines.ranges import export_ranges

    out = Path(output)
    if out.exists() and not out.is_dir():
        from ipowner.errors import UsageError

        raise UsageError(f"-o {output}: not a folder")
    summary = export_ranges(out, mmdb=mmdb, use_embedded=not no_embedded, discover=not no_system_mmdb,
                            rdap_cache=not no_rdap_cache, cloud_ranges=cloud_ranges)
    for problem in summary.problems:
        note(problem)
    if with_csv:
        from ipowner.engines.ranges import RANGES_FILE, SOURCES_FILE
        from ipowner.render.parquet_csv import parquet_to_csv

        for name in (RANGES_FILE, SOURCES_FILE):
            target = out / name.replace(".parquet", ".csv")
            parquet_to_csv(out / name, target)
            detail_line(f"wrote {target}")
    counts = ", ".join(f"{name}: {summary.total(name)} rows" for name in summary.rows)
    note(f"wrote {out}: {counts}, {len(summary.sources)} sources")
    return 4 if summary.problems else 0
