"""Registers every subcommand module with the group (one import and one add_command per command)."""

from ipowner.cli import cli
from ipowner.cli.cache import cache
from ipowner.cli.data import data
from ipowner.cli.diff import diff_cmd
from ipowner.cli.lookup import lookup_cmd
from ipowner.cli.report import report_cmd
from ipowner.cli.traffic import traffic_cmd

cli.add_command(lookup_cmd)
cli.add_command(data)
cli.add_command(traffic_cmd)
cli.add_command(report_cmd)
cli.add_command(diff_cmd)
cli.add_command(cache)

__all__ = ["cli"]
