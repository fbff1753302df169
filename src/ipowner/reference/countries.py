"""Country names for ISO 3166-1 alpha-2 codes (from the shipped world map's name table)."""

from __future__ import annotations

import json
import unicodedata
from functools import lru_cache
from typing import Any

from ipowner.paths import shipped


@lru_cache(maxsize=1)
def world_map() -> dict[str, Any]:
    """The shipped map: ``names`` (alpha-2 -> English name) and ``countries`` (alpha-2 -> SVG path)."""
    return json.loads(shipped("world-map.json").read_text(encoding="utf-8"))


def country_name(code: str | None) -> str | None:
    """English short name of a country code; the code itself when unknown; None for None."""
    if not code:
        return None
    return world_map()["names"].get(code.upper(), code.upper())


# Codes registries write in a country field that name no country: RIPE NCC's "EU" and APNIC's "AP" stand
# for a region (RFC 9083 leaves the field free text); "ZZ" is ISO's user-assigned code for "unknown".
PSEUDO_CODES = {"EU": "a registry pseudo-code for Europe, not a country",
                "AP": "a registry pseudo-code for Asia-Pacific, not a country", "ZZ": "the code for no country"}


def is_country(code: str) -> bool:
    """True for an ISO 3166-1 alpha-2 code of the package's country table (upper case)."""
    return code in world_map()["names"]


def normalise_country_code(text: object) -> tuple[str | None, str | None]:
    """The ISO 3166-1 alpha-2 code a registry's country text stands for, else None and why.

    Unicode format characters (zero-width spaces, joiners, direction marks) and spaces are dropped and the
    rest upper-cased; what is left must be two ASCII letters naming a country of the table (``EU``, ``AP``
    and ``ZZ`` do not). Empty or missing text gives ``(None, None)``.
    """
    if text is None:
        return None, None
    if not isinstance(text, str):
        return None, f"{repr(text)[:40]} is not a country code"
    cleaned = "".join(c for c in text if not (c.isspace() or unicodedata.category(c) == "Cf"))
    if not cleaned:
        return None, None
    # ASCII first: "ß".upper() is "SS" and "ı".upper() is "I", which would turn text into a code.
    code = cleaned.upper() if cleaned.isascii() else None
    if code in PSEUDO_CODES:
        return None, f"{text!r} is {PSEUDO_CODES[code]}"
    if code is None or len(code) != 2 or not code.isalpha() or not is_country(code):
        return None, f"{text[:40]!r} is not an ISO 3166 country code"
    return code, None
