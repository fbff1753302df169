"""MaxMind-format databases: the given, discovered and embedded ones, read as range facts.

``MmdbProvider`` (``reader.py``) reads them; ``discovery`` finds them where users and geoipupdate put
them; ``embedded`` unpacks the shipped default.
"""

from ipowner.providers.mmdb.reader import MmdbProvider, classify

__all__ = ["MmdbProvider", "classify"]
