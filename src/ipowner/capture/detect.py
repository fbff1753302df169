"""Which reader an input needs, decided from its first bytes (never from its name)."""

from __future__ import annotations

import json

from ipowner.capture.formats.pcap import is_pcap
from ipowner.capture.formats.pcapng import is_pcapng

HEAD = 8192  # bytes looked at

PCAPDROID_HEADER = "IPProto,SrcIP,SrcPort,DstIp,DstPort,UID"

# Compressed inputs, by their magic numbers (RFC 1952, the bzip2 and xz file formats, RFC 8878): the
# content decides, never the file name. gzip also needs its method byte (8, deflate); bzip2 its block size.
COMPRESSION_MAGICS: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b\x08", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)
COMPRESSION_HEAD = 6  # bytes enough to tell every compression above


def compression(head: bytes) -> str | None:
    """'gzip' | 'bzip2' | 'xz' | 'zstd' when ``head`` opens a compressed stream, else None."""
    for magic, kind in COMPRESSION_MAGICS:
        if head.startswith(magic):
            return kind
    if head[:3] == b"BZh" and head[3:4] in b"123456789" and len(head) > 3:
        return "bzip2"
    return None


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
