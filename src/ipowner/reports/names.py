"""A destination's hostnames in the order of their evidence: what the device asked for before what a
server claims.

A TLS ClientHello's SNI and an HTTP Host header are the names the app itself sent; a QUIC Initial
carries a ClientHello too; a DNS answer says a name resolved to the address (the app may have asked
for it, or a neighbour did); a certificate lists every name a server may answer for, often dozens
("*.google.com", "*.appspot.com", ...), none of which the app needs to have used. Names are
therefore shown SNI, HTTP Host, QUIC, DNS answer, then certificate names, each with its sources.
"""

from __future__ import annotations

from collections.abc import Iterable

from ipowner.model import Hostname

# Lower is stronger evidence that the device asked for the name. Zeek's logs rank with the packet
# sources they summarise; PCAPdroid's Info column is the name the app's connection used (SNI, Host or
# DNS query); a generic CSV's hostname column is as good as a DNS answer.
EVIDENCE_RANK: dict[str, int] = {
    "sni": 0, "zeek-ssl": 0,
    "http": 1, "zeek-http": 1,
    "quic": 2, "zeek-quic": 2, "pcapdroid": 2,
    "dns": 3, "zeek-dns": 3, "csv": 3,
    "cert": 4,
}
_UNRANKED = 5


def evidence_rank(source: str) -> int:
    return EVIDENCE_RANK.get(str(source), _UNRANKED)


def by_evidence(hostnames: Iterable[Hostname]) -> list[Hostname]:
    """The hostnames ordered by the strength of their evidence, then by name (a stable, total order)."""
    return sorted(hostnames, key=lambda h: (evidence_rank(h.source), h.name, str(h.source), h.concealment or ""))


def names_by_evidence(hostnames: Iterable[Hostname]) -> list[tuple[str, list[str]]]:
    """Each distinct name once, at the place of its strongest evidence, with all its sources in that order."""
    out: dict[str, list[str]] = {}
    for h in by_evidence(hostnames):
        sources = out.setdefault(h.name, [])
        if str(h.source) not in sources:
            sources.append(str(h.source))
    return list(out.items())


def from_certificate_only(sources: list[str]) -> bool:
    """True for a name that only a server's certificate named."""
    return all(s == "cert" for s in sources)
