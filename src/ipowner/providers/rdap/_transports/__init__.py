"""Pluggable transports: ``HTTPTransport`` (httpx) for real use, ``MockTransport`` for unit tests."""

from typing import Any

from ipowner.providers.rdap._transports.base import BaseTransport, Request, Response
from ipowner.providers.rdap._transports.mock import MockTransport, json_response

__all__ = ["BaseTransport", "HTTPTransport", "MockTransport", "Request", "Response", "json_response"]


def __getattr__(name: str) -> Any:
    # httpx is imported only when a run really goes online.
    if name == "HTTPTransport":
        from ipowner.providers.rdap._transports.default import HTTPTransport

        return HTTPTransport
    raise AttributeError(name)
