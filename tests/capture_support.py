"""What several test modules read out of the real captures in tests/data."""

from __future__ import annotations

from pathlib import Path

import dpkt

DATA = Path(__file__).parent / "data" / "traffic"
CAPTURES = sorted(p for p in DATA.iterdir() if p.suffix in (".pcap", ".pcapng"))


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
