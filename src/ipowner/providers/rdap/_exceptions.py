"""RDAP failures, all under ``ipowner.errors.RdapError`` so callers catch one hierarchy.

Each carries the URL and a short reason; the provider turns them into per-address reasons.
"""

from __future__ import annotations

from ipowner.errors import OfflineError, RdapError

__all__ = [
    "RdapDeadlineError",
    "RdapDnsError",
    "RdapErrorObject",
    "RdapHttpError",
    "RdapMalformedError",
    "RdapNotFoundError",
    "RdapOfflineError",
    "RdapRateLimitedError",
    "RdapRedirectError",
    "RdapRefusedError",
    "RdapTimeoutError",
    "RdapTooLargeError",
    "RdapTransportError",
]


class RdapHttpError(RdapError):
    """The server answered with an HTTP error status and no usable RDAP error object."""


class RdapErrorObject(RdapError):
    """The server answered with an RDAP error object (``errorCode``, ``title``, ``description``)."""

    def __init__(self, url: str, reason: str, status: int | None = None, title: str | None = None) -> None:
        super().__init__(url, reason, status)
        self.title = title


class RdapNotFoundError(RdapErrorObject):
    """404: the registry holds no object for the query."""


class RdapMalformedError(RdapError):
    """The body is not JSON, not an object, or not the RDAP object asked for."""


class RdapTimeoutError(RdapError):
    """Connecting or reading took longer than the per-request timeout."""


class RdapTransportError(RdapError):
    """The connection could not be made or broke (DNS, refused, reset)."""


class RdapDnsError(RdapTransportError):
    """The registry's host name does not resolve: not retried within a run.

    ``stalled`` means the resolver gave no answer at all, i.e. the network is down: every later query
    of the run fails at once rather than wait again.
    """

    def __init__(self, url: str, reason: str, status: int | None = None, *, stalled: bool = False) -> None:
        super().__init__(url, reason, status)
        self.stalled = stalled


class RdapRateLimitedError(RdapError):
    """429 after every retry, or a Retry-After longer than the run may wait."""


class RdapRedirectError(RdapError):
    """Too many redirects or referrals, or a redirect without a usable target."""


class RdapRefusedError(RdapError):
    """The URL is not on the allow-list (the bootstrap's services and the registry table, after
    ``IPOWNER_RDAP_REWRITE``): ipowner does not contact it."""


class RdapTooLargeError(RdapError):
    """The answer is larger than ``RdapConfig.max_response_bytes`` (decoded): it was not read to the end."""


class RdapDeadlineError(RdapError):
    """The run's overall deadline passed before this query could finish."""


class RdapOfflineError(RdapError, OfflineError):
    """A query was needed while running offline; only cached answers are used."""
