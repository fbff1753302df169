"""What every subcommand shares: error handling, exit codes, output streams and formats, how much is
said on stderr (``-q``/``-v``), the command line as run.

Conventions: errors are one line on stderr; ``-q`` keeps only them, ``-v`` adds each address's failure
and the full provenance; a pipe closed by the reader (``| head``) ends the run quietly with status 0,
Ctrl-C with 130; ``-o FILE`` takes its format from the suffix, and an unknown suffix or a ``--format``
that contradicts it is a usage error.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, TextIO, TypeVar

import click

from ipowner.errors import IpownerError, UsageError
from ipowner.exitcodes import ExitCode

F = TypeVar("F", bound=Callable[..., Any])

INTERRUPTED = 130  # 128 + SIGINT, as shells report a command ended by Ctrl-C

# click >= 8.2 raises this when a group is called with no arguments: print its help as is.
_NO_ARGS = getattr(click.exceptions, "NoArgsIsHelpError", ())


def error_line(message: str) -> None:
    """Print one line to stderr, prefixed so it is clearly ipowner's (always, even with ``-q``)."""
    from ipowner.render.escape import terminal_safe

    click.echo(f"ipowner: {terminal_safe(message)}", err=True)


# -- how much is said on stderr -------------------------------------------------------------------
_VERBOSE = "ipowner.verbose"
_QUIET = "ipowner.quiet"


def _meta() -> dict[str, Any]:
    ctx = click.get_current_context(silent=True)
    return ctx.meta if ctx is not None else {}


def verbosity() -> int:
    """-1 with ``-q``, 0 by default, 1 or more with ``-v`` (given before or after the subcommand)."""
    meta = _meta()
    return -1 if meta.get(_QUIET) else int(meta.get(_VERBOSE, 0))


def note(message: str) -> None:
    """A warning or summary line on stderr, unless ``-q``."""
    if verbosity() >= 0:
        error_line(message)


def detail_line(message: str) -> None:
    """A line on stderr only with ``-v`` (each address's failure, each file written)."""
    if verbosity() >= 1:
        error_line(message)


def _set_verbose(ctx: click.Context, _param: click.Parameter, value: int) -> None:
    if value:
        ctx.meta[_VERBOSE] = max(int(ctx.meta.get(_VERBOSE, 0)), value)


def _set_quiet(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.meta[_QUIET] = True


def verbosity_options(f: F) -> F:
    """``-q/--quiet`` and ``-v/--verbose`` (repeatable), on the group and on every subcommand."""
    f = click.option("-v", "--verbose", count=True, expose_value=False, callback=_set_verbose,
                     help="Say more: each address's failure on stderr, the full provenance and every hostname "
                          "in tables.")(f)
    f = click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_set_quiet,
                     help="Only errors on stderr: no warnings, summaries or progress.")(f)
    return f


class IpownerGroup(click.Group):
    """The group: a closed output pipe ends a command quietly (status 0), Ctrl-C with status 130."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            _silence_stdout()
            raise click.exceptions.Exit(int(ExitCode.OK)) from None
        except KeyboardInterrupt:
            error_line("interrupted")
            raise click.exceptions.Exit(INTERRUPTED) from None


def _silence_stdout() -> None:
    """After the reader closed the pipe: point stdout at /dev/null so the final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


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
    except click.exceptions.Abort as exc:
        if isinstance(exc.__context__, KeyboardInterrupt) or isinstance(exc.__cause__, KeyboardInterrupt):
            error_line("interrupted")
            return INTERRUPTED
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
        _silence_stdout()
        return ExitCode.OK
    except KeyboardInterrupt:
        error_line("interrupted")
        return INTERRUPTED
    except Exception as exc:  # last resort: still one line, with the type so it can be reported
        error_line(f"internal error ({type(exc).__name__}): {exc}")
        return ExitCode.FAILURE
    return int(rv or 0)


# The format a file's suffix names (the usual names of each format).
SUFFIX_FORMATS = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "tsv",
                  ".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html", ".txt": "table",
                  ".parquet": "parquet"}


def pick_format(fmt: str | None, output: str | None, kind: str | None = None) -> str:
    """The format to write: ``--format``, or the one ``-o FILE``'s suffix names, else the terminal table.

    A suffix that names no format is an error unless ``--format`` is given; a ``--format`` that
    contradicts the suffix is an error; so is a format ``kind`` documents cannot be written in.
    """
    if output and output != "-":
        suffix = Path(output).suffix.lower()
        implied = SUFFIX_FORMATS.get(suffix)
        if implied is None and not fmt:
            what = f"the suffix {suffix!r} names no format" if suffix else "no suffix names its format"
            known = ", ".join(s for s in SUFFIX_FORMATS)
            raise UsageError(f"-o {output}: {what} ({known}); give --format")
        if implied is not None and fmt and fmt != implied:
            raise UsageError(f"--format {fmt} contradicts -o {output} (a {suffix} file is {implied})")
        fmt = fmt or implied
    fmt = fmt or "table"
    if kind is not None:
        from ipowner.render import formats

        if fmt not in formats(kind):
            raise UsageError(f"a {kind} cannot be written as {fmt} (formats: {', '.join(formats(kind))})")
    return fmt


def companion_path(output: str, name: str) -> Path:
    """``report.csv`` -> ``report.rollups.csv``: a table written beside the main one."""
    p = Path(output)
    return p.with_name(f"{p.stem}.{name}{p.suffix}")


def write_output(document: Any, fmt: str, output: str | None, *, kind: str) -> None:
    """Render ``document`` to ``-o FILE`` or stdout; a one-kind format's other tables (a report's rollups
    and sources in CSV) go beside the file, or are named on stderr when writing to stdout."""
    from ipowner.render import companions, is_binary, render

    if is_binary(fmt):
        with binary_output(output, fmt) as binary:
            render(document, fmt, binary, kind=kind)
        detail_line(f"wrote {output}")
        return
    with output_stream(output) as stream:
        render(document, fmt, stream, kind=kind, verbose=verbosity() >= 1)
    extra = companions(kind, fmt)
    if not extra:
        return
    if not output or output == "-":
        names = ", ".join(f"FILE.{n}.{fmt}" for n in extra)
        note(f"{fmt.upper()} on stdout holds one table only (the {kind}'s destinations); -o FILE.{fmt} also "
             f"writes {names}; --format json keeps everything")
        return
    written = [output]
    for name, writer in extra.items():
        path = companion_path(output, name)
        with output_stream(str(path)) as stream:
            writer(document, stream)
        written.append(str(path))
    detail_line("wrote " + ", ".join(written))


def stdout() -> TextIO:
    """The process's stdout (the test runner's capture stream under ``CliRunner``)."""
    # Looked up at each call, never bound at import: CliRunner swaps sys.stdout per invocation.
    return sys.stdout


def open_output(output: str | None) -> TextIO:
    """stdout for no ``-o`` or ``-o -``, else the file, opened for writing (the caller closes it)."""
    if not output or output == "-":
        return stdout()
    try:
        return open(output, "w", encoding="utf-8", newline="")  # noqa: SIM115 (closed by the caller)
    except OSError as exc:
        raise UsageError(f"{output}: cannot write ({exc.strerror or exc})") from None


@contextmanager
def binary_output(output: str | None, fmt: str) -> Iterator[BinaryIO]:
    """``-o FILE`` opened for a binary format (Parquet); a ``UsageError`` for stdout or a terminal."""
    refusal = f"{fmt} is binary and is not written to stdout or a terminal: give -o FILE.{fmt}"
    if not output or output == "-":
        raise UsageError(refusal)
    try:
        stream = open(output, "wb")  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise UsageError(f"{output}: cannot write ({exc.strerror or exc})") from None
    try:
        if stream.isatty():
            raise UsageError(refusal)
        yield stream
    finally:
        stream.close()


def output_option(f: F) -> F:
    """``-o/--output FILE``: the format follows the suffix (.json .jsonl .ndjson .csv .tsv .md .html .txt)."""
    return click.option("-o", "--output", metavar="FILE",
                        help="Write to FILE instead of stdout; the format follows its suffix (.json, .jsonl or "
                             ".ndjson, .csv, .tsv, .md, .html, .txt). CSV and TSV write the other tables beside "
                             "it (FILE.rollups.csv, FILE.sources.csv).")(f)


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
    """The command as run, rebuilt from its parsed options (deterministic, whatever the caller); options
    left at their default are not written."""
    out = ["ipowner", name]
    positional = ("inputs", "before", "after")
    ordered = [k for k in positional if k in params] + [k for k in params if k not in positional]
    ctx = click.get_current_context(silent=True)
    defaults = set()
    if ctx is not None:
        from click.core import ParameterSource

        defaults = {k for k in params if k not in positional and ctx.get_parameter_source(k) is ParameterSource.DEFAULT}
    for key in ordered:
        if key in defaults:
            continue
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
