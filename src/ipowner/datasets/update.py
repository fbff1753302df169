"""``ipowner data update``: fetch the inputs from their publishers, check them, rebuild the user's data, swap it in.

Runs only when asked. Each input is fetched from its publisher's URL, or from one mirror base for all
(``--mirror`` or ``IPOWNER_DATA_MIRROR``): ``https://ftp.apnic.net/stats/apnic/x`` is then fetched as
``<mirror>/ftp.apnic.net/stats/apnic/x``. A delegation file is checked against its published ``.md5``
(where the publisher has one), by the count rule and by parsing; one that fails keeps that registry's
previous input. The registry table is built from the kept inputs into the user data folder under a
temporary name and renamed over the current one, whose previous build is kept beside it
(``ipowner-delegations.previous.tsv.xz``); a build that would know fewer registries than the table in
use is refused. What changed is returned: each registry's file date before and after, ranges added and
removed.

The providers' cloud range files plug in as one more list of inputs (``CLOUD_INPUTS`` and
``build_cloud_snapshot`` of ``ipowner.datasets.cloud_ranges``) when that module is installed.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ipowner import paths
from ipowner.datasets.delegations import MAX_FILE_BYTES, PUBLISHERS, DelegationError, parse
from ipowner.datasets.registry_table import build_table
from ipowner.errors import InputError, IpownerError, UsageError
from ipowner.reference.delegation_table import (
    TABLE_NAME,
    USER_FOLDER,
    Table,
    TableError,
    current_table,
    load_table,
    user_table_path,
    write_table,
)

MIRROR_ENV = "IPOWNER_DATA_MIRROR"
PREVIOUS_NAME = "ipowner-delegations.previous.tsv.xz"
INPUTS_FOLDER = "inputs"  # under the user data folder's registry/: the last good file of each registry
MAX_CHECKSUM_BYTES = 4096
TIMEOUT_SECONDS = 60.0
_MD5 = re.compile(r"\b([0-9a-fA-F]{32})\b")

Fetcher = Callable[[str, int], bytes]  # (url, byte limit) -> body; raises IpownerError


@dataclass(frozen=True, slots=True)
class Input:
    """One file to fetch."""

    name: str  # what it is, e.g. "APNIC delegation statistics"
    url: str  # the publisher's URL
    filename: str
    checksum_url: str | None = None  # a published MD5 of the file
    registry: str | None = None  # for delegation statistics


def delegation_inputs() -> list[Input]:
    return [Input(f"{p.registry} delegation statistics", p.url, p.filename, p.url + ".md5", p.registry)
            for p in PUBLISHERS]


def cloud_module() -> Any | None:
    """``ipowner.datasets.cloud_ranges`` when it is installed (it provides ``CLOUD_INPUTS`` and ``build_cloud_snapshot``)."""
    try:
        return importlib.import_module("ipowner.datasets.cloud_ranges")
    except ImportError:
        return None


def cloud_inputs() -> list[Input]:
    mod = cloud_module()
    if mod is None:
        return []
    return [Input(str(i.name), str(i.url), str(i.filename)) for i in getattr(mod, "CLOUD_INPUTS", ())]


def mirror_base(option: str | None) -> str | None:
    """The mirror base from the option, else ``IPOWNER_DATA_MIRROR``; it must be an http(s) URL."""
    base = option if option is not None else os.environ.get(MIRROR_ENV)
    if not base:
        return None
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"mirror {base!r}: not an http(s) URL")
    return base.rstrip("/")


def mirrored(url: str, base: str | None) -> str:
    """``url`` as fetched: unchanged, or ``<base>/<host><path>`` with a mirror."""
    if base is None:
        return url
    parts = urlsplit(url)
    return f"{base}/{parts.netloc}{parts.path}"


def http_fetch(url: str, limit: int) -> bytes:
    """GET ``url`` with a size cap (httpx, streamed); raises ``InputError``."""
    import httpx

    try:
        with httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=True, trust_env=False) as client, \
                client.stream("GET", url) as resp:
            if resp.status_code != 200:
                raise InputError(url, f"HTTP {resp.status_code}")
            chunks: list[bytes] = []
            size = 0
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if size > limit:
                    raise InputError(url, f"larger than {limit >> 20} MiB; refused")
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPError as exc:
        raise InputError(url, f"cannot fetch ({type(exc).__name__}: {exc})") from exc


@dataclass(slots=True)
class Fetched:
    """What happened to one input."""

    name: str
    url: str  # as fetched
    ok: bool
    note: str  # "checked against the published MD5", or why it was not used
    date: date | None = None  # the file's own date (delegation files: the header's end date)


@dataclass(slots=True)
class RegistryChange:
    registry: str
    before: date | None
    after: date | None


@dataclass(slots=True)
class UpdateResult:
    """What ``update`` did: per input, per registry, and the ranges the new table adds and drops."""

    fetched: list[Fetched] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    registries: list[RegistryChange] = field(default_factory=list)
    added: int = 0
    removed: int = 0
    table: str | None = None  # the table written (None: nothing was swapped in)
    previous: str | None = None  # where the table it replaced is kept
    cloud: str | None = None  # what the cloud snapshot build said

    @property
    def failed(self) -> int:
        return sum(1 for f in self.fetched if not f.ok)


def _md5_of(text: bytes) -> str | None:
    m = _MD5.search(text[:MAX_CHECKSUM_BYTES].decode("ascii", errors="replace"))
    return m.group(1).lower() if m else None


def _check_delegation(inp: Input, body: bytes, checksum: bytes | None) -> tuple[str, date | None]:
    """Checks one fetched delegation file; returns (note, end date). Raises ``InputError``."""
    note = "no published checksum"
    if checksum is not None:
        want = _md5_of(checksum)
        if want is None:
            raise InputError(inp.checksum_url or inp.url, "the published checksum file holds no MD5")
        got = hashlib.md5(body, usedforsecurity=False).hexdigest()
        if got != want:
            raise InputError(inp.url, f"MD5 {got} differs from the published {want}")
        note = "MD5 matches the published checksum"
    parsed = parse(body, inp.filename)  # the count rule and the records: DelegationError if unusable
    if parsed.registry != inp.registry:
        raise InputError(inp.url, f"a {parsed.registry} file where {inp.registry}'s was expected")
    if parsed.warnings:
        note += "; " + "; ".join(parsed.warnings)
    return note, parsed.end_date


def _store(folder: Path, registry_key: str, end: date | None, body: bytes) -> Path:
    """Keep a checked file as that registry's input (named so that the newest per registry is found)."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = end.strftime("%Y%m%d") if end else "undated"
    target = folder / f"delegated-{registry_key}-extended-{stamp}"
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(body)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    for old in folder.glob(f"delegated-{registry_key}-*"):
        if old != target:
            with contextlib.suppress(OSError):
                old.unlink()
    return target


_KEYS = {"AFRINIC": "afrinic", "APNIC": "apnic", "ARIN": "arin", "LACNIC": "lacnic", "RIPE NCC": "ripencc"}


def _rows(table: Table | None) -> set[tuple[int, int, int, str]]:
    if table is None:
        return set()
    return {(fam, r.first, r.last, r.file.registry) for fam in (4, 6, 0) for r in table.rows(fam)}


def update(*, mirror: str | None = None, fetch: Fetcher | None = None, now: datetime | None = None,
           inputs: Sequence[Input] | None = None, progress: Callable[[str], None] | None = None) -> UpdateResult:
    """Fetch, check, build and swap in the user's registry table (module docstring). Raises ``IpownerError``
    when nothing could be built; a failed input is a line in the result."""
    base = mirror_base(mirror)
    get = fetch or http_fetch
    say = progress or (lambda _m: None)
    folder = paths.user_data_dir() / USER_FOLDER
    stored = folder / INPUTS_FOLDER
    result = UpdateResult()
    for inp in inputs if inputs is not None else delegation_inputs():
        url = mirrored(inp.url, base)
        say(f"fetching {inp.name}: {url}")
        try:
            body = get(url, MAX_FILE_BYTES)
            checksum = None
            if inp.checksum_url:
                try:
                    checksum = get(mirrored(inp.checksum_url, base), MAX_CHECKSUM_BYTES)
                except IpownerError as exc:
                    result.warnings.append(f"{inp.name}: no checksum ({exc})")
            note, end = _check_delegation(inp, body, checksum)
            _store(stored, _KEYS.get(inp.registry or "", "unknown"), end, body)
            result.fetched.append(Fetched(inp.name, url, True, note, end))
        except (IpownerError, DelegationError) as exc:
            result.fetched.append(Fetched(inp.name, url, False, f"not used, the previous input stays: {exc}"))
    if not any(f.ok for f in result.fetched):
        raise InputError("data update", "no input could be fetched and checked; the data is as it was")

    before = current_table().table
    say("building the registry table")
    built = build_table(stored, built=now)
    result.warnings += built.warnings
    new_registries = {f["registry"] for f in built.files}
    old_registries = {f.registry for f in before.files} if before is not None else set()
    lost = sorted(old_registries - new_registries)
    if lost:
        raise InputError("data update", "the new registry table would know nothing of "
                         + ", ".join(lost) + " (no input fetched for it); the data is as it was")
    target = user_table_path()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{TABLE_NAME}.", suffix=".new", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write_table(tmp, built.text)
        try:
            after = load_table(tmp)  # what was written reads back as a table, or nothing is swapped in
        except TableError as exc:
            raise InputError(str(tmp), f"the new registry table does not read back ({exc})") from exc
        if target.is_file():
            previous = folder / PREVIOUS_NAME
            with contextlib.suppress(FileNotFoundError):
                previous.unlink()
            try:
                os.link(target, previous)
            except OSError:
                shutil.copy2(target, previous)
            result.previous = str(previous)
        os.replace(tmp, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    result.table = str(target)
    old_dates = {f.registry: f.date for f in before.files} if before is not None else {}
    new_dates = {f.registry: f.date for f in after.files}
    for registry in sorted(set(old_dates) | set(new_dates)):
        result.registries.append(RegistryChange(registry, old_dates.get(registry), new_dates.get(registry)))
    old_rows, new_rows = _rows(before), _rows(after)
    result.added, result.removed = len(new_rows - old_rows), len(old_rows - new_rows)
    result.cloud = _update_cloud(base, get, folder.parent, say, result)
    return result


def _update_cloud(base: str | None, get: Fetcher, data_dir: Path, say: Callable[[str], None],
                  result: UpdateResult) -> str | None:
    """The providers' range files, when the cloud snapshot builder is installed."""
    mod = cloud_module()
    items = cloud_inputs()
    if mod is None or not items:
        return None
    inputs_dir = data_dir / "cloud" / INPUTS_FOLDER
    inputs_dir.mkdir(parents=True, exist_ok=True)
    for inp in items:
        url = mirrored(inp.url, base)
        say(f"fetching {inp.name}: {url}")
        try:
            body = get(url, MAX_FILE_BYTES)
            (inputs_dir / Path(inp.filename).name).write_bytes(body)
            result.fetched.append(Fetched(inp.name, url, True, "fetched"))
        except IpownerError as exc:
            result.fetched.append(Fetched(inp.name, url, False, f"not used, the previous input stays: {exc}"))
    out = data_dir / getattr(mod, "SNAPSHOT_NAME", "cloud-ranges.json.xz")  # where the cloud provider looks first
    try:
        summary = mod.build_cloud_snapshot(inputs_dir, out)
    except IpownerError as exc:
        result.warnings.append(f"cloud snapshot not rebuilt: {exc}")
        return None
    return f"{getattr(summary, 'ranges', '?')} ranges from {', '.join(map(str, getattr(summary, 'sources', [])))}"
