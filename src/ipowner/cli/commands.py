"""Registers every subcommand module with the group (one import and one add_command per command)."""

from ipowner.cli import cli
from ipowner.cli.cache import cache
from ipowner.cli.data import data
from ipowner.cli.diff import diff_cmd
from ipowner.cli.enrich import enrich_cmd
from ipowner.cli.lookup import lookup_cmd
from ipowner.cli.ranges import ranges
from ipowner.cli.report import report_cmd
from ipowner.cli.traffic import traffic_cmd

cli.add_command(lookup_cmd)
cli.add_command(data)
cli.add_command(traffic_cmd)
cli.add_command(report_cmd)
cli.add_command(diff_cmd)
cli.add_command(cache)
cli.add_command(ranges)
cli.add_command(enrich_cmd)

__all__ = ["cli"]
