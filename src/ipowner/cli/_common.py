"""What every subcommand shares: error handling, exit codes, output streams."""

from __future__ import annotations

import sys

import click

from ipowner.errors import IpownerError, UsageError
from ipowner.exitcodes import ExitCode

# click >= 8.2 raises this when a group is called with no arguments: print its help as is.
_NO_ARGS = getattr(click.exceptions, "NoArgsIsHelpError", ())


def error_line(message: str) -> None:
    """Print one line to stderr, prefixed so it is clearly ipowner's."""
    from ipowner.render.escape import terminal_safe

    click.echo(f"ipowner: {terminal_safe(message)}", err=True)


def run_guarded(group: click.Group, argv: list[str] | None) -> int:
    """Run the click group; map every error to a one-line message and an exit code, never a traceback."""
    try:
        rv = group.main(args=argv, prog_name="ipowner", standalone_mode=False)
    except _NO_ARGS as exc:
        click.echo(exc.format_message(), err=True)
        return ExitCode.USAGE
    except click.UsageError as exc:
        error_line(exc.format_message())
        return ExitCode.USAGE
    except click.exceptions.Abort:
        error_line("aborted")
        return ExitCode.FAILURE
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except UsageError as exc:
        error_line(str(exc))
        return ExitCode.USAGE
    except IpownerError as exc:
        error_line(str(exc))
        return ExitCode.FAILURE
    except BrokenPipeError:
        # Output piped into `head` and closed: not an error for the user.
        sys.stderr.close()
        return ExitCode.OK
    except KeyboardInterrupt:
        error_line("interrupted")
        return 130
    except Exception as exc:  # last resort: still one line, with the type so it can be reported
        error_line(f"internal error ({type(exc).__name__}): {exc}")
        return ExitCode.FAILURE
    return int(rv or 0)
