"""Country names as registries write them in postal addresses, to ISO 3166-1 alpha-2.

The names come from the one country table, ``reference.countries``; names it does not trust in an
address leave the country unknown.
"""

from __future__ import annotations

from ipowner.reference.countries import country_code, country_from_label

__all__ = ["country_code", "country_from_label"]
