"""Registers every subcommand module with the group (one import and one add_command per command)."""

from ipowner.cli import cli
from ipowner.cli.lookup import lookup_cmd

cli.add_command(lookup_cmd)

__all__ = ["cli"]
