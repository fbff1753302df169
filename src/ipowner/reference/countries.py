"""The country table: every ISO 3166-1 alpha-2 code and its English name, from ``pycountry``.

One table, read once, for everything that names a country: ``country_name`` for what a report shows
(ISO's short name, or the common name ISO lists beside it: "Taiwan", "South Korea", "Iran"), ``is_country``
and ``normalise_country_code`` for the codes registries write, and ``country_code`` /
``country_from_label`` for the country names registries write in postal addresses (ARIN gives the
registrant's address only as label text ending in the country name, "UNITED STATES"; RIPE and APNIC
labels end the same way). ``pycountry`` ships the ISO 3166 data with its wheel: nothing is fetched.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import lru_cache
from typing import Any

from ipowner.paths import shipped

# Codes in use that ISO 3166-1 does not assign (user-assigned), with their names.
_EXTRA = {"XK": "Kosovo"}

# ISO's short names that put the distinctive word last ("Virgin Islands, British"): the order people write.
_READABLE = {
    "CD": "Democratic Republic of the Congo", "CG": "Republic of the Congo", "FM": "Micronesia",
    "PS": "Palestine", "VG": "British Virgin Islands", "VI": "U.S. Virgin Islands", "SH": "Saint Helena",
    "VA": "Vatican City", "FK": "Falkland Islands", "BN": "Brunei",
}

# Names that end an address without naming that country ("Jersey" in New Jersey, "Georgia" the US state,
# "Chad" a first name, "Congo" two countries, "Guinea" in three): an address ending in one leaves the
# country unknown.
_AMBIGUOUS = frozenset({"GEORGIA", "JERSEY", "CHAD", "GUINEA", "CONGO", "VIRGIN ISLANDS", "SAMOA", "SUDAN"})

# Countries whose one-word name may be taken from the end of an address line ("Tokyo 101-0047 Japan",
# "London GB"), where a word could also be part of a place or a plain word.
_TAIL_CODES = """
    AE AF AL AM AR AT AU AZ BA BD BE BG BH BM BO BR BS BY CA CH CL CM CN CO CR CU CY CZ DE DK DO DZ EC EE EG ES
    ET FI FR GB GH GR GT HK HN HR HU ID IE IL IN IQ IR IS IT JM JO JP KE KG KH KR KW KZ LB LK LT LU LV MA MD MM MN
    MO MT MU MX MY NG NI NL NO NP NZ OM PA PE PH PK PL PT PY QA RO RS RU SA SC SE SG SI SK SV TH TN TW TZ UA UG US
    UY UZ VE VN ZA ZM ZW
"""
_TAIL = frozenset(_TAIL_CODES.split())

# How registries spell some countries besides ISO's names.
_SPELLINGS = {
    "BRASIL": "BR", "CZECH REPUBLIC": "CZ", "KOREA": "KR", "REPUBLIC OF KOREA": "KR", "KOREA, REPUBLIC OF": "KR",
    "THE NETHERLANDS": "NL", "RUSSIA": "RU", "TURKEY": "TR", "TURKIYE": "TR", "GREAT BRITAIN": "GB",
    "UNITED STATES OF AMERICA": "US", "USA": "US", "VIET NAM": "VN", "THE BAHAMAS": "BS", "BAHAMAS, THE": "BS",
    "BVI": "VG", "HONG KONG SAR": "HK", "MACAU": "MO", "CAPE VERDE": "CV", "SWAZILAND": "SZ",
}


@lru_cache(maxsize=1)
def _table() -> tuple[dict[str, str], dict[str, str]]:
    """(code -> display name, upper-case name as written -> code), built once from ``pycountry``."""
    import pycountry  # imported on first use: most runs never name a country

    names: dict[str, str] = {}
    written: dict[str, str] = {}
    for c in pycountry.countries:
        code = c.alpha_2
        names[code] = _READABLE.get(code) or getattr(c, "common_name", None) or c.name
        for n in (c.name, getattr(c, "common_name", None), getattr(c, "official_name", None), names[code]):
            if n:
                written.setdefault(_fold(n), code)
    for code, name in _EXTRA.items():
        names[code] = name
        written.setdefault(_fold(name), code)
    written.update(_SPELLINGS)
    for word in _AMBIGUOUS:
        written.pop(word, None)
    return names, written


def _fold(name: str) -> str:
    """Upper case without accents: "Réunion" and "REUNION" are written alike in addresses."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"\s+", " ", plain).strip().upper()


@lru_cache(maxsize=1)
def world_map() -> dict[str, Any]:
    """The shipped map: ``names`` (alpha-2 -> English name) and ``countries`` (alpha-2 -> SVG path)."""
    data: dict[str, Any] = json.loads(shipped("world-map.json").read_text(encoding="utf-8"))
    return data


def country_names() -> dict[str, str]:
    """Every country code (ISO 3166-1 alpha-2, plus Kosovo's XK) and its English name."""
    return dict(_table()[0])


def country_name(code: str | None) -> str | None:
    """English name of a country code ("SC" -> "Seychelles"); the code itself when unknown; None for None."""
    if not code:
        return None
    up = code.upper()
    return _table()[0].get(up, up)


def _postal_names() -> dict[str, str]:
    """Upper-case country name as written in an address -> code."""
    return _table()[1]


def country_code(text: str | None) -> str | None:
    """ISO code for a country name or code as written in an address; None when not recognised."""
    if not text or not isinstance(text, str):
        return None
    code, _why = normalise_country_code(text.strip().strip(".,"))
    if code is not None:
        return code
    return _postal_names().get(_fold(text.strip().strip(".,")))


def country_from_label(label: str | None) -> str | None:
    """The country at the end of a postal label ("...|Mountain View|CA|94043|UNITED STATES")."""
    if not label:
        return None
    lines = [p.strip() for p in re.split(r"[\n|]|\\n", label) if p.strip()]
    if not lines:
        return None
    last = lines[-1]
    names = _postal_names()
    code = names.get(_fold(last.strip(" .")))
    if code:
        return code
    # "George Town, Cayman Islands", "Tokyo 101-0047,Japan" or "London GB": the last comma-separated part,
    # else the last word when it is a country trusted there.
    tail = _fold(last.rsplit(",", 1)[-1].strip(" ."))
    if tail in names:
        return names[tail]
    word = _fold(last.rsplit(" ", 1)[-1].strip(" ."))
    if names.get(word) in _TAIL:
        return names[word]
    if len(word) == 2 and word in _TAIL:
        return word
    return None


# Codes registries write in a country field that name no country: RIPE NCC's "EU" and APNIC's "AP" stand
# for a region (RFC 9083 leaves the field free text); "ZZ" is ISO's user-assigned code for "unknown".
PSEUDO_CODES = {"EU": "a registry pseudo-code for Europe, not a country",
                "AP": "a registry pseudo-code for Asia-Pacific, not a country", "ZZ": "the code for no country"}


def is_country(code: str) -> bool:
    """True for an ISO 3166-1 alpha-2 code of the package's country table (upper case)."""
    return code in _table()[0]


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
