"""``ipowner cache import``: what ``cache export`` wrote, back into a cache, as hostile input.

An imported file may come from anywhere, so each row passes the checks a registry's answer passes before
it is cached, and a row that fails one is skipped and counted by reason; the others are imported:

- shape: a line of at most ``line_limit`` characters, JSON, a cache document of a version this reads
  (``ipowner.cache/1`` or ``/2``), its fields of their types (``model.cache``), a bundle as the client
  stores it (``valid_bundle``);
- size: every raw response at most ``RdapConfig.max_response_bytes``, as the client accepts;
- origin: every URL on the allow-list requests are checked against (the bootstrap's services and the
  registry table, or the rewrite targets), and a known registry where one is named;
- content: the network response parses as an RDAP IP network (``parse_network``) whose country, if any,
  is an ISO 3166 code, and a 200 object response is a JSON object;
- range: the row's range lies in the network, the network in the bootstrap block its first address is
  routed to, and a leaf is no wider than ``MAX_LEAF_PREFIX`` (``cache_range``, the client's own rule);
- time: fetched after RDAP existed (2015) and not in the future; rows older than the cache's time to live
  would never be used, so they are not imported either.

Each imported answer keeps its URL and retrieval time. A row the cache already holds as new or newer is
left as it is.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ipowner.errors import DocumentError, IpownerError, RdapError
from ipowner.model.cache import SCHEMA_CACHE_READ, CachedAnswerRow, CachedObjectRow
from ipowner.model.kinds import CacheRow
from ipowner.model.serialize import check_schema, from_plain
from ipowner.providers.rdap import _registries
from ipowner.providers.rdap._allow import AllowList
from ipowner.providers.rdap._bootstrap import Bootstrap
from ipowner.providers.rdap._cache import CacheError, RdapCache, valid_bundle
from ipowner.providers.rdap._client import AsyncRdapClient, _drive, cache_range
from ipowner.providers.rdap._config import RdapConfig
from ipowner.providers.rdap._parse import decode, parse_network
from ipowner.reference.countries import PSEUDO_CODES, normalise_country_code

RDAP_EPOCH = 1420070400.0  # 2015-01-01: no registry answered RDAP before (RFC 7480-7484 are of March 2015)
FUTURE_SLACK = 86400.0  # a clock a day fast is a clock, not a forgery

# Reasons, as the summary line names them.
SHAPE = "not a cache row"
SIZE = "too large"
ORIGIN = "URL not a registry service"
CONTENT = "not an RDAP answer"
RANGE = "implausible range"
TIME = "implausible time"
STALE = "older than the time to live"


@dataclass(slots=True)
class ImportTally:
    """What one import did: rows imported by kind, rows kept as they were, rows skipped by reason."""

    answers: int = 0
    objects: int = 0
    unchanged: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    first_skipped: str | None = None  # "line N: why" of the first skipped row
    cache_rows: int = 0  # lines that were cache rows at all (a file with none is not an export)


class _Reject(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class Importer:
    """Checks rows against one configuration's bootstrap, allow-list and limits and stores the good ones."""

    def __init__(self, cache: RdapCache, config: RdapConfig, now: float | None = None) -> None:
        if cache.read_only:
            raise CacheError(f"{cache.path}: the RDAP cache cannot be written (read-only); nothing imported")
        self.cache = cache
        self.config = config
        self.now = time.time() if now is None else now
        client = AsyncRdapClient(dataclasses.replace(config, offline=True, evidence_dir=None), cache=cache)
        self.bootstrap: Bootstrap = _drive(client.bootstrap())
        self.allow: AllowList = _drive(client.allow_list())
        self.limit = config.max_response_bytes
        self.line_limit = 4 * self.limit + 65536  # a bundle holds two responses, JSON-escaped

    # -- the checks ----------------------------------------------------------------------------
    def _url(self, url: str) -> None:
        why = self.allow.refusal(url)
        if why is not None:
            raise _Reject(ORIGIN, f"{url[:200]}: {why}")

    def _time(self, fetched: float) -> None:
        if not (RDAP_EPOCH <= fetched <= self.now + FUTURE_SLACK):
            raise _Reject(TIME, f"fetched at {fetched!r}")

    def _fresh(self, fetched: float, ttl: float) -> None:
        if fetched < self.now - ttl:
            raise _Reject(STALE, f"fetched {int((self.now - fetched) // 86400)} days ago")

    def _part(self, part: dict[str, Any]) -> None:
        if len(part["body"]) > self.limit:
            raise _Reject(SIZE, f"a response of {len(part['body'])} characters")
        self._url(part["url"])
        self._time(float(part["fetched"]))
        registry = part.get("registry")
        if registry is not None and registry not in _registries.registries():
            raise _Reject(ORIGIN, f"unknown registry {str(registry)[:40]!r}")

    def answer(self, row: CachedAnswerRow) -> bool:
        if not valid_bundle(row.bundle):
            raise _Reject(SHAPE, "the bundle has not the shape the client stores")
        bundle = row.bundle
        parts = [bundle["network"], *([bundle["nir"]] if bundle.get("nir") else [])]
        for part in parts:
            self._part(part)
        self._url(row.url)
        self._time(row.fetched)
        self._fresh(row.fetched, self.config.cache_ttl)
        top = bundle.get("nir") or bundle["network"]
        if row.url != top["url"]:
            raise _Reject(SHAPE, "the row's URL is not its answer's")
        if top.get("status") != 200:
            raise _Reject(CONTENT, f"an answer with status {top.get('status')}")
        try:
            objs = [decode(p["body"].encode(), p["url"]) for p in parts]
            nets = [parse_network(obj, p["url"]) for obj, p in zip(objs, parts, strict=True)]
        except RdapError as exc:
            raise _Reject(CONTENT, str(exc)[:200]) from None
        net = nets[-1]
        for obj in objs:  # a registry's pseudo-codes (EU, AP) are what registries write; anything else is not
            raw = obj.get("country")
            _code, why = normalise_country_code(raw)
            if why is not None and not (isinstance(raw, str) and raw.strip().upper() in PSEUDO_CODES):
                raise _Reject(CONTENT, f"country: {why}")
        try:
            first, last = ipaddress.ip_address(row.first), ipaddress.ip_address(row.last)
        except ValueError as exc:
            raise _Reject(SHAPE, str(exc)) from None
        lo, hi = int(first), int(last)
        if not (first.version == last.version == net.version and lo <= hi and net.start <= lo and hi <= net.end):
            raise _Reject(RANGE, f"{row.first} - {row.last} is not inside {net.start_text} - {net.end_text}")
        routed = self.bootstrap.route(row.first)
        if routed is None:
            raise _Reject(RANGE, f"no registry's block holds {row.first}")
        allowed_lo, allowed_hi, why = cache_range(nets, row.first, row.leaf, (routed[0], routed[1]))
        if why is not None or not (allowed_lo <= lo and hi <= allowed_hi):
            raise _Reject(RANGE, why or f"{row.first} - {row.last} is wider than the answer may stand for")
        held = self.cache.answer_fetched(net.version, lo, hi, row.url)
        if held is not None and held >= row.fetched:
            return False
        self.cache.store(net.version, lo, hi, url=row.url, registry=row.registry, handle=row.handle,
                         fetched=row.fetched, leaf=row.leaf, bundle=bundle)
        return True

    def object(self, row: CachedObjectRow) -> bool:
        if len(row.body) > self.limit:
            raise _Reject(SIZE, f"a response of {len(row.body)} characters")
        self._url(row.url)
        self._time(row.fetched)
        self._fresh(row.fetched, self.config.cache_ttl if row.status == 200 else self.config.negative_ttl)
        if not 0 <= row.status <= 599:
            raise _Reject(SHAPE, f"HTTP status {row.status}")
        if row.status == 200:
            try:
                decode(row.body.encode(), row.url)
            except RdapError as exc:
                raise _Reject(CONTENT, str(exc)[:200]) from None
        held = self.cache.object_fetched(row.url)
        if held is not None and held >= row.fetched:
            return False
        self.cache.put_object(row.url, row.kind.value, row.fetched, row.status, row.body)
        return True

    # -- a file --------------------------------------------------------------------------------
    def run(self, lines: Iterable[str]) -> ImportTally:
        tally = ImportTally()
        for n, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                kind, row = self._row(line)
                tally.cache_rows += 1
                done = self.answer(row) if kind is CacheRow.ANSWER else self.object(row)  # type: ignore[arg-type]
            except _Reject as exc:
                tally.skipped[exc.reason] += 1
                tally.first_skipped = tally.first_skipped or f"line {n}: {exc.detail}"
                continue
            if not done:
                tally.unchanged += 1
            elif kind is CacheRow.ANSWER:
                tally.answers += 1
            else:
                tally.objects += 1
        if self.cache.failed_writes:
            raise CacheError(self.cache.last_error or f"{self.cache.path}: RDAP cache write failed")
        return tally

    def _row(self, line: str) -> tuple[CacheRow, CachedAnswerRow | CachedObjectRow]:
        if len(line) > self.line_limit:
            raise _Reject(SIZE, f"a line of {len(line)} characters")
        try:
            doc = json.loads(line)
        except (ValueError, RecursionError) as exc:
            raise _Reject(SHAPE, f"not JSON ({str(exc)[:80]})") from None
        try:
            if not isinstance(doc, dict):
                raise DocumentError("line", "not a JSON object")
            check_schema(doc, SCHEMA_CACHE_READ)
            kind = from_plain(CacheRow, doc.get("type"), "type")
            row_type = CachedAnswerRow if kind is CacheRow.ANSWER else CachedObjectRow
            row: CachedAnswerRow | CachedObjectRow = from_plain(row_type, doc, "row")
        except (DocumentError, IpownerError) as exc:
            raise _Reject(SHAPE, str(exc)[:200]) from None
        except (TypeError, ValueError, OverflowError) as exc:
            raise _Reject(SHAPE, f"{type(exc).__name__}: {str(exc)[:160]}") from None
        return kind, row


def bounded_lines(stream: Any, limit: int) -> Iterator[str]:
    """Lines of a text stream, none read past ``limit`` + 1 characters (the rest of a longer one is
    dropped, and the part kept is longer than ``limit``, so the row check refuses it)."""
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith("\n"):
            while True:
                rest = stream.readline(limit)
                if not rest or rest.endswith("\n"):
                    break
        yield line
