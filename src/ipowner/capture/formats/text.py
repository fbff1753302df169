"""Plain lists and free text: every IPv4 and IPv6 address in it becomes a destination (no counts)."""

from __future__ import annotations

import ipaddress
import re

from ipowner.capture.context import ReadContext

_V4 = r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.]*\d)"
_V6 = r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|(?:\d{1,3}\.){3}\d{1,3})?(?:%[\w.]+)?(?![\w:])"
_ADDR = re.compile(f"{_V6}|{_V4}")


def addresses_in(text: str) -> list[str]:
    """Every valid address in ``text``, in order of first appearance, in canonical form."""
    seen: dict[str, None] = {}
    for m in _ADDR.finditer(text):
        cand = m.group(0).split("%", 1)[0]
        try:
            ip = ipaddress.ip_address(cand)
        except ValueError:
            continue
        seen.setdefault(ip.compressed, None)
    return list(seen)


def read(ctx: ReadContext) -> None:
    seen: set[str] = set()
    for line in ctx.lines():
        for a in addresses_in(line):
            if a not in seen:
                seen.add(a)
                ctx.engine.note_peer(None, a, proto="", port=None, ts=None)
    ctx.info.records += len(seen)
    if not seen:
        ctx.warn("no IPv4 or IPv6 address found in the text")
