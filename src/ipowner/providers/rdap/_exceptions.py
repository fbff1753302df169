"""RDAP failures, all under ``ipowner.errors.RdapError`` so callers catch one hierarchy.

Each carries the URL and a short reason; the provider turns them into per-address reasons.
"""

from __future__ import annotations

from ipowner.errors import OfflineError, RdapError

__all__ = [
    "NOT_FOUND",
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
    "failure_reason",
    "is_negative",
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


# The kinds of failure a run's summary counts, as people read them.
NOT_FOUND = "no registry object (404)"
UNUSABLE = "answer could not be used"


def is_negative(exc: BaseException) -> bool:
    """A registry's "no such object" (HTTP 404 or an RDAP 404 error object): an answer, worth remembering."""
    return isinstance(exc, RdapNotFoundError) or (isinstance(exc, RdapError) and exc.status == 404)


def failure_reason(exc: BaseException) -> str:
    """The kind of a failed query, for the run's summary ("no registry object (404)", "timed out", ...)."""
    if is_negative(exc):
        return NOT_FOUND
    kinds: tuple[tuple[type[BaseException], str], ...] = (
        (RdapRateLimitedError, "rate-limited"),
        (RdapDeadlineError, "run deadline reached"),
        (RdapTimeoutError, "timed out"),
        (RdapDnsError, "registry host did not resolve"),
        (RdapRefusedError, "not contacted (not an allowed service)"),
        (RdapRedirectError, "redirect not followed"),
        (RdapTooLargeError, "answer too large"),
        (RdapMalformedError, "malformed answer"),
        (RdapOfflineError, "offline"),
    )
    for cls, text in kinds:
        if isinstance(exc, cls):
            return text
    if isinstance(exc, RdapTransportError):
        return "registry unreachable" if exc.reason.startswith("not attempted") else "connection failed"
    if isinstance(exc, RdapErrorObject):
        return f"registry error {exc.status}" if exc.status else "registry error"
    if isinstance(exc, RdapError):
        return f"HTTP {exc.status}" if exc.status else "HTTP error"
    return UNUSABLE
