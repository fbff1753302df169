"""The country table: ISO 3166-1 alpha-2 codes and their English names (the shipped world map's name table).

Both directions read the one table: ``country_name`` for what a report shows, ``country_code`` and
``country_from_label`` for the country names registries write in postal addresses (ARIN gives the
registrant's address only as label text ending in the country name, "UNITED STATES"; RIPE and APNIC
labels end the same way).
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from typing import Any

from ipowner.paths import shipped

# Countries whose English name ends a registry's postal address often enough to be trusted there. Names
# that are also parts of other places or plain words ("Jersey" in New Jersey, "Guinea" in Papua New
# Guinea, "Chad", "Georgia" aside) are not listed; an address ending in one leaves the country unknown.
_POSTAL_CODES = """
    AE AF AL AM AR AT AU AZ BA BD BE BG BH BO BR BY CA CH CL CM CN CO CR CU CY CZ DE DK DO DZ EC EE EG ES ET FI FR
    GB GE GH GR GT HK HN HR HU ID IE IL IN IQ IR IS IT JM JO JP KE KG KH KR KW KZ LB LK LT LU LV MA MD MM MN MO MT
    MX MY NG NI NL NO NP NZ OM PA PE PH PK PL PT PY QA RO RS RU SA SE SG SI SK SV TH TN TW TZ UA UG US UY UZ VE VN
    ZA ZM ZW
"""
_POSTAL = frozenset(_POSTAL_CODES.split())

# How registries spell some countries besides the English short name.
_SPELLINGS = {
    "BRASIL": "BR", "CZECH REPUBLIC": "CZ", "KOREA": "KR", "REPUBLIC OF KOREA": "KR", "KOREA, REPUBLIC OF": "KR",
    "THE NETHERLANDS": "NL", "RUSSIAN FEDERATION": "RU", "TURKEY": "TR", "TURKIYE": "TR", "GREAT BRITAIN": "GB",
    "UNITED STATES OF AMERICA": "US", "USA": "US", "VIET NAM": "VN",
}


@lru_cache(maxsize=1)
def world_map() -> dict[str, Any]:
    """The shipped map: ``names`` (alpha-2 -> English name) and ``countries`` (alpha-2 -> SVG path)."""
    data: dict[str, Any] = json.loads(shipped("world-map.json").read_text(encoding="utf-8"))
    return data


def country_name(code: str | None) -> str | None:
    """English short name of a country code; the code itself when unknown; None for None."""
    if not code:
        return None
    name: str = world_map()["names"].get(code.upper(), code.upper())
    return name


@lru_cache(maxsize=1)
def _postal_names() -> dict[str, str]:
    """Upper-case country name as written in an address -> code."""
    names: dict[str, str] = world_map()["names"]
    out = {names[code].upper(): code for code in sorted(_POSTAL)}
    out.update(_SPELLINGS)
    return out


@lru_cache(maxsize=1)
def _postal_codes() -> frozenset[str]:
    return frozenset(_postal_names().values())


def country_code(text: str | None) -> str | None:
    """ISO code for a country name or code as written in an address; None when not recognised."""
    if not text or not isinstance(text, str):
        return None
    code, _why = normalise_country_code(text.strip().strip(".,"))
    if code is not None:
        return code
    return _postal_names().get(re.sub(r"\s+", " ", text.strip().strip(".,")).upper())


def country_from_label(label: str | None) -> str | None:
    """The country at the end of a postal label ("...|Mountain View|CA|94043|UNITED STATES")."""
    if not label:
        return None
    lines = [p.strip() for p in re.split(r"[\n|]|\\n", label) if p.strip()]
    if not lines:
        return None
    last = lines[-1]
    names = _postal_names()
    code = names.get(re.sub(r"\s+", " ", last.strip(" .")).upper())
    if code:
        return code
    # "Tokyo 101-0047,Japan" or "London GB": the last comma- or space-separated word
    for sep in (",", " "):
        tail = last.rsplit(sep, 1)[-1].strip(" .").upper()
        if tail in names:
            return names[tail]
        if sep == " " and len(tail) == 2 and tail in _postal_codes():
            return tail
    return None


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
