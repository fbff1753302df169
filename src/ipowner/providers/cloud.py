"""Cloud operators' published range files as a provider: which operator, region and service an address is in.

The files are the user's (``--cloud-ranges``): an AWS ``ip-ranges.json``, a Google Cloud ``cloud.json``
or Azure service tags, recognised from the content. Nothing is fetched. Each prefix becomes one
``RangeFact`` (``provider``, ``region``, ``service``); an address is answered by its longest prefix.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from ipowner.errors import InputError
from ipowner.model import RangeFact, SourceInfo, SourceKind
from ipowner.model.report import CloudInfo
from ipowner.reference.cloud import CloudTable, cloud_table


class CloudRangeProvider:
    """Ranges from operators' published files, indexed for longest-prefix lookup."""

    def __init__(self, paths: Iterable[str | Path] = ()) -> None:
        self._sources: list[SourceInfo] = []
        self._loaded: list[RangeFact] = []
        # (IP version, prefix length) -> network integer -> the fact for that prefix
        self._index: dict[tuple[int, int], dict[int, RangeFact]] = {}
        for p in paths:
            self.add(*parse_cloud_ranges(p))

    # -- the provider's contract ------------------------------------------------------------------
    def sources(self) -> list[SourceInfo]:
        """The range files read, one source each."""
        return list(self._sources)

    def facts(self, address: str) -> list[RangeFact]:
        """The most specific range fact covering ``address`` (an empty list when none does)."""
        hit = self.find(address)
        return [] if hit is None else [hit]

    def close(self) -> None:
        """Let go of the index; ``sources()`` still says what was read."""
        self._index.clear()
        self._loaded.clear()

    def __enter__(self) -> CloudRangeProvider:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- building and asking ----------------------------------------------------------------------
    def add(self, source: SourceInfo, facts: list[RangeFact]) -> None:
        self._sources.append(source)
        for f in facts:
            self._loaded.append(f)
            bits = 32 if f.version == 4 else 128
            plen = bits - (f.end - f.start + 1).bit_length() + 1
            slot = self._index.setdefault((f.version, plen), {})
            old = slot.get(f.start)
            # Several entries for one prefix (Azure lists a prefix under many tags): keep one with a region.
            if old is None or (old.region is None and f.region is not None):
                slot[f.start] = f

    def find(self, address: str) -> RangeFact | None:
        """The fact of the longest prefix holding ``address``, or None."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return None
        value, bits = int(ip), ip.max_prefixlen
        for plen in range(bits, -1, -1):
            slot = self._index.get((ip.version, plen))
            if not slot:
                continue
            net = value & (((1 << plen) - 1) << (bits - plen)) if plen else 0
            hit = slot.get(net)
            if hit is not None:
                return hit
        return None

    def recognise(self, address: str, table: CloudTable | None = None) -> CloudInfo | None:
        """The operator, region and service of ``address`` from the range files, named by ``table``."""
        fact = self.find(address)
        if fact is None or not fact.provider:
            return None
        op = (table or cloud_table()).get(fact.provider)
        return CloudInfo(
            key=fact.provider,
            name=op.name if op else fact.provider,
            company=op.company if op else fact.provider,
            country=op.country if op else None,
            basis=f"ranges:{fact.source.split(':', 1)[-1]}",
            region=fact.region,
            service=fact.service,
            source=fact.source,
        )

    def __len__(self) -> int:
        return len(self._loaded)


def load_cloud_ranges(paths: Iterable[str | Path]) -> CloudRangeProvider:
    """A provider over the range files at ``paths``; raises ``InputError`` naming a file it cannot use."""
    return CloudRangeProvider(paths)


def _fact(prefix: str, source_id: str, provider: str, region: str | None, service: str | None) -> RangeFact:
    net = ipaddress.ip_network(prefix, strict=False)
    return RangeFact(
        start=int(net.network_address),
        end=int(net.broadcast_address),
        version=net.version,
        source=source_id,
        provider=provider,
        region=region or None,
        service=service or None,
    )


def parse_cloud_ranges(path: str | Path) -> tuple[SourceInfo, list[RangeFact]]:
    """Read an AWS ip-ranges.json, a Google cloud.json or an Azure service tags file.

    The kind is recognised from the content. Raises ``InputError`` naming the file when it is
    none of these; a single malformed prefix is skipped, not fatal.
    """
    p = Path(path)
    name = str(path)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputError(name, f"cannot read cloud range file: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(name, f"not a JSON cloud range file ({exc})") from None
    if not isinstance(doc, dict):
        raise InputError(name, "not a cloud range file (expected a JSON object)")
    facts: list[RangeFact] = []
    bad = 0

    def add(prefix: Any, sid: str, provider: str, region: Any, service: Any) -> None:
        nonlocal bad
        try:
            facts.append(_fact(str(prefix), sid, provider, _s(region), _s(service)))
        except ValueError:
            bad += 1

    prefixes = doc.get("prefixes")
    if isinstance(prefixes, list) and ("createDate" in doc or any(isinstance(x, dict) and "ip_prefix" in x for x in prefixes)):
        sid = "ranges:aws"
        date = _parse_date(doc.get("createDate"), "%Y-%m-%d-%H-%M-%S")
        for item in prefixes:
            if isinstance(item, dict) and "ip_prefix" in item:
                add(item["ip_prefix"], sid, "aws", item.get("region"), item.get("service"))
        for item in doc.get("ipv6_prefixes") or []:
            if isinstance(item, dict) and "ipv6_prefix" in item:
                add(item["ipv6_prefix"], sid, "aws", item.get("region"), item.get("service"))
        src = SourceInfo(id=sid, kind=SourceKind.RANGES, name="AWS ip-ranges.json", date=date, path=name)
    elif isinstance(prefixes, list):
        sid = "ranges:google"
        date = _parse_date(doc.get("creationTime"), None)
        for item in prefixes:
            if not isinstance(item, dict):
                bad += 1
                continue
            prefix = item.get("ipv4Prefix") or item.get("ipv6Prefix")
            if prefix:
                add(prefix, sid, "google", item.get("scope"), item.get("service"))
            else:
                bad += 1
        src = SourceInfo(id=sid, kind=SourceKind.RANGES, name="Google Cloud cloud.json", date=date, path=name)
    elif isinstance(doc.get("values"), list):
        sid = "ranges:azure"
        for item in doc["values"]:
            props = item.get("properties") if isinstance(item, dict) else None
            if not isinstance(props, dict):
                bad += 1
                continue
            service = props.get("systemService") or str(item.get("name", "")).split(".")[0]
            for prefix in props.get("addressPrefixes") or []:
                add(prefix, sid, "microsoft", props.get("region"), service)
        label = f"Azure service tags ({doc.get('cloud', 'Public')}, change {doc.get('changeNumber', '?')})"
        src = SourceInfo(id=sid, kind=SourceKind.RANGES, name=label, date=None, path=name)
    else:
        raise InputError(name, "not an AWS ip-ranges.json, Google cloud.json or Azure service tags file")
    if not facts:
        raise InputError(name, "cloud range file lists no usable prefix")
    if bad:
        src.name += f" ({bad} malformed entries skipped)"
    return src, facts


def _s(v: Any) -> str | None:
    return str(v) if v not in (None, "") else None


def _parse_date(text: Any, fmt: str | None) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        dt = datetime.strptime(text, fmt) if fmt else datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)
