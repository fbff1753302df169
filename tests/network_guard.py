"""The tests' network guard: nothing may be reached but the loopback interface.

One implementation, used in two places:

- in the test process, by the autouse fixture of ``tests/conftest.py`` (:func:`loopback_only`), and by the
  ``no_sockets`` fixture for the tests that prove a call opens no socket at all (:func:`no_sockets`);
- in the CLI subprocesses the tests start, whose ``python -c`` code is :func:`cli_code`: the same guard is
  installed before ``ipowner.cli.main`` runs.

In the test process a refused attempt raises :class:`NetworkRefused` (an ``AssertionError``) and is recorded,
so that code which swallows the error still fails its test (the conftest checks the record at teardown). In a
subprocess it raises ``OSError``, as a dead network would, because those tests check how the CLI copes.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
TESTS_DIR = Path(__file__).resolve().parent

# Module functions that resolve a name or open a connection by themselves.
_LOOKUPS = ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr", "getnameinfo")
_NO_SOCKET_FUNCTIONS = ("create_connection", "create_server", "socketpair", "fromfd", *_LOOKUPS)


class NetworkRefused(AssertionError):
    """A test tried to reach something other than the loopback interface."""


Setter = Callable[[Any, str, Any], None]  # monkeypatch.setattr, or plain setattr in a subprocess
Refuse = Callable[[str], BaseException]


def _host_of(value: Any) -> Any:
    """The host part of a socket address or of a name-lookup argument."""
    if isinstance(value, tuple) and value:
        value = value[0]
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("ascii", "replace")
    if isinstance(value, str):
        value = value.split("%", 1)[0]  # a scoped IPv6 address (fe80::1%eth0) is still not loopback
    return value


def _is_loopback(value: Any) -> bool:
    host = _host_of(value)
    return host is None or host == "" or host in LOOPBACK_HOSTS


def _install_loopback_only(setter: Setter, refuse: Refuse) -> None:
    real = socket.socket
    inet = (socket.AF_INET, socket.AF_INET6)

    def guard_connect(name: str) -> None:
        original = getattr(real, name)

        def connect(self: socket.socket, address: Any) -> Any:
            if self.family in inet and not _is_loopback(address):
                raise refuse(f"{name} to {address!r}")
            return original(self, address)

        connect.__name__ = name
        setter(real, name, connect)

    guard_connect("connect")
    guard_connect("connect_ex")
    real_sendto = real.sendto

    def sendto(self: socket.socket, data: Any, *flags_and_address: Any) -> Any:
        # sendto(data, address) or sendto(data, flags, address): UDP (DNS) reaches out without connect()
        if self.family in inet and flags_and_address and not _is_loopback(flags_and_address[-1]):
            raise refuse(f"sendto to {flags_and_address[-1]!r}")
        return real_sendto(self, data, *flags_and_address)

    setter(real, "sendto", sendto)

    for name in _LOOKUPS:
        original = getattr(socket, name)

        def lookup(host: Any, *args: Any, _original: Any = original, _name: str = name, **kwargs: Any) -> Any:
            if not _is_loopback(host):
                raise refuse(f"{_name} of {_host_of(host)!r}")
            return _original(host, *args, **kwargs)

        lookup.__name__ = name
        setter(socket, name, lookup)


def _install_no_sockets(setter: Setter, refuse: Refuse) -> None:
    class RefusedSocket(socket.socket):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise refuse("a socket was opened")

    def deny(*args: Any, **kwargs: Any) -> Any:
        raise refuse("a socket was opened")

    setter(socket, "socket", RefusedSocket)
    for name in _NO_SOCKET_FUNCTIONS:
        setter(socket, name, deny)


def loopback_only(setattr_: Setter, refusals: list[str]) -> None:
    """In the test process: connections and name lookups beyond loopback raise and are recorded."""

    def refuse(what: str) -> BaseException:
        refusals.append(what)
        return NetworkRefused(f"test tried to reach the network: {what}")

    _install_loopback_only(setattr_, refuse)


def no_sockets(setattr_: Setter, refusals: list[str]) -> None:
    """In the test process: opening any socket or resolving any name raises and is recorded."""

    def refuse(what: str) -> BaseException:
        refusals.append(what)
        return NetworkRefused(f"test: {what}")

    _install_no_sockets(setattr_, refuse)


def install_in_subprocess(mode: Literal["loopback", "none"]) -> None:
    """In a CLI subprocess: the same guard, failing with ``OSError`` as a dead network does."""

    def refuse(what: str) -> BaseException:
        return OSError(f"test: {what} refused" if mode == "loopback" else f"test: {what}")

    (_install_loopback_only if mode == "loopback" else _install_no_sockets)(setattr, refuse)


def cli_code(mode: Literal["loopback", "none"] = "loopback", setup: str = "") -> str:
    """``python -c`` code that installs the guard, runs ``setup`` (more patches), then the ipowner CLI.

    ``mode="none"`` refuses every socket and name lookup, for the tests that prove a command stays offline.
    """
    return "\n".join([
        "import sys",
        f"sys.path.append({str(TESTS_DIR)!r})",
        "import network_guard",
        f"network_guard.install_in_subprocess({mode!r})",
        "del sys.path[-1]",
        setup,
        "from ipowner.cli import main",
        "sys.argv[0] = 'ipowner'",
        "main()",
        "",
    ])

