"""Hostname resolution with a hard time limit and an injectable resolver.

The system resolver (``socket.getaddrinfo``) can block for minutes when there is no network, and it
cannot be cancelled; each query therefore runs in a daemon thread that is abandoned when the
deadline passes, so the process neither waits for it nor is kept alive by it.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from ipowner.errors import ResolutionError
from ipowner.model import SourceInfo

# A few seconds: long enough for a slow but working resolver, short enough to fail over offline.
DEFAULT_TIMEOUT = 4.0


@runtime_checkable
class Resolver(Protocol):
    """Turns a hostname (IDNA/ASCII form) into its A and AAAA answers, in the resolver's order.

    Raises ``ResolutionError`` when the name does not resolve. A plain callable with this signature
    is accepted wherever a resolver is; ``name`` (optional attribute) labels it in the output.
    """

    def __call__(self, hostname: str) -> list[str]: ...


def _getaddrinfo(hostname: str) -> list[str]:
    try:
        infos = socket.getaddrinfo(hostname, None, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ResolutionError(hostname, f"does not resolve ({exc.strerror or exc})") from None
    except (OSError, UnicodeError) as exc:
        raise ResolutionError(hostname, f"cannot be resolved ({exc})") from None
    answers: list[str] = []
    for family, _type, _proto, _canon, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        # Drop the zone id getaddrinfo appends to link-local answers; the address is what we look up.
        addr = str(ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0]))
        if addr not in answers:
            answers.append(addr)
    if not answers:
        raise ResolutionError(hostname, "has no A or AAAA records")
    return answers


class SystemResolver:
    """``socket.getaddrinfo`` with a hard per-run deadline; names are resolved in parallel."""

    name = "system"

    def __init__(self, timeout: float = DEFAULT_TIMEOUT, lookup: Callable[[str], list[str]] = _getaddrinfo) -> None:
        self.timeout = timeout
        self._lookup = lookup

    def __call__(self, hostname: str) -> list[str]:
        result = self.resolve_many([hostname])[hostname]
        if isinstance(result, Exception):
            raise result
        return result

    def resolve_many(self, hostnames: Iterable[str]) -> dict[str, list[str] | ResolutionError]:
        names = list(dict.fromkeys(hostnames))
        results: dict[str, list[str] | ResolutionError] = {}
        lock = threading.Lock()
        done = threading.Semaphore(0)

        def work(name: str) -> None:
            try:
                value: list[str] | ResolutionError = self._lookup(name)
            except ResolutionError as exc:
                value = exc
            except Exception as exc:  # a resolver bug must not lose the other names
                value = ResolutionError(name, f"cannot be resolved ({type(exc).__name__}: {exc})")
            with lock:
                results[name] = value
            done.release()

        for name in names:
            threading.Thread(target=work, args=(name,), name=f"resolve {name[:40]}", daemon=True).start()
        deadline = time.monotonic() + self.timeout
        for _ in names:
            if not done.acquire(timeout=max(0.0, deadline - time.monotonic())):
                break
        with lock:
            final = dict(results)
        for name in names:
            if name not in final:
                final[name] = ResolutionError(name, f"no answer from the system resolver within {self.timeout:g} s")
        return final


def resolve_all(
    hostnames: Iterable[str], resolver: Resolver | Callable[[str], list[str]]
) -> dict[str, list[str] | ResolutionError]:
    """Answers (or the error) for each hostname, using the resolver's batch method when it has one."""
    batch = getattr(resolver, "resolve_many", None)
    if callable(batch):
        return batch(hostnames)
    out: dict[str, list[str] | ResolutionError] = {}
    for name in dict.fromkeys(hostnames):
        try:
            out[name] = [str(ipaddress.ip_address(a)) for a in resolver(name)]
            if not out[name]:
                out[name] = ResolutionError(name, "has no A or AAAA records")
        except ResolutionError as exc:
            out[name] = exc
        except ValueError as exc:
            out[name] = ResolutionError(name, f"resolver returned an invalid address ({exc})")
    return out


def resolver_source(resolver: object, when: datetime | None = None) -> SourceInfo:
    """The provenance entry for answers from ``resolver``."""
    name = str(getattr(resolver, "name", None) or getattr(resolver, "__name__", None) or type(resolver).__name__)
    return SourceInfo(
        id="resolver",
        kind="resolver",
        name=f"{name} resolver",
        date=when or datetime.now(UTC),
    )
