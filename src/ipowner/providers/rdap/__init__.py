"""Ownership over RDAP: the holder of an address and the registry chain above it (RIR > NIR > holder).

Public names::

    RdapProvider     providers.base.Provider filling holder, registry_chain, network, abuse
    RdapClient       plain synchronous client; AsyncRdapClient is the same, async
    RdapConfig       bootstrap source, URL rewrites, limits, deadline, cache, evidence
    RdapCache        the SQLite cache (``ipowner cache``); CacheError when it cannot be read, CACHE_FILE its name
    MockTransport    answers from a table or a function, for unit tests
    run_summary      one line on a run: requests, cache use, failures counted by kind
    asn_service      the RDAP service (and so the registry) of an AS number, from the bootstrap, offline

Everything else is private; errors are the ``ipowner.errors.RdapError`` family.
"""

from ipowner.providers.rdap._bootstrap import asn_service
from ipowner.providers.rdap._cache import FILE_NAME as CACHE_FILE
from ipowner.providers.rdap._cache import CacheError, RdapCache
from ipowner.providers.rdap._client import Answer, AsyncRdapClient, AutnumAnswer, RdapClient, RunStats
from ipowner.providers.rdap._config import Limit, RdapConfig, Rewriter
from ipowner.providers.rdap._exceptions import (
    RdapDeadlineError,
    RdapErrorObject,
    RdapHttpError,
    RdapMalformedError,
    RdapNotFoundError,
    RdapOfflineError,
    RdapRateLimitedError,
    RdapRedirectError,
    RdapRefusedError,
    RdapTimeoutError,
    RdapTooLargeError,
    RdapTransportError,
)
from ipowner.providers.rdap._provider import RdapProvider
from ipowner.providers.rdap._summary import failures_text, is_rdap_reason, run_summary
from ipowner.providers.rdap._transports import BaseTransport, MockTransport, Request, Response

__all__ = [
    "CACHE_FILE",
    "Answer",
    "AsyncRdapClient",
    "AutnumAnswer",
    "BaseTransport",
    "CacheError",
    "HTTPTransport",
    "Limit",
    "MockTransport",
    "RdapCache",
    "RdapClient",
    "RdapConfig",
    "RdapDeadlineError",
    "RdapErrorObject",
    "RdapHttpError",
    "RdapMalformedError",
    "RdapNotFoundError",
    "RdapOfflineError",
    "RdapProvider",
    "RdapRateLimitedError",
    "RdapRedirectError",
    "RdapRefusedError",
    "RdapTimeoutError",
    "RdapTooLargeError",
    "RdapTransportError",
    "Request",
    "Response",
    "Rewriter",
    "RunStats",
    "asn_service",
    "failures_text",
    "is_rdap_reason",
    "run_summary",
]


def __getattr__(name: str) -> object:
    # httpx is imported only when a run really goes online.
    if name == "HTTPTransport":
        from ipowner.providers.rdap._transports.default import HTTPTransport

        return HTTPTransport
    raise AttributeError(name)
