"""The httpx transport: DNS bounded in a daemon thread, a dead network failing fast, loopback HTTP."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest

from ipowner.model import AddressRecord
from ipowner.providers.base import Provider
from ipowner.providers.rdap import HTTPTransport, RdapClient, RdapConfig, RdapProvider, Request
from ipowner.providers.rdap._exceptions import RdapDnsError
from rdap_support import RecordedRdap


@pytest.fixture(scope="module")
def server():
    srv = RecordedRdap()
    yield srv
    srv.close()


def test_hanging_dns_is_abandoned(monkeypatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: time.sleep(30))

    async def go() -> float:
        t = HTTPTransport()
        t0 = time.monotonic()
        with pytest.raises(RdapDnsError) as info:
            await t.handle(Request("https://rdap.example.invalid/ip/1.2.3.4", timeout=0.3))
        assert info.value.stalled and "DNS gave no answer" in info.value.reason
        # the same host is not waited for again
        with pytest.raises(RdapDnsError):
            await t.handle(Request("https://rdap.example.invalid/ip/1.2.3.5", timeout=0.3))
        await t.aclose()
        return time.monotonic() - t0

    assert asyncio.run(go()) < 2.0


def test_dead_network_fails_the_rest_at_once(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: time.sleep(30))
    cfg = RdapConfig(cache_dir=tmp_path, timeout=0.3, bootstrap_max_age=1e12)  # the shipped snapshot, no refresh
    t0 = time.monotonic()
    with RdapClient(cfg) as c:
        # four registries asked in parallel: each waits for its own DNS once, at most the timeout
        answers = c.lookup(["3.3.3.3", "62.239.237.1", "1.1.1.1", "200.57.141.161"])
        errors = [a.error for a in answers.values()]
        assert all(e and ("DNS gave no answer" in e or "network unreachable" in e) for e in errors)
        # later queries of the run are not attempted at all
        later = c.lookup(["13.64.0.1", "193.0.6.139"])
        assert all("not attempted: network unreachable" in a.error for a in later.values())
    assert time.monotonic() - t0 < 3.0


def test_host_name_resolved_here_and_sent_as_host(server: RecordedRdap, monkeypatch) -> None:
    async def go():
        t = HTTPTransport()
        r = await t.handle(Request(f"http://localhost:{server.port}/main/ripe/ip/62.239.237.1", timeout=5))
        await t.aclose()
        return r

    r = asyncio.run(go())
    assert r.status == 200 and b"BT-CORPORATE" in r.body


def test_provider_interface_and_progress(server: RecordedRdap, tmp_path: Path, monkeypatch) -> None:
    boot = server.write_bootstrap(tmp_path / "boot")
    cfg = RdapConfig(bootstrap=str(boot), cache_dir=tmp_path / "c")
    cfg.rewrite = type(cfg.rewrite).parse(server.rewrite_env())
    seen: list[tuple[int, int]] = []
    provider = RdapProvider(cfg, progress=lambda done, total: seen.append((done, total)))
    assert isinstance(provider, Provider)
    recs = [AddressRecord(query=a, address=a) for a in ("62.239.237.1", "62.239.237.2", "3.3.3.3", "8.8.8.8")]
    provider.enrich(recs)
    assert seen[-1] == (4, 4) and len(seen) == 4
    assert recs[0].holder.name == "BT-CORPORATE" and recs[0].provenance["holder"] == recs[0].provenance["network"]
    src = recs[0].sources[recs[0].provenance["holder"]]
    assert src.kind == "rdap" and src.path.endswith("/ip/62.239.237.1") and src.date is not None
    assert recs[3].errors and recs[3].holder is None
    assert provider.stats.requests["ip network"] == 3 and provider.stats.deduplicated == 1
    assert {s.id for s in provider.sources()} >= {recs[0].provenance["holder"], recs[2].provenance["holder"]}
