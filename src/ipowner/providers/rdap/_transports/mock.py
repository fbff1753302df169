"""A transport that answers from a function or a URL table: for unit tests, no sockets."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from ipowner.providers.rdap._transports.base import BaseTransport, Request, Response

Handler = Callable[[Request], "Response | Awaitable[Response]"]


def json_response(url: str, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(obj).encode()
    return Response(url=url, status=status, headers={"content-type": "application/rdap+json", **(headers or {})}, body=body)


class MockTransport(BaseTransport):
    """Answer with ``handler(request)``, or from ``routes`` (exact URL -> Response); else 404.

    ``requests`` keeps every URL asked, in order, so tests can count.
    """

    def __init__(self, handler: Handler | None = None, routes: dict[str, Response] | None = None) -> None:
        self._handler = handler
        self._routes = dict(routes or {})
        self.requests: list[str] = []

    async def handle(self, request: Request) -> Response:
        self.requests.append(request.url)
        if self._handler is not None:
            out = self._handler(request)
            if isinstance(out, Response):
                return out
            return await out
        if request.url in self._routes:
            return self._routes[request.url]
        return json_response(request.url, {"errorCode": 404, "title": "Not Found"}, status=404)
