"""Engines for tables too big for one Python process: the range table as Parquet, joins in DuckDB (or Spark)."""
