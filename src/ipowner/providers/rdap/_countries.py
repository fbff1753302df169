"""Country names as registries write them in postal addresses, to ISO 3166-1 alpha-2.

ARIN gives the registrant's address only as label text ending in the country name ("UNITED STATES");
RIPE and APNIC labels end the same way. Names not listed here leave the country unknown.
"""

from __future__ import annotations

import re

from ipowner.reference.countries import normalise_country_code

_NAMES = {
    "AFGHANISTAN": "AF", "ALBANIA": "AL", "ALGERIA": "DZ", "ARGENTINA": "AR", "ARMENIA": "AM", "AUSTRALIA": "AU",
    "AUSTRIA": "AT", "AZERBAIJAN": "AZ", "BAHRAIN": "BH", "BANGLADESH": "BD", "BELARUS": "BY", "BELGIUM": "BE",
    "BOLIVIA": "BO", "BOSNIA AND HERZEGOVINA": "BA", "BRAZIL": "BR", "BRASIL": "BR", "BULGARIA": "BG",
    "CAMBODIA": "KH", "CAMEROON": "CM", "CANADA": "CA", "CHILE": "CL", "CHINA": "CN", "COLOMBIA": "CO",
    "COSTA RICA": "CR", "CROATIA": "HR", "CUBA": "CU", "CYPRUS": "CY", "CZECH REPUBLIC": "CZ", "CZECHIA": "CZ",
    "DENMARK": "DK", "DOMINICAN REPUBLIC": "DO", "ECUADOR": "EC", "EGYPT": "EG", "EL SALVADOR": "SV",
    "ESTONIA": "EE", "ETHIOPIA": "ET", "FINLAND": "FI", "FRANCE": "FR", "GEORGIA": "GE", "GERMANY": "DE",
    "GHANA": "GH", "GREECE": "GR", "GUATEMALA": "GT", "HONDURAS": "HN", "HONG KONG": "HK", "HUNGARY": "HU",
    "ICELAND": "IS", "INDIA": "IN", "INDONESIA": "ID", "IRAN": "IR", "IRAQ": "IQ", "IRELAND": "IE", "ISRAEL": "IL",
    "ITALY": "IT", "JAMAICA": "JM", "JAPAN": "JP", "JORDAN": "JO", "KAZAKHSTAN": "KZ", "KENYA": "KE",
    "KOREA": "KR", "REPUBLIC OF KOREA": "KR", "KOREA, REPUBLIC OF": "KR", "SOUTH KOREA": "KR", "KUWAIT": "KW",
    "KYRGYZSTAN": "KG", "LATVIA": "LV", "LEBANON": "LB", "LITHUANIA": "LT", "LUXEMBOURG": "LU", "MACAO": "MO",
    "MALAYSIA": "MY", "MALTA": "MT", "MEXICO": "MX", "MOLDOVA": "MD", "MONGOLIA": "MN", "MOROCCO": "MA",
    "MYANMAR": "MM", "NEPAL": "NP", "NETHERLANDS": "NL", "THE NETHERLANDS": "NL", "NEW ZEALAND": "NZ",
    "NICARAGUA": "NI", "NIGERIA": "NG", "NORWAY": "NO", "OMAN": "OM", "PAKISTAN": "PK", "PANAMA": "PA",
    "PARAGUAY": "PY", "PERU": "PE", "PHILIPPINES": "PH", "POLAND": "PL", "PORTUGAL": "PT", "QATAR": "QA",
    "ROMANIA": "RO", "RUSSIA": "RU", "RUSSIAN FEDERATION": "RU", "SAUDI ARABIA": "SA", "SERBIA": "RS",
    "SINGAPORE": "SG", "SLOVAKIA": "SK", "SLOVENIA": "SI", "SOUTH AFRICA": "ZA", "SPAIN": "ES", "SRI LANKA": "LK",
    "SWEDEN": "SE", "SWITZERLAND": "CH", "TAIWAN": "TW", "TANZANIA": "TZ", "THAILAND": "TH", "TUNISIA": "TN",
    "TURKEY": "TR", "TURKIYE": "TR", "UGANDA": "UG", "UKRAINE": "UA", "UNITED ARAB EMIRATES": "AE",
    "UNITED KINGDOM": "GB", "GREAT BRITAIN": "GB", "UNITED STATES": "US", "UNITED STATES OF AMERICA": "US",
    "USA": "US", "URUGUAY": "UY", "UZBEKISTAN": "UZ", "VENEZUELA": "VE", "VIET NAM": "VN", "VIETNAM": "VN",
    "ZAMBIA": "ZM", "ZIMBABWE": "ZW",
}

_ISO2 = set(_NAMES.values())


def country_code(text: str | None) -> str | None:
    """ISO code for a country name or code as written in an address; None when not recognised."""
    if not text or not isinstance(text, str):
        return None
    code, _why = normalise_country_code(text.strip().strip(".,"))
    if code is not None:
        return code
    return _NAMES.get(re.sub(r"\s+", " ", text.strip().strip(".,")).upper())


def country_from_label(label: str | None) -> str | None:
    """The country at the end of a postal label ("...|Mountain View|CA|94043|UNITED STATES")."""
    if not label:
        return None
    lines = [p.strip() for p in re.split(r"[\n|]|\\n", label) if p.strip()]
    if not lines:
        return None
    last = lines[-1]
    code = _NAMES.get(re.sub(r"\s+", " ", last.strip(" .")).upper())
    if code:
        return code
    # "Tokyo 101-0047,Japan" or "London GB": the last comma- or space-separated word
    for sep in (",", " "):
        tail = last.rsplit(sep, 1)[-1].strip(" .").upper()
        if tail in _NAMES:
            return _NAMES[tail]
        if sep == " " and len(tail) == 2 and tail in _ISO2:
            return tail
    return None
