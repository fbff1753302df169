"""The transport interface: one HTTP GET in, one response out (no retries, no redirects).

Retries, redirects, rate limits and deadlines live in the client; a transport only moves bytes,
so tests can swap in ``MockTransport`` and the client's behaviour stays the one that runs for real.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Request:
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    timeout: float = 10.0
    max_bytes: int | None = None  # the largest body accepted, decoded; past it: RdapTooLargeError


@dataclass(slots=True)
class Response:
    url: str
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class BaseTransport:
    """Send one request. Raise ``RdapTimeoutError`` or ``RdapTransportError`` when no response came, and
    ``RdapTooLargeError`` when the body (decoded) would pass ``request.max_bytes`` (the client checks the
    size again, so a transport that cannot stream still never hands a larger body further)."""

    async def handle(self, request: Request) -> Response:  # pragma: no cover - interface
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release connections; called once when the client is done."""
