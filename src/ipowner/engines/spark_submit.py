"""The Spark job: flows and range tables in, enriched flows, destinations and rollups out, all Parquet.

    spark-submit --master yarn "$(python -c 'import ipowner.engines.spark_submit as m; print(m.__file__)')" \\
        --flows s3a://bucket/flows/ --ranges s3a://bucket/ranges/ --out s3a://bucket/enriched/

Any path Spark reads (local, HDFS, S3 through its connectors) is taken as is. ``--ranges`` is the folder
``ipowner ranges export`` wrote (``ranges_bucketed.parquet`` and ``ranges_wide.parquet`` are read from it).
``--out`` receives ``flows/`` (every flow row with its facts), ``destinations/`` and one folder per rollup
(``rollup_location/``...). Only the driver runs ipowner's code; the executors run Spark SQL alone.
Without spark-submit, ``python -m ipowner.engines.spark_submit`` runs the same job in local mode.
docs/spark.md tells how to run it on a cluster.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ipowner.engines.ranges import BUCKETED_FILE, WIDE_FILE
from ipowner.errors import UsageError
from ipowner.exitcodes import ExitCode

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

APP_NAME = "ipowner-enrich"


def session(app_name: str = APP_NAME, *, master: str | None = None, partitions: int | None = None,
            driver_memory: str | None = None) -> SparkSession:
    """The job's Spark session: the one spark-submit configured, or a local one (``master`` ``local[*]``
    when none is set) bound to the loopback interface, without the web UI. ``driver_memory`` ("2g") takes
    effect only where this call starts the JVM (local mode): the wide range table is broadcast from the
    driver, and Spark's default of 1 GB can be too little for it."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UsageError("the Spark job needs pyspark: pip install 'ipowner[spark]'") from None
    builder = SparkSession.builder.appName(app_name)
    if master is not None:
        builder = builder.master(master)
        if master.startswith("local"):
            builder = (builder.config("spark.driver.bindAddress", "127.0.0.1").config("spark.driver.host", "127.0.0.1")
                       .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false"))
    if partitions is not None:
        builder = builder.config("spark.sql.shuffle.partitions", str(partitions))
    if driver_memory is not None:
        builder = builder.config("spark.driver.memory", driver_memory)
    return builder.getOrCreate()


def _join(base: str, name: str) -> str:
    return base.rstrip("/") + "/" + name


def run(spark: SparkSession, flows: str, ranges: str, out: str, *, mode: str = "errorifexists",
        column: str = "address") -> dict[str, str]:
    """Read the flows and the range tables, write the enriched flows, destinations and rollups under ``out``;
    returns what was written (name -> path)."""
    from ipowner.engines import spark as engine

    flows_df = spark.read.parquet(flows)
    bucketed = spark.read.parquet(_join(ranges, BUCKETED_FILE))
    wide = spark.read.parquet(_join(ranges, WIDE_FILE))
    enriched = engine.enrich(flows_df, bucketed, wide, column=column)
    if column != "address" and "address" not in enriched.columns:  # the rollups count destinations by address
        enriched = enriched.withColumn("address", enriched[column])
    written = {"flows": _join(out, "flows")}
    enriched.write.mode(mode).parquet(written["flows"])
    again = spark.read.parquet(written["flows"])  # the rollups read the written table, not the join again
    for name, df in engine.rollups(again).items():
        path = _join(out, "destinations" if name == "destination" else f"rollup_{name}")
        df.write.mode(mode).parquet(path)
        written[name] = path
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ipowner-spark", description="Enrich Parquet flows with ipowner's range "
                                     "tables in Spark; write the flows with their facts, destinations and rollups.")
    parser.add_argument("--flows", required=True, help="Parquet flows (ipowner traffic -o FILE.parquet, or any table "
                        "with an address column)")
    parser.add_argument("--ranges", required=True, help="the folder ipowner ranges export wrote")
    parser.add_argument("--out", required=True, help="the folder to write (it must not exist, unless --overwrite)")
    parser.add_argument("--column", default="address", help="the flows' address column, when they have no "
                        "family and address_key (default: address)")
    parser.add_argument("--overwrite", action="store_true", help="replace what --out holds")
    parser.add_argument("--master", default=None, help="Spark master when not run by spark-submit (e.g. local[4])")
    parser.add_argument("--partitions", type=int, default=None, help="spark.sql.shuffle.partitions")
    args = parser.parse_args(argv)
    try:
        from pyspark.errors import PySparkException
    except ImportError:
        print("ipowner: the Spark job needs pyspark: pip install 'ipowner[spark]'", file=sys.stderr)
        return int(ExitCode.USAGE)
    spark = session(master=args.master, partitions=args.partitions)
    try:
        written = run(spark, args.flows, args.ranges, args.out, mode="overwrite" if args.overwrite else "errorifexists",
                      column=args.column)
    except UsageError as exc:
        print(f"ipowner: {exc}", file=sys.stderr)
        return int(ExitCode.USAGE)
    except PySparkException as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"ipowner: {first}", file=sys.stderr)
        return int(ExitCode.FAILURE)
    for name, path in written.items():
        print(f"{name}: {path}")
    return int(ExitCode.OK)


if __name__ == "__main__":
    sys.exit(main())
