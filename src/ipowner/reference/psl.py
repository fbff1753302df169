"""Registered domains, from the Public Suffix List snapshot bundled with the ``publicsuffixlist`` package.

Only the ICANN section of the list is used: the private section names suffixes that companies open to
their customers (``blogspot.com``, ``googleapis.com``, ``s3.amazonaws.com``), which would make every
name under them a registered domain of its own; the report wants the organisation's domain
(``googleapis.com``). Certificate wildcards are stripped first (``*.blogspot.com`` -> ``blogspot.com``).

Only the bundled snapshot is read: ``PublicSuffixList()`` with no source reads the package's own file
and never downloads (its updater is a separate module this code does not import).
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING

from ipowner.model import SourceInfo, SourceKind

if TYPE_CHECKING:
    from publicsuffixlist import PublicSuffixList


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    from publicsuffixlist import PublicSuffixList  # imported on first use: most runs never need it

    return PublicSuffixList(only_icann=True)


def psl_source() -> SourceInfo:
    """The list as a data source, dated by the snapshot stamp in the package's version."""
    import publicsuffixlist

    version = getattr(publicsuffixlist, "__version__", "")
    stamp = version.rsplit(".", 1)[-1]
    date = None
    if len(stamp) == 8 and stamp.isdigit():
        date = datetime(int(stamp[:4]), int(stamp[4:6]), int(stamp[6:]), tzinfo=UTC)
    return SourceInfo(
        id="psl",
        kind=SourceKind.TABLE,
        name=f"Public Suffix List, ICANN section (snapshot in publicsuffixlist {version})",
        date=date,
        licence="MPL-2.0",
        credit="Public Suffix List, Mozilla Foundation (MPL 2.0)",
    )


def registered_domain(name: str) -> str | None:
    """The registrable domain of a hostname ("api.account.xiaomi.com" -> "xiaomi.com", "*.blogspot.com" ->
    "blogspot.com"), or None."""
    n = name.strip().rstrip(".").lower()
    while n.startswith("*."):
        n = n[2:]
    if not n or "." not in n or len(n) > 253:
        return None
    try:
        ipaddress.ip_address(n)
        return None
    except ValueError:
        pass
    try:
        return _psl().privatesuffix(n)
    except Exception:  # a hostile or malformed name is not a domain, never an error
        return None
