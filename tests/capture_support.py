"""What several test modules share: the captures in tests/data, what is read out of them, and the check
that every capture reader gives the same result."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import dpkt
import pytest

from dpkt_oracle import oracle_traffic
from ipowner import traffic
from ipowner.capture.core import core_available, core_status

DATA = Path(__file__).parent / "data" / "traffic"
CAPTURES = sorted(p for p in DATA.iterdir() if p.suffix in (".pcap", ".pcapng"))

needs_core = pytest.mark.skipif(not core_available(), reason=f"the compiled capture reader is off: {core_status()}")


def all_readers(inputs: Sequence[str | os.PathLike[str]], **kw: Any) -> dict:
    """The traffic document of ``inputs`` read by the per-frame walker, after checking that the compiled
    core (when it is available) and the dpkt oracle give the very same document."""
    ref = traffic(inputs, compiled=False, **kw).to_dict()
    assert oracle_traffic(inputs, **kw).to_dict() == ref, "the dpkt oracle differs from the frame walker"
    if core_available():
        assert traffic(inputs, compiled=True, **kw).to_dict() == ref, "the C core differs from the frame walker"
    return ref


def dns_responses() -> list[bytes]:
    """Every UDP DNS response payload (source port 53) in the Ethernet captures, read by dpkt."""
    out = []
    for path in CAPTURES:
        with open(path, "rb") as f:
            try:
                for _, buf in (dpkt.pcapng.Reader(f) if path.suffix == ".pcapng" else dpkt.pcap.Reader(f)):
                    try:
                        l4 = dpkt.ethernet.Ethernet(buf).data.data
                    except Exception:  # noqa: BLE001 - not Ethernet/IP: not needed here
                        continue
                    if isinstance(l4, dpkt.udp.UDP) and l4.sport == 53 and len(l4.data) > 12 and l4.data[2] & 0x80:
                        out.append(bytes(l4.data))
            except (ValueError, dpkt.dpkt.NeedData, dpkt.dpkt.UnpackError):
                pass
    return out
