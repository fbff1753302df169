"""A report as tables of one kind each: destinations, rollups, sources (CSV or TSV).

``write_report_csv`` writes one row per internet destination and nothing else, so that a
spreadsheet's SUM(bytes_sent) is the report's total (which counts internet destinations only). The
rollups (bytes per location, holder, AS, ...), where the report came from (inputs, data sources with
their dates, credits, warnings, the policy gate) and the LAN, multicast and broadcast peers (not
looked up, not in the totals) are tables of their own: ``ipowner report -o report.csv`` writes them
beside it as ``report.rollups.csv``, ``report.sources.csv`` and ``report.peers.csv``
(``render.companions``). Every text cell passes through ``csv_safe``.
"""

from __future__ import annotations

from typing import TextIO

from ipowner.model.report import Report
from ipowner.render.csv import Dialect, write_csv
from ipowner.render.report_rows import DEST_COLUMNS, destination_rows, provenance_items

COLUMNS = list(DEST_COLUMNS)
ROLLUP_COLUMNS = ["group", "rank", "key", "label", "bytes_sent", "bytes_received", "flows", "destinations"]
SOURCE_COLUMNS = ["group", "key", "value", "detail"]


def write_report_csv(report: Report, stream: TextIO, *, dialect: Dialect = "csv") -> None:
    """One row per internet destination, ranked by bytes sent: the rows the report's totals add up."""
    rows = (r for r in destination_rows(report) if r["scope"] == "internet")
    write_csv(COLUMNS, ([r[c] for c in COLUMNS] for r in rows), stream, dialect=dialect)


def write_report_peers_csv(report: Report, stream: TextIO, *, dialect: Dialect = "csv") -> None:
    """One row per LAN, multicast or broadcast peer (``scope`` says which): seen, not looked up, not in
    the totals."""
    rows = (r for r in destination_rows(report) if r["scope"] != "internet")
    write_csv(COLUMNS, ([r[c] for c in COLUMNS] for r in rows), stream, dialect=dialect)


def write_report_rollups_csv(report: Report, stream: TextIO, *, dialect: Dialect = "csv") -> None:
    """One row per rollup row, ``group`` naming the rollup. A destination with several registered
    domains, devices or apps counts under each, so a group's rows can sum to more than the total."""
    rows = [[group, rank, row.key, row.label, row.bytes_sent, row.bytes_received, row.flows, row.destinations]
            for group, items in report.rollups.items() for rank, row in enumerate(items, 1)]
    write_csv(ROLLUP_COLUMNS, rows, stream, dialect=dialect)


def write_report_sources_csv(report: Report, stream: TextIO, *, dialect: Dialect = "csv") -> None:
    """Where the report came from: tool, time, command line, capture span, byte kind, inputs, data sources
    (with their dates), credits, warnings, and the ``--fail-on`` rules with whether they fired."""
    rows = [list(item) for item in provenance_items(report)]
    if report.policy is not None:
        for rule in report.policy.rules:
            hits = {o["address"] for o in report.policy.offending if o["rule"] == rule}
            rows.append(["fail-on", rule, "fired" if hits else "did not fire",
                         f"{len(hits)} destination{'s' if len(hits) != 1 else ''}"])
    write_csv(SOURCE_COLUMNS, rows, stream, dialect=dialect)


def write_report_tsv(report: Report, stream: TextIO) -> None:
    write_report_csv(report, stream, dialect="tsv")


def write_report_rollups_tsv(report: Report, stream: TextIO) -> None:
    write_report_rollups_csv(report, stream, dialect="tsv")


def write_report_sources_tsv(report: Report, stream: TextIO) -> None:
    write_report_sources_csv(report, stream, dialect="tsv")


def write_report_peers_tsv(report: Report, stream: TextIO) -> None:
    write_report_peers_csv(report, stream, dialect="tsv")
