"""The shape of what providers learn: ranges with facts.

Kept flat and join-friendly (integer start/end) so that DuckDB or Spark can range-join it against
flows when one machine is not enough.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import Any

from ipowner.model.serialize import to_plain


@dataclass(slots=True, frozen=True)
class RangeFact:
    start: int  # first address as an integer
    end: int  # last address as an integer (inclusive)
    version: int  # 4 or 6
    source: str  # SourceInfo.id
    holder: str | None = None
    holder_country: str | None = None
    asn: int | None = None
    as_name: str | None = None
    country: str | None = None  # location country, if the source is a location source
    registered_country: str | None = None
    registry: str | None = None  # RIR or NIR that registered the range
    handle: str | None = None
    provider: str | None = None  # cloud/CDN provider key, for ranges from a provider's published file
    region: str | None = None  # the provider's region name (e.g. "ap-southeast-1")
    service: str | None = None  # the provider's service name (e.g. "EC2")
    special: str | None = None  # special-purpose label, for IANA special-purpose blocks
    name: str | None = None  # the block's or the network's name
    # Every fact as (field path, value, SourceInfo.id), paths as in AddressRecord.provenance
    # ("location.city", "traits.isp", ...): what the flat columns above leave out, with its source.
    fields: tuple[tuple[str, Any, str], ...] = ()

    @property
    def prefix(self) -> str | None:
        """The range in CIDR form ("8.8.8.0/24") when it is one CIDR block, else None."""
        size = self.end - self.start + 1
        if size <= 0 or size & (size - 1) or self.start & (size - 1):
            return None
        bits = 32 if self.version == 4 else 128
        if self.version == 4:
            text = socket.inet_ntop(socket.AF_INET, self.start.to_bytes(4, "big"))
        else:
            text = socket.inet_ntop(socket.AF_INET6, self.start.to_bytes(16, "big"))
        return f"{text}/{bits - size.bit_length() + 1}"

    @property
    def first(self) -> str:
        return str(ipaddress.ip_address(self.start) if self.version == 4 else ipaddress.IPv6Address(self.start))

    @property
    def last(self) -> str:
        return str(ipaddress.ip_address(self.end) if self.version == 4 else ipaddress.IPv6Address(self.end))

    def contains(self, address: str) -> bool:
        ip = ipaddress.ip_address(address)
        return ip.version == self.version and self.start <= int(ip) <= self.end

    def to_dict(self) -> dict[str, Any]:
        d = to_plain(self)
        d["first"], d["last"], d["prefix"] = self.first, self.last, self.prefix
        return d
