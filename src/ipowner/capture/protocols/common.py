"""What every payload parser shares: its one error type and how names are normalised."""

from __future__ import annotations


class PayloadError(ValueError):
    """A payload that could not be parsed (malformed, truncated or not what it seemed)."""


def normalise_name(raw: str) -> str:
    """Lower case, no trailing dot."""
    return raw.strip().rstrip(".").lower()
