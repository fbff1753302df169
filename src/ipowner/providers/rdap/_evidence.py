"""``--evidence DIR``: every raw RDAP response kept with its URL, time and SHA-256, and an index from
each reported claim (holder, chain, network, abuse of an address) to the response that supports it.

Layout: ``responses/<sha256>.json`` (bytes as received), ``responses.jsonl`` (one line per response:
url, kind, time, status, sha256, file, from_cache), ``claims.json`` (address -> field -> value, url, sha256).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ipowner.errors import UsageError


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat().replace("+00:00", "Z")


class EvidenceWriter:
    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        try:
            (self.directory / "responses").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"{directory}: cannot write evidence here ({exc.strerror})") from None
        self._by_url: dict[str, str] = {}
        self._seen: set[tuple[str, str]] = set()
        self._index = open(self.directory / "responses.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        self.claims: dict[str, dict[str, Any]] = {}

    def response(self, url: str, kind: str, fetched: float, status: int, body: bytes, from_cache: bool) -> str:
        digest = hashlib.sha256(body).hexdigest()
        self._by_url[url] = digest
        if (url, digest) in self._seen:
            return digest
        self._seen.add((url, digest))
        path = self.directory / "responses" / f"{digest}.json"
        if not path.exists():
            path.write_bytes(body)
        line = {"url": url, "kind": kind, "time": _iso(fetched), "status": status, "sha256": digest,
                "file": f"responses/{digest}.json", "from_cache": from_cache}
        self._index.write(json.dumps(line, ensure_ascii=True) + "\n")
        self._index.flush()
        return digest

    def claim(self, address: str, field: str, value: Any, url: str | None) -> None:
        self.claims.setdefault(address, {})[field] = {
            "value": value,
            "url": url,
            "sha256": self._by_url.get(url or ""),
            "file": f"responses/{self._by_url[url]}.json" if url in self._by_url else None,
        }

    def close(self) -> None:
        self._index.close()
        (self.directory / "claims.json").write_text(json.dumps(self.claims, indent=2, ensure_ascii=True) + "\n")
