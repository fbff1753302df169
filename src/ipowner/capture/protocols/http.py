"""HTTP/1 request heads: the Host a request names."""

from __future__ import annotations

from ipowner.capture.protocols.common import normalise_name
from ipowner.capture.rules import HTTP_METHODS


def looks_like_http_request(data: bytes) -> bool:
    return data[:8].startswith(HTTP_METHODS)


def http_host(head: bytes) -> tuple[str | None, bool]:
    """(Host header without port, head complete) from the start of an HTTP request."""
    end = head.find(b"\r\n\r\n")
    complete = end >= 0
    block = head if end < 0 else head[:end]
    # The first line starting "host:" in any case after the request line; bytes.lower() changes only
    # ASCII letters, so positions in the lowered copy are positions in the block.
    at = block.lower().find(b"\r\nhost:")
    if at >= 0:
        stop = block.find(b"\r\n", at + 7)
        raw = block[at + 7 : stop if stop >= 0 else len(block)].strip()
        if not complete and stop < 0 and b":" not in raw and b"]" not in raw:
            return None, False  # the line may be cut short (snaplen, a segment boundary) inside the name: not read yet
        return _strip_port(raw.decode("latin-1")) or None, True
    return None, complete


def _strip_port(value: str) -> str:
    value = value.strip()
    if value.startswith("["):  # [v6]:port
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        value = value.split(":", 1)[0]
    return normalise_name(value)
