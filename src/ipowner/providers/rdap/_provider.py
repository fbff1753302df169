"""``RdapProvider``: fills ``holder``, ``registry_chain``, ``network`` and ``abuse`` on address records."""

from __future__ import annotations

import copy
import ipaddress
from datetime import UTC, datetime

from ipowner._addr import parse
from ipowner.errors import IpownerError
from ipowner.model import AddressRecord, Network, SourceInfo, SourceKind
from ipowner.providers.rdap import _registries
from ipowner.providers.rdap._client import Answer, Progress, RdapClient, RunStats
from ipowner.providers.rdap._config import RdapConfig
from ipowner.providers.rdap._transports.base import BaseTransport


def _when(ts: float | None) -> datetime | None:
    return datetime.fromtimestamp(ts, tz=UTC) if ts is not None else None


class RdapProvider:
    """Registration data over RDAP: one query per network, cached, rate-limited, with evidence.

    Records whose ``needs_lookup`` is False are skipped; translation addresses are looked up by
    their embedded IPv4. A failure for one address becomes a reason in that record's ``errors``.
    """

    def __init__(
        self,
        config: RdapConfig | None = None,
        *,
        transport: BaseTransport | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.config = config or RdapConfig.from_env()
        self._transport = transport
        self.progress = progress
        self.stats = RunStats(offline=self.config.offline)
        self._used: dict[str, SourceInfo] = {}

    def sources(self) -> list[SourceInfo]:
        """The registry responses the last ``enrich`` used (one source per network object)."""
        return [self._used[k] for k in sorted(self._used)]

    def enrich(self, records: list[AddressRecord]) -> None:
        todo = [r for r in records if r.needs_lookup]
        if not todo:
            return
        kwargs = {"transport": self._transport} if self._transport is not None else {}
        try:
            with RdapClient(self.config, progress=self.progress, **kwargs) as client:
                try:
                    answers = client.lookup(sorted({_canon(r.attributed) for r in todo}))
                finally:
                    self.stats = client.stats
        except IpownerError as exc:
            # The run as a whole could not start (bootstrap unusable, cache unreadable, no event loop):
            # every address asked for gets the reason; the other providers' answers stand.
            for rec in todo:
                rec.errors.append(f"RDAP: {getattr(exc, 'reason', None) or exc}")
            return
        for rec in todo:
            ans = answers.get(_canon(rec.attributed))
            if ans is not None:
                for src in apply(rec, ans):
                    self._used.setdefault(src.id, src)


def _canon(address: str) -> str:
    got = parse(address)
    return got[0] if got is not None else str(ipaddress.ip_address(address))


def _source(ans: Answer, url: str | None) -> SourceInfo:
    reg = _registries.registries().get(ans.registry or "")
    regname = reg.name if reg else "registry"
    handle = ans.network.handle if ans.network else None
    if handle and " " in handle and ans.network and ans.network.cidrs:
        handle = ans.network.cidrs[0]  # APNIC/RIPE/AFRINIC handles are ranges with spaces: a CIDR reads better
    return SourceInfo(
        id=f"rdap:{ans.registry or 'unknown'}:{handle or ans.address}" + (":cache" if ans.from_cache else ""),
        kind=SourceKind.RDAP,
        name=f"{regname} RDAP" + (" (cached)" if ans.from_cache else ""),
        date=_when(ans.fetched),
        path=url,
    )


def apply(rec: AddressRecord, ans: Answer) -> list[SourceInfo]:
    """Copy one RDAP answer onto a record, noting provenance; return the sources used."""
    if ans.error:
        rec.errors.append(ans.error)
        return []
    if ans.decision is None or ans.network is None:
        return []
    net, d = ans.network, ans.decision
    src = _source(ans, ans.url)
    rec.network = Network(
        start=net.start_text, end=net.end_text, cidrs=list(net.cidrs), name=net.name, handle=net.handle,
        type=net.type, country=net.country, registry=d.nir.name if d.nir else (d.rir.name if d.rir else None),
        parent_handle=net.parent_handle, registration=net.registration, last_changed=net.last_changed, url=ans.url,
    )
    rec.note("network", src)
    # Records that share a network get their own copies: a caller editing one must not edit the others.
    rec.holder = copy.deepcopy(d.holder)
    holder_url = d.claims.get("holder", ans.url)
    hsrc = src if holder_url == ans.url else SourceInfo(
        id=f"rdap:{ans.registry or 'unknown'}:entity:{d.holder.handle}", kind=SourceKind.RDAP,
        name=f"{src.name} entity", date=src.date, path=holder_url)
    rec.note("holder", hsrc)
    rec.registry_chain = [copy.copy(link) for link in d.chain]
    rec.note("registry_chain", src)
    if d.abuse is not None:
        rec.abuse = copy.copy(d.abuse)
        rec.note("abuse", src)
    return [src] if hsrc is src else [src, hsrc]
