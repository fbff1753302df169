"""Country names for ISO 3166-1 alpha-2 codes (from the shipped world map's name table)."""

from __future__ import annotations

import json
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
