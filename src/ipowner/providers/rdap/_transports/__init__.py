"""Pluggable transports: ``HTTPTransport`` (httpx) for real use, ``MockTransport`` for unit tests."""

from ipowner.providers.rdap._transports.base import BaseTransport, Request, Response
from ipowner.providers.rdap._transports.default import HTTPTransport
from ipowner.providers.rdap._transports.mock import MockTransport, json_response

__all__ = ["BaseTransport", "HTTPTransport", "MockTransport", "Request", "Response", "json_response"]
