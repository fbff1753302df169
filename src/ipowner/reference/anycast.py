"""Known anycast space: service addresses that their operators announce from many places at once.

A registration country says where an operator registered the block, and a location database places
one of the block's sites: for anycast space the two differ by design, so the report does not flag it.
The table is small on purpose, holding only services whose operators document them as anycast: the
public DNS resolvers (Cloudflare 1.1.1.1, Google Public DNS, Quad9, OpenDNS) and the DNS root servers
(root-servers.org). Location databases that mark anycast themselves (``location.is_anycast``) are
read by the judgement directly.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from ipowner.model import SourceInfo, SourceKind

TABLE_SOURCE_ID = "table:anycast"

# (prefix, service) as the operators publish them.
KNOWN_ANYCAST: tuple[tuple[str, str], ...] = (
    ("1.1.1.0/24", "Cloudflare DNS"), ("1.0.0.0/24", "Cloudflare DNS"), ("2606:4700:4700::/48", "Cloudflare DNS"),
    ("8.8.8.0/24", "Google Public DNS"), ("8.8.4.0/24", "Google Public DNS"),
    ("2001:4860:4860::/48", "Google Public DNS"),
    ("9.9.9.0/24", "Quad9"), ("149.112.112.0/24", "Quad9"), ("2620:fe::/48", "Quad9"),
    ("208.67.222.0/24", "OpenDNS"), ("208.67.220.0/24", "OpenDNS"), ("2620:119:35::/48", "OpenDNS"),
    ("2620:119:53::/48", "OpenDNS"),
    ("198.41.0.0/24", "a.root-servers.net"), ("170.247.170.0/24", "b.root-servers.net"),
    ("192.33.4.0/24", "c.root-servers.net"), ("199.7.91.0/24", "d.root-servers.net"),
    ("192.203.230.0/24", "e.root-servers.net"), ("192.5.5.0/24", "f.root-servers.net"),
    ("192.112.36.0/24", "g.root-servers.net"), ("198.97.190.0/24", "h.root-servers.net"),
    ("192.36.148.0/24", "i.root-servers.net"), ("192.58.128.0/24", "j.root-servers.net"),
    ("193.0.14.0/24", "k.root-servers.net"), ("199.7.83.0/24", "l.root-servers.net"),
    ("202.12.27.0/24", "m.root-servers.net"),
)


@lru_cache(maxsize=1)
def _networks() -> tuple[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str], ...]:
    return tuple((ipaddress.ip_network(p), name) for p, name in KNOWN_ANYCAST)


def anycast_service(address: str) -> str | None:
    """The anycast service whose published space holds ``address`` ("Google Public DNS"), or None."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    for net, name in _networks():
        if ip.version == net.version and ip in net:
            return name
    return None


def anycast_source() -> SourceInfo:
    """The table as a data source of a report."""
    return SourceInfo(
        id=TABLE_SOURCE_ID,
        kind=SourceKind.TABLE,
        name="ipowner table of known anycast services (public DNS resolvers and root servers, as their operators publish them)",
    )
