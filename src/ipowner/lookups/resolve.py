"""Hostname resolution with a hard time limit and an injectable resolver.

The system resolver (``socket.getaddrinfo``) can block for minutes when there is no network, and it
cannot be cancelled; queries therefore run in daemon threads that are abandoned when no answer has
come for a few seconds, so the process neither waits for them nor is kept alive by them.
"""

from __future__ import annotations

import queue
import socket
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from ipowner._addr import canonical_text
from ipowner.errors import ResolutionError
from ipowner.model import SourceInfo, SourceKind

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
        addr = canonical_text(str(sockaddr[0]).split("%", 1)[0])
        if addr not in answers:
            answers.append(addr)
    if not answers:
        raise ResolutionError(hostname, "has no A or AAAA records")
    return answers


class SystemResolver:
    """``socket.getaddrinfo`` in a few daemon threads, giving up when no answer comes for ``timeout`` s.

    The clock restarts with every answer, so a long list resolves as fast as the resolver answers,
    while a resolver that answers nothing (no network) is abandoned after ``timeout`` seconds.
    """

    name = "system"
    workers = 16

    def __init__(self, timeout: float = DEFAULT_TIMEOUT, lookup: Callable[[str], list[str]] = _getaddrinfo) -> None:
        self.timeout = timeout
        self._lookup = lookup

    def __call__(self, hostname: str) -> list[str]:
        result = self.resolve_many([hostname])[hostname]
        if isinstance(result, Exception):
            raise result
        return result

    def _one(self, name: str) -> list[str] | ResolutionError:
        try:
            return self._lookup(name)
        except ResolutionError as exc:
            return exc
        except Exception as exc:  # a resolver bug must not lose the other names
            return ResolutionError(name, f"cannot be resolved ({type(exc).__name__}: {exc})")

    def resolve_many(self, hostnames: Iterable[str]) -> dict[str, list[str] | ResolutionError]:
        names = list(dict.fromkeys(hostnames))
        todo: queue.SimpleQueue[str] = queue.SimpleQueue()
        for name in names:
            todo.put(name)
        done: queue.SimpleQueue[tuple[str, list[str] | ResolutionError]] = queue.SimpleQueue()
        stop = threading.Event()

        def work() -> None:
            while not stop.is_set():
                try:
                    name = todo.get_nowait()
                except queue.Empty:
                    return
                done.put((name, self._one(name)))

        for i in range(min(self.workers, len(names))):
            # Daemon threads: a getaddrinfo call that never returns neither blocks nor outlives the run.
            threading.Thread(target=work, name=f"ipowner-resolve-{i}", daemon=True).start()
        results: dict[str, list[str] | ResolutionError] = {}
        while len(results) < len(names):
            try:
                name, value = done.get(timeout=self.timeout)
            except queue.Empty:
                break
            results[name] = value
        stop.set()
        for name in names:
            if name not in results:
                results[name] = ResolutionError(name, f"no answer from the system resolver within {self.timeout:g} s")
        return results


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
            out[name] = [canonical_text(str(a).split("%", 1)[0]) for a in resolver(name)]
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
        kind=SourceKind.RESOLVER,
        name=f"{name} resolver",
        date=when or datetime.now(UTC),
    )
