"""The transport that speaks HTTP, on one shared ``httpx.AsyncClient``.

Name resolution is done here, in a daemon thread bounded by the request timeout, and the connection
is made to the address found (TLS still checks the certificate against the host name). httpx's own
timeouts do not bound a stalled DNS lookup, and a blocked resolver thread must never keep the
process alive at exit.

The body is streamed and decoded here (gzip or deflate, nothing else is asked for), counting the
decoded bytes: past ``request.max_bytes`` the read stops, so a small compressed body that inflates to
gigabytes costs at most the cap in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import threading
import time
import zlib

import httpx

from ipowner.providers.rdap._exceptions import (
    RdapDnsError,
    RdapTimeoutError,
    RdapTooLargeError,
    RdapTransportError,
)
from ipowner.providers.rdap._transports.base import BaseTransport, Request, Response

USER_AGENT = "ipowner (RDAP client)"
DNS_TIMEOUT = 5.0


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class HTTPTransport(BaseTransport):
    def __init__(self, *, max_connections: int = 20, verify: bool = True) -> None:
        # Redirects are followed by the client, which rewrites and bounds each hop.
        self._client = httpx.AsyncClient(
            follow_redirects=False,
            verify=verify,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
            headers={"Accept": "application/rdap+json, application/json", "User-Agent": USER_AGENT,
                     "Accept-Encoding": "gzip, deflate"},
            trust_env=False,
        )
        self._dns: dict[str, str | BaseException] = {}

    async def _resolve(self, url: str, host: str, port: int, timeout: float) -> str:
        known = self._dns.get(host)
        if isinstance(known, str):
            return known
        if isinstance(known, TimeoutError):
            raise RdapDnsError(url, f"DNS gave no answer for {host} ({known})", stalled=True)
        if isinstance(known, BaseException):
            raise RdapDnsError(url, f"{host} does not resolve ({known})")
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[str] = loop.create_future()

        def settle(value: str | None, error: BaseException | None) -> None:
            if not fut.done():
                if error is not None:
                    fut.set_exception(error)
                else:
                    fut.set_result(value)  # type: ignore[arg-type]

        def work() -> None:
            try:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
                result: tuple[str | None, BaseException | None] = (str(infos[0][4][0]), None)
            except (OSError, UnicodeError) as exc:
                result = (None, exc)
            except Exception as exc:  # a resolver that misbehaves is a failed lookup, not a dead thread
                result = (None, OSError(f"resolver failed ({type(exc).__name__})"))
            # RuntimeError: the run ended (its loop closed) while this lookup hung.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(settle, *result)

        threading.Thread(target=work, name=f"rdap-dns-{host}", daemon=True).start()
        try:
            async with asyncio.timeout(timeout):
                address = await fut
        except TimeoutError:
            self._dns[host] = TimeoutError(f"no answer within {timeout:g} s")
            raise RdapDnsError(url, f"DNS gave no answer for {host} within {timeout:g} s", stalled=True) from None
        except (OSError, UnicodeError) as exc:
            self._dns[host] = exc
            raise RdapDnsError(url, f"{host} does not resolve ({exc})") from None
        self._dns[host] = address
        return address

    async def handle(self, request: Request) -> Response:
        try:
            url = httpx.URL(request.url)
        except httpx.InvalidURL as exc:
            raise RdapTransportError(request.url, f"not a usable URL ({exc})") from None
        host = url.host
        headers = dict(request.headers)
        extensions = {}
        started = time.monotonic()
        if host and not _is_ip(host):
            port = url.port or (443 if url.scheme == "https" else 80)
            # A resolver that answers at all answers fast; a silent one means no network.
            address = await self._resolve(request.url, host, port, min(request.timeout, DNS_TIMEOUT))
            headers["Host"] = host if url.port is None else f"{host}:{url.port}"
            extensions["sni_hostname"] = host
            url = url.copy_with(host=address)
        left = max(0.05, request.timeout - (time.monotonic() - started))
        try:
            async with asyncio.timeout(left), self._client.stream(
                "GET", url, headers=headers, timeout=httpx.Timeout(left), extensions=extensions
            ) as r:
                resp_headers = {k.lower(): v for k, v in r.headers.items()}
                body = await _read_body(request, r, resp_headers)
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise RdapTimeoutError(request.url, f"no answer within {request.timeout:g} s") from exc
        except httpx.HTTPError as exc:
            raise RdapTransportError(request.url, f"connection failed ({type(exc).__name__}: {exc})") from exc
        except OSError as exc:
            raise RdapTransportError(request.url, f"connection failed ({exc})") from exc
        except (ValueError, UnicodeError) as exc:  # a header or URL httpx cannot use
            raise RdapTransportError(request.url, f"unusable response ({type(exc).__name__})") from exc
        return Response(url=request.url, status=r.status_code, headers=resp_headers, body=body)

    async def aclose(self) -> None:
        await self._client.aclose()


async def _read_body(request: Request, r: httpx.Response, headers: dict[str, str]) -> bytes:
    """The decoded body, read no further than ``request.max_bytes`` (decoded) allows."""
    cap = request.max_bytes
    codings = [c.strip().lower() for c in headers.get("content-encoding", "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
        raise RdapTransportError(request.url, f"unsupported content encoding {headers['content-encoding'][:40]!r}")
    declared = headers.get("content-length", "").strip()
    if cap is not None and not codings and declared.isdigit() and int(declared) > cap:
        raise RdapTooLargeError(request.url, f"Content-Length {declared} is larger than {cap} bytes")
    inflater = _Inflater(codings[0]) if codings else None
    out = bytearray()
    async for chunk in r.aiter_raw():
        if inflater is None:
            out += chunk
        else:
            inflater.feed(chunk, out, cap, request.url)
        if cap is not None and len(out) > cap:
            raise RdapTooLargeError(request.url, f"body larger than {cap} bytes")
    if inflater is not None:
        inflater.finish(out, cap, request.url)
    return bytes(out)


class _Inflater:
    """gzip or deflate, decoded in steps that never produce more than the room left under the cap."""

    def __init__(self, coding: str) -> None:
        self._deflate = coding == "deflate"
        self._started = False
        self._z = zlib.decompressobj(zlib.MAX_WBITS if self._deflate else 16 + zlib.MAX_WBITS)

    def feed(self, data: bytes, out: bytearray, cap: int | None, url: str) -> None:
        while data and not self._z.eof:
            room = 0 if cap is None else cap - len(out) + 1  # one byte past the cap proves it is passed
            try:
                piece = self._z.decompress(data, room)
            except zlib.error as exc:
                if self._deflate and not self._started:
                    # "deflate" is zlib-wrapped by the standard, raw in some servers: try raw once.
                    self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._started = True
                    continue
                raise RdapTransportError(url, f"body could not be decoded ({exc})") from None
            self._started = True
            out += piece
            if cap is not None and len(out) > cap:
                raise RdapTooLargeError(url, f"body larger than {cap} bytes once decoded")
            data = self._z.unconsumed_tail

    def finish(self, out: bytearray, cap: int | None, url: str) -> None:
        try:
            out += self._z.flush()
        except zlib.error as exc:
            raise RdapTransportError(url, f"body could not be decoded ({exc})") from None
        if cap is not None and len(out) > cap:
            raise RdapTooLargeError(url, f"body larger than {cap} bytes once decoded")
