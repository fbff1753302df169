"""Where RDAP requests may go: one allow-list for every query, referral, link and redirect.

The list holds the services the bootstrap names and those of the registry table (RIRs and NIRs), as
they are contacted, i.e. after ``IPOWNER_RDAP_REWRITE``. When rewrites are configured, the list is only
the rewritten prefixes, plus the services of a bootstrap the user named that are not a public registry
(a mirror's own hosts): a user who set up a mirror to keep addresses on the premises never has one sent
to a registry that was not rewritten, even when the bootstrap, an answer or a redirect names it. An answer's links are never on the list by being in the answer:
a link or a redirect is followed only when it lands on a service already listed.

URLs are compared on host, port and path prefix, http and https alike (registries list both); user
info and dot segments (``/../``) are refused, so a prefix cannot be climbed out of.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, urlsplit

from ipowner.providers.rdap import _registries
from ipowner.providers.rdap._config import Rewriter

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(slots=True, frozen=True)
class _Service:
    host: str
    port: int | None  # None: the scheme's default port
    path: str  # prefix, ending in "/"

    def covers(self, other: _Service) -> bool:
        return self.host == other.host and self.port == other.port and other.path.startswith(self.path)


def _split(url: str) -> tuple[_Service | None, str | None]:
    """A URL as (host, port, path), or None and why it can never be contacted."""
    try:
        parts: SplitResult = urlsplit(url)
        port = parts.port
    except ValueError:
        return None, "not a usable URL"
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None, "not an http(s) URL"
    if parts.username is not None or parts.password is not None:
        return None, "a URL with user info"
    if port == _DEFAULT_PORTS[parts.scheme]:
        port = None
    path = parts.path or "/"
    if any(seg in (".", "..") for seg in unquote(path).replace("\\", "/").split("/")):
        return None, "a URL with dot segments"
    return _Service(parts.hostname.lower(), port, path), None


class AllowList:
    def __init__(self, services: Iterable[str], rewrite: Rewriter, *, chosen: Iterable[str] = ()) -> None:
        """``services``: every service URL of the bootstrap and the registry table (public form);
        ``chosen``: the services of a bootstrap the user named (with rewrites configured, those that are
        no public registry's stay on the list)."""
        self.strict = bool(rewrite.pairs)
        if self.strict:
            urls = [dst for _src, dst in rewrite.pairs] + [u for u in chosen if _registries.by_url(u) is None]
        else:
            urls = list(services)
        self._entries: list[_Service] = []
        for url in urls:
            entry, _why = _split(url)
            if entry is not None:
                if not entry.path.endswith("/"):
                    entry = _Service(entry.host, entry.port, entry.path + "/")
                self._entries.append(entry)

    def refusal(self, target: str) -> str | None:
        """None when ``target`` (a URL as it would be contacted, after rewrites) is on the list, else why not."""
        where, why = _split(target)
        if where is None:
            return why
        if any(entry.covers(where) for entry in self._entries):
            return None
        if self.strict:
            return "outside the IPOWNER_RDAP_REWRITE prefixes"
        return "not a service of the RDAP bootstrap or the registry table"


def same_origin(url: str, other: str) -> bool:
    """Whether two URLs name the same host and port (the bootstrap's own redirects stay there)."""
    a, _ = _split(url)
    b, _ = _split(other)
    return a is not None and b is not None and (a.host, a.port) == (b.host, b.port)
