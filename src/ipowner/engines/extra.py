"""Whether the optional ``scale`` extra (DuckDB, pyarrow) is installed, and the error when it is needed."""

from __future__ import annotations

import importlib.util

from ipowner.errors import UsageError

INSTALL = "pip install 'ipowner[scale]'"


def scale_available() -> bool:
    """True when both DuckDB and pyarrow can be imported."""
    return all(importlib.util.find_spec(name) is not None for name in ("duckdb", "pyarrow"))


def require_scale(what: str) -> None:
    """Raise ``UsageError`` (exit code 2) naming the install command when the extra is missing."""
    missing = [name for name in ("duckdb", "pyarrow") if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(f"{what} needs {' and '.join(missing)} (the 'scale' extra): {INSTALL}")
