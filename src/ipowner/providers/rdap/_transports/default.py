"""The transport that speaks HTTP, on one shared ``httpx.AsyncClient``."""

from __future__ import annotations

import httpx

from ipowner.providers.rdap._exceptions import RdapTimeoutError, RdapTransportError
from ipowner.providers.rdap._transports.base import BaseTransport, Request, Response

USER_AGENT = "ipowner (RDAP client; +https://github.com/ipowner)"


class HTTPTransport(BaseTransport):
    def __init__(self, *, max_connections: int = 20, verify: bool = True) -> None:
        # Redirects are followed by the client, which rewrites and bounds each hop.
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            verify=verify,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            headers={"Accept": "application/rdap+json, application/json", "User-Agent": USER_AGENT},
            trust_env=False,
        )

    async def handle(self, request: Request) -> Response:
        # A total bound per request: httpx's timeouts are per phase, and a stalled DNS lookup is not one.
        import asyncio

        try:
            async with asyncio.timeout(request.timeout):
                r = await self._client.get(
                    request.url, headers=request.headers, timeout=httpx.Timeout(request.timeout)
                )
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise RdapTimeoutError(request.url, f"no answer within {request.timeout:g} s") from exc
        except httpx.HTTPError as exc:
            raise RdapTransportError(request.url, f"connection failed ({type(exc).__name__})") from exc
        return Response(
            url=str(r.url),
            status=r.status_code,
            headers={k.lower(): v for k, v in r.headers.items()},
            body=r.content,
        )

    async def aclose(self) -> None:
        await self._client.aclose()
