"""Providers learn facts about addresses: special ranges, MaxMind-format databases, RDAP, cloud tables.

Each provider fills ``AddressRecord`` fields it knows and notes their provenance; none of them
knows anything of the terminal or of output formats.
"""

from ipowner.providers.base import Provider

__all__ = ["Provider"]
