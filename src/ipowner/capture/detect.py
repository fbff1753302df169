"""Which reader an input needs, decided from its first bytes (never from its name)."""

from __future__ import annotations

import json

from ipowner.capture.formats.pcap import is_pcap
from ipowner.capture.formats.pcapng import is_pcapng

HEAD = 8192  # bytes looked at

PCAPDROID_HEADER = "IPProto,SrcIP,SrcPort,DstIp,DstPort,UID"


def detect(head: bytes, *, csv_columns: bool = False) -> str:
    """'pcap' | 'pcapng' | 'zeek-tsv' | 'zeek-json' | 'pcapdroid-csv' | 'csv' | 'text' | 'empty' | 'binary'."""
    if not head:
        return "empty"
    if is_pcap(head):
        return "pcap"
    if is_pcapng(head):
        return "pcapng"
    text = head.decode("utf-8", "replace")
    if "\0" in text[:HEAD] or sum(1 for ch in text[:512] if ch == "\ufffd") > 8:
        return "binary"
    stripped = text.lstrip("\ufeff")
    lines = stripped.splitlines()[:20]
    if any(ln.startswith(("#separator", "#fields\t")) for ln in lines):
        return "zeek-tsv"
    first = next((ln for ln in stripped.splitlines() if ln.strip()), "")
    if first.lstrip().startswith("{"):
        try:
            obj = json.loads(first)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and ("id.orig_h" in obj or "id.resp_h" in obj or "id" in obj):
            return "zeek-json"
    if first.startswith(PCAPDROID_HEADER):
        return "pcapdroid-csv"
    if csv_columns:
        return "csv"
    from ipowner.capture.formats.csv import guess_columns

    if ("," in first or "\t" in first or ";" in first) and guess_columns(first) is not None:
        return "csv"
    return "text"


def describe_binary(head: bytes) -> str:
    return f"not a capture or log this tool reads (starts with bytes {head[:4].hex()})"
