"""The registries ipowner knows: the five RIRs and the NIRs under them (shipped ``data/nirs.json``).

Used to name the registry behind a URL or a response, and to recognise an NIR by the maintainer,
IRT and entity handles it leaves on its members' records.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

from ipowner import paths

# Short keys used for rate limits and source ids.
RIR_KEYS = {"ARIN": "arin", "RIPE NCC": "ripe", "APNIC": "apnic", "LACNIC": "lacnic", "AFRINIC": "afrinic"}


@dataclass(slots=True, frozen=True)
class Registry:
    key: str  # "arin", "apnic", "jpnic", ...
    name: str  # "ARIN", "JPNIC", ...
    full_name: str
    kind: str  # "rir" | "nir"
    rir: str | None = None  # for an NIR, the RIR above it
    country: str | None = None
    rdap: tuple[str, ...] = ()
    port43: tuple[str, ...] = ()
    handles: frozenset[str] = field(default_factory=frozenset)  # upper-case
    handle_prefixes: tuple[str, ...] = ()
    handle_suffix: str | None = None
    email_domains: tuple[str, ...] = ()
    own_database: bool = False

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


@lru_cache(maxsize=1)
def registries() -> dict[str, Registry]:
    data = json.loads(paths.shipped("nirs.json").read_text(encoding="utf-8"))
    out: dict[str, Registry] = {}
    for name, r in data["rirs"].items():
        key = RIR_KEYS[name]
        out[key] = Registry(
            key=key,
            name=name,
            full_name=r.get("full_name", name),
            kind="rir",
            rdap=tuple(r.get("rdap", [])),
            port43=tuple(r.get("port43", [])),
            handles=frozenset(h.upper() for h in r.get("registry_handles", [])),
            handle_suffix=r.get("handle_suffix"),
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
            rdap=tuple(n.get("rdap", [])),
            port43=tuple(n.get("port43", [])),
            handles=frozenset(h.upper() for h in n.get("handles", [])),
            handle_prefixes=tuple(p.upper() for p in n.get("handle_prefixes", [])),
            email_domains=tuple(d.lower() for d in n.get("email_domains", [])),
            own_database=bool(n.get("own_database")),
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
