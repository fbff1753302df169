"""What every subcommand shares: error handling, exit codes, output streams, the command line as run."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO, cast

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


# The format a file's suffix asks for, when --format is not given.
_SUFFIX = {".json": "json", ".jsonl": "jsonl", ".csv": "csv", ".md": "markdown", ".html": "html", ".htm": "html"}


def pick_format(fmt: str | None, output: str | None) -> str:
    """``--format`` when given, else the one ``-o FILE``'s suffix names, else the terminal table."""
    if fmt:
        return fmt
    if output and output != "-":
        return _SUFFIX.get(Path(output).suffix.lower(), "table")
    return "table"


def stdout() -> TextIO:
    """stdout as click hands it out: re-wrapped when the locale's encoding or error mode is unfit."""
    # click 8.5 deprecates get_text_stream (it is reached through the module's __getattr__, untyped
    # there); until it goes, the commands write through it so their bytes stay click's in every locale.
    get_text_stream = cast("Callable[[str], TextIO]", click.get_text_stream)
    return get_text_stream("stdout")


def open_output(output: str | None) -> TextIO:
    """stdout for no ``-o`` or ``-o -``, else the file, opened for writing (the caller closes it)."""
    if not output or output == "-":
        return stdout()
    try:
        return open(output, "w", encoding="utf-8", newline="")  # noqa: SIM115 (closed by the caller)
    except OSError as exc:
        raise UsageError(f"{output}: cannot write ({exc.strerror or exc})") from None


@contextmanager
def output_stream(output: str | None) -> Iterator[TextIO]:
    """``open_output`` for a ``with`` block: a file is closed at the end, stdout flushed."""
    stream = open_output(output)
    try:
        yield stream
    finally:
        if stream is not sys.stdout and output and output != "-":
            stream.close()
        else:
            stream.flush()


def command_line(name: str, params: dict[str, Any]) -> list[str]:
    """The command as run, rebuilt from its parsed options (deterministic, whatever the caller)."""
    out = ["ipowner", name]
    positional = ("inputs", "before", "after")
    ordered = [k for k in positional if k in params] + [k for k in params if k not in positional]
    for key in ordered:
        value = params[key]
        flag = "--" + key.replace("_", "-")
        if key in ("inputs", "before", "after"):
            out += list(value) if isinstance(value, tuple) else [value]
        elif isinstance(value, bool):
            if value:
                out.append(flag)
        elif isinstance(value, tuple):
            for v in value:
                out += [flag, str(v)]
        elif value is not None:
            out += ["--format" if key == "fmt" else flag, str(value)]
    return out
