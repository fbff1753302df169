"""Write docs/ipowner.1, the man page, from the command line itself (click's command tree).

    python scripts/make_manpage.py          # rewrite docs/ipowner.1
    python scripts/make_manpage.py --check  # exit 1 when docs/ipowner.1 is not what the CLI says

One page for the whole tool: the group's help, then a section per subcommand (and per subcommand of
``cache``) with its usage, help text and options, as ``--help`` shows them. Nothing in it depends on
the time or the machine, so the page is regenerated identically; tests/test_cli_conventions.py fails
when it is out of date.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "ipowner.1"


def _roff(text: str) -> str:
    """Plain text made safe for roff: backslashes, leading dots and quotes, and dashes escaped."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(("\\&" + line) if line.startswith((".", "'")) else line for line in text.split("\n"))


def _paragraphs(help_text: str) -> list[str]:
    """click's help text as roff paragraphs; a ``\\b`` block keeps its lines as written."""
    out: list[str] = []
    for block in re.split(r"\n\s*\n", help_text.strip()):
        lines = block.split("\n")
        if lines[0].strip() == "\b":
            body = "\n".join(line.rstrip() for line in lines[1:])
            out.append(".nf\n" + _roff(_dedent(body)) + "\n.fi")
        else:
            out.append(_roff(" ".join(line.strip() for line in lines)))
    return [part for i, p in enumerate(out) for part in ((".PP", p) if i else (p,))]


def _dedent(text: str) -> str:
    import textwrap

    return textwrap.dedent(text)


def _options(ctx: click.Context, command: click.Command) -> list[str]:
    out: list[str] = []
    for param in command.get_params(ctx):
        if isinstance(param, click.Argument):
            continue  # named in the usage line
        record = param.get_help_record(ctx)
        if record is None:
            continue
        names, help_text = record
        out.append(".TP\n.B " + _roff(names) + "\n" + _roff(help_text or ""))
    return out


def _context(command: click.Command, name: str, parent: click.Context | None = None) -> click.Context:
    """The context ``--help`` would use (the command's own settings, e.g. ``-h``), parsing nothing."""
    return command.make_context(name, [], parent=parent, resilient_parsing=True)


def _section(ctx: click.Context, command: click.Command, path: list[str]) -> list[str]:
    name = " ".join(path)
    lines = [f".SS {_roff(name)}"]
    usage = " ".join(command.collect_usage_pieces(ctx))
    lines.append(".B " + _roff(f"{name} {usage}".strip()))
    lines.append(".PP")
    lines += _paragraphs(command.help or "")
    opts = _options(ctx, command)
    if opts:
        lines.append(".PP\nOptions:")
        lines += opts
    if isinstance(command, click.Group):
        for sub_name in command.list_commands(ctx):
            sub = command.get_command(ctx, sub_name)
            if sub is None or sub.hidden:
                continue
            with _context(sub, sub_name, ctx) as sub_ctx:
                lines += _section(sub_ctx, sub, [*path, sub_name])
    return lines


def render_page() -> str:
    """The whole man page, from ``ipowner.cli.cli``."""
    from ipowner._version import __version__
    from ipowner.cli import _register, cli

    _register()
    with _context(cli, "ipowner") as ctx:
        head = (cli.help or "").strip().split("\n", 1)
        lines = [
            f'.TH IPOWNER 1 "" "ipowner {__version__}" "User Commands"',
            ".SH NAME",
            "ipowner \\- " + _roff(head[0].rstrip(".")),
            ".SH SYNOPSIS",
            ".B ipowner",
            "[\\-q|\\-v] COMMAND [OPTIONS] [ARGS]...",
            ".SH DESCRIPTION",
            *_paragraphs(head[1] if len(head) > 1 else ""),
            ".SH GLOBAL OPTIONS",
            *_options(ctx, cli),
            ".SH COMMANDS",
        ]
        for name in cli.list_commands(ctx):
            command = cli.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            with _context(command, name, ctx) as sub_ctx:
                lines += _section(sub_ctx, command, ["ipowner", name])
    lines += [
        ".SH ENVIRONMENT",
        ".TP\n.B IPOWNER_DATA_DIR, IPOWNER_CACHE_DIR\nWhere databases are looked for and where the RDAP cache lives.",
        ".TP\n.B IPOWNER_MMDB_PATH\nMore folders holding MaxMind\\-format databases.",
        ".TP\n.B IPOWNER_RDAP_BOOTSTRAP, IPOWNER_RDAP_REWRITE, IPOWNER_RDAP_LIMITS, IPOWNER_RDAP_MAX_BYTES\n"
        "RDAP bootstrap source, URL rewrites, per\\-registry rate limits, the largest answer accepted "
        "(docs/rdap.md).",
        ".TP\n.B COLUMNS\nThe width of tables written to a file or a pipe (160 when unset).",
        ".SH SEE ALSO",
        "docs/cli.md, docs/schema.md, docs/rdap.md in the ipowner sources.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    page = render_page()
    if "--check" in argv:
        if not PAGE.is_file() or PAGE.read_text(encoding="utf-8") != page:
            print(f"{PAGE} is out of date: run python scripts/make_manpage.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(page, encoding="utf-8")
    print(PAGE)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
