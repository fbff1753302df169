"""The ``ipowner`` command: a thin layer over the library API.

Subcommands live one per module; each turns options into a library call and a renderer call.
"""

from __future__ import annotations

import sys

import click

from ipowner._version import __version__
from ipowner.cli._common import IpownerGroup, run_guarded, verbosity_options


def _version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    from ipowner.capture.core import core_status

    click.echo(f"ipowner {__version__} (capture reader: {core_status()})")
    ctx.exit()


@click.group(cls=IpownerGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_version,
              help="Show the version and which capture reader is built, and exit.")
@verbosity_options
def cli() -> None:
    """Who holds the servers a device talks to: holder, registry chain, origin AS, location, jurisdiction.

    \b
    Exit codes (all commands):
      0    everything asked for was answered (also when the reader of a pipe stops early)
      1    failure: nothing could be answered
      2    usage error
      3    a --fail-on gate fired (report: a destination matched; diff: a change matched; wins over 4)
      4    partial: some inputs, records or addresses could not be read or answered
      130  interrupted (Ctrl-C)

    \b
    Shell completion: eval "$(_IPOWNER_COMPLETE=bash_source ipowner)" in ~/.bashrc
    (zsh_source in ~/.zshrc; fish: _IPOWNER_COMPLETE=fish_source ipowner | source).
    """


def _register() -> None:
    # Each subcommand module adds itself to the group; imported here so `ipowner --help` lists them all.
    from ipowner.cli import commands  # noqa: F401


def main(argv: list[str] | None = None) -> None:
    _register()
    sys.exit(run_guarded(cli, argv))
