"""Fast address parsing for the hot paths: the C socket functions instead of ``ipaddress`` objects.

``inet_pton`` is strict (no leading zeros, no short IPv4 forms, no zone ids), so what it accepts is
also what ``ipaddress`` accepts; anything it refuses is handed to the ``ipaddress`` path by the
callers, which keeps messages and edge cases unchanged.
"""

from __future__ import annotations

import socket

_PTON, _NTOP = socket.inet_pton, socket.inet_ntop
_AF4, _AF6 = socket.AF_INET, socket.AF_INET6
_FROM = int.from_bytes


def parse(text: str) -> tuple[str, int, int] | None:
    """(canonical text, version, integer) for a plain address, or None to use the ``ipaddress`` path.

    The canonical text is what ``model.address.canonical_address`` gives: RFC 5952, IPv4-mapped with its
    dotted quad. The IPv4-compatible ``::/96`` block (which the C library prints dotted) goes the slow way.
    """
    if ":" in text:
        try:
            packed = _PTON(_AF6, text)
        except (OSError, ValueError):
            return None
        n = _FROM(packed, "big")
        if n >> 32 == 0:
            return None
        return _NTOP(_AF6, packed), 6, n
    try:
        packed = _PTON(_AF4, text)
    except (OSError, ValueError):
        return None
    return text, 4, _FROM(packed, "big")


def text4(n: int) -> str:
    """Dotted quad of an IPv4 integer."""
    return _NTOP(_AF4, n.to_bytes(4, "big"))


def text6(n: int) -> str:
    """RFC 5952 text of an IPv6 integer (for ranges; addresses go through ``parse``)."""
    return _NTOP(_AF6, n.to_bytes(16, "big"))
