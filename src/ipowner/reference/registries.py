"""The registries ipowner knows: the five RIRs and the NIRs under them, from the shipped ``data/nirs.json``.

One table, parsed once, for everything that names a registry: RDAP (which registry a URL, a whois
server or a handle belongs to; rate limits and source ids by ``key``) and the jurisdiction judgement
(which registry a chain link, a network or a URL names, and where that registry has its seat).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import urlsplit

from ipowner.paths import shipped

# Short keys of the RIRs, used for rate limits and source ids; an NIR's key is made from its name.
RIR_KEYS = {"ARIN": "arin", "RIPE NCC": "ripe", "APNIC": "apnic", "LACNIC": "lacnic", "AFRINIC": "afrinic"}


@dataclass(slots=True, frozen=True)
class Registry:
    key: str  # "arin", "apnic", "jpnic", ...
    name: str  # "ARIN", "RIPE NCC", "JPNIC", "NIC.br", ...
    full_name: str
    kind: Literal["rir", "nir"]
    rir: str | None = None  # for an NIR, the key of the RIR above it
    country: str | None = None  # the registry's seat (ISO 3166-1 alpha-2)
    rdap: tuple[str, ...] = ()
    port43: tuple[str, ...] = ()
    handles: frozenset[str] = field(default_factory=frozenset)  # upper-case
    handle_prefixes: tuple[str, ...] = ()
    handle_suffix: str | None = None
    email_domains: tuple[str, ...] = ()
    own_database: bool = False
    known_as: tuple[str, ...] = ()  # upper-case words by which a name, handle or URL shows this registry

    @property
    def is_nir(self) -> bool:
        return self.kind == "nir"

    def owns_handle(self, handle: str | None) -> bool:
        """True when ``handle`` is one of this registry's own objects (maintainer, IRT, hostmaster)."""
        if not handle:
            return False
        h = handle.upper()
        return h in self.handles or any(h.startswith(p) for p in self.handle_prefixes)

    def owns_email(self, email: str | None) -> bool:
        if not email or "@" not in email:
            return False
        domain = email.rsplit("@", 1)[1].lower()
        return any(domain == d or domain.endswith("." + d) for d in self.email_domains)


def _strings(entry: dict[str, Any], name: str) -> list[str]:
    return [str(x) for x in entry.get(name, [])]


@lru_cache(maxsize=1)
def registries() -> dict[str, Registry]:
    """Every registry by key: the RIRs, then the NIRs, each in the file's order."""
    data = json.loads(shipped("nirs.json").read_text(encoding="utf-8"))
    out: dict[str, Registry] = {}
    for name, r in data["rirs"].items():
        key = RIR_KEYS[name]
        out[key] = Registry(
            key=key,
            name=name,
            full_name=r.get("full_name", name),
            kind="rir",
            country=r.get("country"),
            rdap=tuple(_strings(r, "rdap")),
            port43=tuple(_strings(r, "port43")),
            handles=frozenset(h.upper() for h in _strings(r, "registry_handles")),
            handle_suffix=r.get("handle_suffix"),
            known_as=tuple(k.upper() for k in _strings(r, "known_as")),
        )
    for name, n in data["nirs"].items():
        key = name.lower().replace(" ", "-").replace(".", "")
        out[key] = Registry(
            key=key,
            name=name,
            full_name=n["name"],
            kind="nir",
            rir=RIR_KEYS[n["rir"]],
            country=n.get("country"),
            rdap=tuple(_strings(n, "rdap")),
            port43=tuple(_strings(n, "port43")),
            handles=frozenset(h.upper() for h in _strings(n, "handles")),
            handle_prefixes=tuple(p.upper() for p in _strings(n, "handle_prefixes")),
            email_domains=tuple(d.lower() for d in _strings(n, "email_domains")),
            own_database=bool(n.get("own_database")),
            known_as=tuple(k.upper() for k in _strings(n, "known_as")),
        )
    return out


def rirs() -> list[Registry]:
    return [r for r in registries().values() if r.kind == "rir"]


def nirs() -> list[Registry]:
    return [r for r in registries().values() if r.kind == "nir"]


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def by_url(url: str | None) -> Registry | None:
    """The registry whose RDAP service ``url`` belongs to (a public URL, not a rewritten one)."""
    if not url:
        return None
    for reg in registries().values():
        for base in reg.rdap:
            if url.startswith(base) or _host(url) == _host(base):
                return reg
    return None


def by_port43(server: str | None) -> Registry | None:
    if not server:
        return None
    s = server.strip().lower()
    for reg in registries().values():
        if s in reg.port43:
            return reg
    return None


def by_name(name: str) -> Registry | None:
    """The registry whose key or name is ``name`` (any case): "ripe", "RIPE NCC", "nicbr", "NIC.br"."""
    n = name.lower()
    for reg in registries().values():
        if reg.key == n or reg.name.lower() == n:
            return reg
    return None


def registry_of_handle(handle: str | None) -> Registry | None:
    """The registry (RIR or NIR) whose own object ``handle`` is, e.g. MAINT-CNNIC-AP -> CNNIC."""
    for reg in registries().values():
        if reg.owns_handle(handle):
            return reg
    return None


@lru_cache(maxsize=1)
def _mentions() -> list[tuple[re.Pattern[str], Registry]]:
    # NIRs first: their handles often carry the RIR's suffix too (e.g. IRT-CNNIC-CN under APNIC);
    # then the longer word first, so that "NIC MEXICO" is tried before a shorter word inside it.
    words = [(word, reg) for reg in registries().values() for word in reg.known_as]
    words.sort(key=lambda wr: (not wr[1].is_nir, -len(wr[0])))
    return [(re.compile(r"(?<![A-Z0-9])" + re.escape(word) + r"(?![A-Z])"), reg) for word, reg in words]


def mentioned(text: str | None) -> Registry | None:
    """The registry a name, handle or URL mentions ("IRT-CNNIC-CN" -> CNNIC, "RIPE NCC" -> RIPE NCC), or None."""
    if not text:
        return None
    up = text.upper()
    for pattern, reg in _mentions():
        if pattern.search(up):
            return reg
    return None
