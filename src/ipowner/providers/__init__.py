"""Providers learn facts about addresses: special ranges, MaxMind-format databases, RDAP, cloud tables.

Every provider implements ``Provider`` (``base.py``): it answers range facts for parsed addresses and
``enrich(records)`` copies them onto ``AddressRecord`` objects with their provenance; none of them
knows anything of the terminal or of output formats. ``Chain`` (``chain.py``) runs the providers of
one run in order, the special-purpose one first.
"""

from ipowner._addr import Address, Addresses, parse_address
from ipowner.providers.base import (
    NO_RANGES,
    AddressFacts,
    Facts,
    Provider,
    ProviderStats,
    Ranges,
    RecordProvider,
    apply_facts,
    winner,
    winners,
)
from ipowner.providers.chain import Answers, Chain

__all__ = [
    "NO_RANGES",
    "Address",
    "AddressFacts",
    "Addresses",
    "Answers",
    "Chain",
    "Facts",
    "Provider",
    "ProviderStats",
    "Ranges",
    "RecordProvider",
    "apply_facts",
    "parse_address",
    "winner",
    "winners",
]
