"""Registers every subcommand module with the group (one import and one add_command per command)."""

from ipowner.cli import cli

__all__ = ["cli"]

from ipowner.cli.traffic import traffic_cmd  # noqa: E402

cli.add_command(traffic_cmd)
