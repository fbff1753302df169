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

The embedded database's location and AS inputs come from their publisher, the npm registry: per package its
latest version document (``https://registry.npmjs.org/<package>/latest``, mirrored like every other URL), then
the tarball it names, checked against the registry's published integrity (sha512) or shasum (sha1), bounded
and read without extracting (``datasets.npm``). When every package is at the version of the database in use,
nothing more is fetched. Otherwise the database is rebuilt with the build script's code
(``datasets.embedded_build``) into the user data folder's ``embedded-db/`` (``reference.embedded_files``), read
back, and switched to by renaming its metadata over the current one, which is kept as the previous build. A
package that fails its checks keeps the previous checked tarball of it, if there is one; else the database in
use stays as it is.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import json
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
from ipowner.datasets import embedded_build, npm
from ipowner.datasets.delegations import MAX_FILE_BYTES, PUBLISHERS, DelegationError, parse
from ipowner.datasets.registry_table import build_table
from ipowner.errors import InputError, IpownerError, UsageError
from ipowner.reference import embedded_files
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
class PackageChange:
    package: str
    before: str | None  # version in the database that was in use
    before_date: date | None
    after: str | None  # version in the database in use now
    after_date: date | None


@dataclass(slots=True)
class EmbeddedChange:
    """What happened to the embedded database: package versions and range counts before and after."""

    rebuilt: bool
    note: str  # "rebuilt", "up to date", or why it was not rebuilt
    packages: list[PackageChange] = field(default_factory=list)
    ranges_before: dict[str, int] = field(default_factory=dict)  # source key -> ranges kept, IPv4 + IPv6
    ranges_after: dict[str, int] = field(default_factory=dict)
    networks_before: int | None = None
    networks_after: int | None = None
    path: str | None = None  # the database in use now
    previous: str | None = None  # the metadata of the build it replaced, kept


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
    embedded: EmbeddedChange | None = None  # the embedded database (None: its inputs were not looked at)

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
    result.embedded = _update_embedded(base, get, now, say, result)
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


def embedded_sources() -> list[embedded_build.SourceSpec]:
    """The embedded database's inputs, one npm package each."""
    return list(embedded_build.SOURCES)


def _shipped_meta() -> dict[str, Any] | None:
    try:
        meta = json.loads(paths.shipped(embedded_files.META_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def _in_use() -> tuple[dict[str, Any] | None, embedded_files.UserBuild | None]:
    """The metadata of the embedded database in use (a readable rebuild, unless the shipped one is newer)."""
    shipped = _shipped_meta()
    with contextlib.suppress(embedded_files.EmbeddedFileError):
        build = embedded_files.user_build()
        if build is not None and (shipped is None or not embedded_files.supersedes(shipped, build.meta)):
            return build.meta, build
    return shipped, None


def _versions(meta: dict[str, Any] | None) -> dict[str, str]:
    srcs = meta.get("sources") if meta else None
    return {str(s.get("package")): str(s.get("package_version")) for s in srcs if isinstance(s, dict)} \
        if isinstance(srcs, list) else {}


def _range_counts(meta: dict[str, Any] | None) -> tuple[dict[str, int], int | None]:
    counts = meta.get("counts") if meta else None
    if not isinstance(counts, dict):
        return {}, None
    kept = {str(k): sum(v.get(f"ipv{n}_kept", 0) for n in (4, 6) if isinstance(v.get(f"ipv{n}_kept"), int))
            for k, v in counts.items() if isinstance(v, dict)}
    nets = [counts.get(f"ipv{n}_networks") for n in (4, 6)]
    return kept, sum(n for n in nets if isinstance(n, int)) if any(isinstance(n, int) for n in nets) else None


def _stored_tarball(stored: Path, manifest: npm.Manifest) -> bytes | None:
    """A kept tarball of this version that still matches the registry's digest."""
    path = stored / npm.tarball_name(manifest)
    try:
        with path.open("rb") as f:
            body = f.read(npm.MAX_TARBALL_BYTES + 1)
        npm.check_integrity(body, manifest)
    except (OSError, npm.NpmError):
        return None
    return body


def _kept_tarballs(stored: Path, spec: embedded_build.SourceSpec) -> list[Path]:
    return sorted(p for p in stored.glob(npm.tarball_prefix(spec.package) + "*.tgz")
                  if npm.is_tarball_of(p.name, spec.package) and p.is_file())


def _previous_input(stored: Path, spec: embedded_build.SourceSpec) -> Path | None:
    found = _kept_tarballs(stored, spec)
    return found[-1] if found else None


def _keep(stored: Path, name: str, body: bytes, spec: embedded_build.SourceSpec) -> None:
    """Keep a checked tarball (temp file + rename) and drop older ones of the same package."""
    stored.mkdir(parents=True, exist_ok=True)
    target = stored / name
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=stored)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(body)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    for old in _kept_tarballs(stored, spec):
        if old != target:
            with contextlib.suppress(OSError):
                old.unlink()


def _fetch_manifest(spec: embedded_build.SourceSpec, base: str | None, get: Fetcher, say: Callable[[str], None],
                    result: UpdateResult) -> tuple[npm.Manifest | None, str]:
    """(latest version document or None, URL fetched) of one package; a failure is a line of the result."""
    url = mirrored(npm.manifest_url(spec.package), base)
    say(f"fetching {spec.package} (npm registry): {url}")
    try:
        return npm.check_manifest(get(url, npm.MAX_MANIFEST_BYTES), spec.package), url
    except (IpownerError, npm.NpmError) as exc:
        result.fetched.append(Fetched(f"{spec.package} (npm)", url, False, f"not used, the previous input stays: {exc}"))
        return None, url


def _download(spec: embedded_build.SourceSpec, manifest: npm.Manifest, base: str | None, get: Fetcher,
              stored: Path, say: Callable[[str], None]) -> tuple[bytes, str, str]:
    """The checked tarball of ``manifest`` (a kept one when it still matches); (body, note, url)."""
    url = mirrored(manifest.tarball, base)
    body = _stored_tarball(stored, manifest)
    if body is not None:
        return body, "the tarball kept from an earlier update matches the registry's digest", url
    say(f"fetching {npm.tarball_name(manifest)}: {url}")
    body = get(url, npm.MAX_TARBALL_BYTES)
    note = npm.check_integrity(body, manifest)
    return body, note, url


def _update_embedded(base: str | None, get: Fetcher, now: datetime | None, say: Callable[[str], None],
                     result: UpdateResult) -> EmbeddedChange | None:
    """The embedded database's npm inputs, and its rebuild when one of them changed (module docstring)."""
    specs = embedded_sources()
    if not specs:
        return None
    folder = embedded_files.user_folder()
    stored = folder / embedded_files.INPUTS_FOLDER
    before_meta, before_build = _in_use()
    current = _versions(before_meta)
    ranges_before, networks_before = _range_counts(before_meta)
    in_use = str(before_build.mmdb) if before_build is not None else "the shipped database"
    manifests: dict[str, npm.Manifest] = {}
    urls: dict[str, str] = {}
    for spec in specs:
        manifest, urls[spec.key] = _fetch_manifest(spec, base, get, say, result)
        if manifest is not None:
            manifests[spec.key] = manifest

    def change(rebuilt: bool, note: str, after_meta: dict[str, Any] | None = None, path: str | None = None,
               previous: str | None = None) -> EmbeddedChange:
        after_meta = after_meta if after_meta is not None else before_meta
        after = _versions(after_meta)
        ranges_after, networks_after = _range_counts(after_meta)
        return EmbeddedChange(
            rebuilt, note,
            [PackageChange(s.package, current.get(s.package), embedded_build.version_date(current.get(s.package, "")),
                           after.get(s.package), embedded_build.version_date(after.get(s.package, "")))
             for s in specs],
            ranges_before, ranges_after, networks_before, networks_after, path or in_use, previous)

    if len(manifests) == len(specs) and all(manifests[s.key].version == current.get(s.package) for s in specs):
        for s in specs:
            result.fetched.append(Fetched(f"{s.package} (npm)", urls[s.key], True,
                                          f"version {manifests[s.key].version} is the one in use",
                                          embedded_build.version_date(manifests[s.key].version)))
        return change(False, "up to date")

    loaded: list[embedded_build.LoadedSource] = []
    missing: list[str] = []
    for spec in specs:
        name = f"{spec.package} (npm)"
        manifest = manifests.get(spec.key)
        body: bytes | None = None
        if manifest is not None:
            try:
                body, note, url = _download(spec, manifest, base, get, stored, say)
                source = embedded_build.load_package(spec, body, url, version=manifest.version)
            except (IpownerError, npm.NpmError) as exc:
                result.fetched.append(Fetched(name, mirrored(manifest.tarball, base), False,
                                              f"not used, the previous input stays: {exc}"))
            else:
                try:
                    _keep(stored, npm.tarball_name(manifest), body, spec)
                except OSError as exc:  # the build goes on; the next update fetches the tarball again
                    result.warnings.append(f"{spec.package}: the checked tarball could not be kept ({exc})")
                result.fetched.append(Fetched(name, url, True, f"version {manifest.version}: {note}",
                                              source.data_date))
                loaded.append(source)
                continue
        previous = _previous_input(stored, spec)
        if previous is None:
            missing.append(spec.package)
            continue
        try:
            loaded.append(embedded_build.load_package(spec, previous.read_bytes(), str(previous)))
        except (OSError, IpownerError) as exc:
            missing.append(f"{spec.package} ({exc})")
    if missing:
        reason = "no checked input of " + ", ".join(missing) + "; the embedded database in use stays"
        result.warnings.append(f"embedded database not rebuilt: {reason}")
        return change(False, f"not rebuilt: {reason}")
    if _versions({"sources": [{"package": s.spec.package, "package_version": s.version} for s in loaded]}) == current:
        return change(False, "up to date (the previous inputs stay)")
    shipped = _shipped_meta()
    prospective = {"sources": [{"key": s.spec.key, "data_date": s.data_date.isoformat() if s.data_date else None}
                               for s in loaded]}
    if shipped is not None and embedded_files.supersedes(shipped, prospective):
        return change(False, "not rebuilt: the shipped database's inputs are newer than the registry's")
    say("building the embedded database")
    try:
        after_meta, previous_meta = _swap_in(loaded, folder, now)
    except (IpownerError, OSError) as exc:
        result.warnings.append(f"embedded database not rebuilt: {exc}")
        return change(False, f"not rebuilt: {exc}")
    path = str(folder / after_meta["mmdb_file"])
    return change(True, "rebuilt", after_meta, path, previous_meta)


def _swap_in(loaded: list[embedded_build.LoadedSource], folder: Path,
             now: datetime | None) -> tuple[dict[str, Any], str | None]:
    """Build into a temporary file, read it back, name it after its sha256, then rename the metadata into place
    (the previous metadata kept beside it); returns (metadata, where the previous is kept)."""
    import maxminddb

    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".ipowner-embedded-", suffix=".mmdb.tmp", dir=folder)
    os.close(fd)
    tmp = Path(tmp_name)
    meta_tmp: Path | None = None
    try:
        meta = embedded_build.build(loaded, tmp, build_time=now, built_by="rebuilt by ipowner data update")
        try:
            with maxminddb.open_database(str(tmp)) as reader:
                if reader.metadata().database_type != embedded_build.DATABASE_TYPE:
                    raise InputError(str(tmp), "the new database does not read back as an ipowner-embedded one")
        except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
            raise InputError(str(tmp), f"the new database does not read back ({exc})") from exc
        meta["mmdb_file"] = embedded_files.mmdb_name(meta["mmdb_sha256"])
        os.chmod(tmp, 0o644)
        os.replace(tmp, folder / meta["mmdb_file"])
        fd, meta_name = tempfile.mkstemp(prefix=f".{embedded_files.META_NAME}.", suffix=".tmp", dir=folder)
        meta_tmp = Path(meta_name)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(meta, indent=2) + "\n")
        os.chmod(meta_tmp, 0o644)
        embedded_files.read_build(meta_tmp)  # what the reader will check, before anything is switched
        current = folder / embedded_files.META_NAME
        previous: str | None = None
        if current.is_file():
            kept = folder / embedded_files.PREVIOUS_META_NAME
            shutil.copy2(current, kept)
            previous = str(kept)
        os.replace(meta_tmp, current)
    except embedded_files.EmbeddedFileError as exc:
        raise InputError(str(folder), f"the new build does not read back ({exc})") from exc
    finally:
        for leftover in (tmp, meta_tmp):
            if leftover is not None:
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()
    _tidy(folder)
    return meta, previous


def _tidy(folder: Path) -> None:
    """Remove databases neither the current nor the previous metadata names (best effort)."""
    keep: set[str] = set()
    for name in (embedded_files.META_NAME, embedded_files.PREVIOUS_META_NAME):
        with contextlib.suppress(embedded_files.EmbeddedFileError):
            keep.add(embedded_files.read_build(folder / name).mmdb.name)
    for p in folder.glob("ipowner-embedded-*.mmdb"):
        if p.name not in keep:
            with contextlib.suppress(OSError):
                p.unlink()
