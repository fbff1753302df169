"""``ipowner data`` output: the databases in use as a table, or the ``ipowner.data/3`` document."""

from __future__ import annotations

from typing import TextIO

from ipowner.model.data import DataStatus
from ipowner.model.kinds import DatabaseOrigin
from ipowner.render.escape import terminal_safe
from ipowner.render.json import write_json

FORMATS = ("table", "json")
_DUE = "due: ipowner data update"


def _cell(value: object) -> str:
    return "" if value is None else terminal_safe(value)


def write_data(status: DataStatus, fmt: str, stream: TextIO) -> None:
    if fmt == "json":
        write_json(status.to_dict(), stream)
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    # Text objects are never parsed as markup; terminal_safe makes controls and bidi characters visible.
    # Piped output gets a wide fixed width so that paths are not folded mid-word.
    tty = hasattr(stream, "isatty") and stream.isatty()
    console = Console(file=stream, highlight=False, soft_wrap=False, width=None if tty else 200)
    table = Table(title="Databases in use", title_justify="left")
    for col in ("path", "type", "vendor", "built", "age (days)", "licence", "IP", "origin", "due"):
        table.add_column(col, overflow="fold")
    for d in status.databases:
        built = d.build_date.date().isoformat() if d.build_date else None
        # only the embedded database is refreshed by ipowner; the others are the user's
        due = (_DUE if d.due else "no") if d.origin == DatabaseOrigin.EMBEDDED else None
        cells = (d.path, d.database_type, d.vendor, built, d.age_days, d.licence,
                 "v4+v6" if d.ip_version == 6 else "v4", d.origin, due)
        table.add_row(*(Text(_cell(v)) for v in cells))
    console.print(table)
    for d in status.databases:
        if not d.sources:
            continue
        src = Table(title=Text(f"Inputs of {terminal_safe(d.path)}"), title_justify="left")
        for col in ("source", "data date", "licence", "credit"):
            src.add_column(col, overflow="fold")
        for s in d.sources:
            src.add_row(
                *(Text(_cell(v)) for v in (s.name, s.date.date().isoformat() if s.date else None, s.licence, s.credit))
            )
        console.print(src)
    if not status.databases:
        console.print(Text("No database in use."))
    if status.registry_sources:
        reg = Table(title="Registry table inputs (RIR delegation statistics)", title_justify="left")
        for col in ("source", "date", "age (days)", "licence", "due"):
            reg.add_column(col, overflow="fold")
        for r in status.registry_sources:
            row = (r.name, r.date.date().isoformat() if r.date else None, r.age_days, r.licence,
                   _DUE if r.due else "no")
            reg.add_row(*(Text(_cell(v)) for v in row))
        console.print(reg)
    if status.cloud_sources:
        cloud = Table(title=Text(f"Cloud snapshot inputs (providers' range files) in {terminal_safe(status.cloud_sources[0].path)}"),
                      title_justify="left")
        for col in ("source", "date", "age (days)", "terms", "due"):
            cloud.add_column(col, overflow="fold")
        for c in status.cloud_sources:
            row = (c.name, c.date.date().isoformat() if c.date else None, c.age_days, c.terms, _DUE if c.due else "no")
            cloud.add_row(*(Text(_cell(v)) for v in row))
        console.print(cloud)


__all__ = ["FORMATS", "write_data"]
