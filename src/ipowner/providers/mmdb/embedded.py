"""The embedded default database: shipped xz-compressed, unpacked once into the user data dir.

The shipped ``ipowner-embedded.json`` carries the sha256 of the uncompressed database; the unpacked
file is named after it, so a new package version unpacks its own copy and an interrupted unpack
never leaves a half-written file under the final name (temp file + atomic rename).

A rebuild by ``ipowner data update`` (``reference.embedded_files``: the user data folder's ``embedded-db/``)
is used instead while it reads cleanly; when it does not, the shipped database is used and the reason is
one of ``problems``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import lzma
import os
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ipowner import paths
from ipowner.errors import DatabaseError
from ipowner.model import SourceInfo, SourceKind
from ipowner.reference.embedded_files import EmbeddedFileError, supersedes, user_build

XZ_NAME = "ipowner-embedded.mmdb.xz"
META_NAME = "ipowner-embedded.json"
DATABASE_TYPE = "ipowner-embedded"
_STALE_TMP_SECONDS = 3600


@dataclass(slots=True)
class EmbeddedData:
    path: Path  # the unpacked .mmdb
    source: SourceInfo  # the database as a whole (id "embedded")
    components: dict[str, SourceInfo] = field(default_factory=dict)  # field path -> the input that provided it
    meta: dict[str, Any] = field(default_factory=dict)
    rebuilt: bool = False  # built by `ipowner data update` in the user data folder, not the shipped one
    problems: list[str] = field(default_factory=list)  # why a rebuild in the user data folder was not used


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def load_metadata(data_dir: Path | None = None) -> dict[str, Any]:
    """The shipped JSON that describes the embedded database."""
    meta_path = (data_dir or paths.shipped_data_dir()) / META_NAME
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DatabaseError(str(meta_path), "embedded database metadata is missing; reinstall ipowner") from exc
    except (OSError, ValueError) as exc:
        raise DatabaseError(str(meta_path), f"unreadable embedded database metadata ({exc})") from exc
    if not isinstance(meta, dict) or not isinstance(meta.get("mmdb_sha256"), str):
        raise DatabaseError(str(meta_path), "embedded database metadata has no mmdb_sha256")
    return meta


def _clean(folder: Path, keep: Path) -> None:
    """Best effort: remove older unpacked versions and temp files left by killed processes."""
    now = time.time()
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for p in entries:
        with contextlib.suppress(OSError):
            if p.name.endswith(".tmp") and now - p.stat().st_mtime > _STALE_TMP_SECONDS or p.name.startswith("ipowner-embedded-") and p.suffix == ".mmdb" and p != keep:
                p.unlink()


def _unpack(xz_path: Path, target: Path, sha256: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out, lzma.open(xz_path, "rb") as src:
            while chunk := src.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha256:
            raise DatabaseError(str(xz_path), "shipped embedded database does not match its sha256; reinstall ipowner")
        os.chmod(tmp_name, 0o644)  # mkstemp makes it private; the data is public
        # Two processes racing both write complete copies; whichever rename lands last wins, same bytes.
        os.replace(tmp_name, target)
    except (OSError, lzma.LZMAError, EOFError) as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        if isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError):
            raise
        raise DatabaseError(str(xz_path), f"cannot unpack the embedded database ({exc})") from exc
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


def ensure_unpacked(meta: dict[str, Any] | None = None, *, data_dir: Path | None = None) -> Path:
    """Path of the unpacked embedded .mmdb, unpacking it first if this version is not there yet."""
    data_dir = data_dir or paths.shipped_data_dir()
    meta = meta or load_metadata(data_dir)
    sha = meta["mmdb_sha256"]
    size = meta.get("mmdb_size")
    xz_path = data_dir / XZ_NAME
    last_error: OSError | None = None
    for base in (paths.user_data_dir(), paths.user_cache_dir()):
        target = base / "embedded" / f"ipowner-embedded-{sha[:16]}.mmdb"
        try:
            if target.is_file() and (size is None or target.stat().st_size == size):
                return target
            if not xz_path.is_file():
                raise DatabaseError(str(xz_path), "embedded database is missing; reinstall ipowner")
            _unpack(xz_path, target, sha)
        except OSError as exc:  # read-only or full data dir: try the cache dir next
            last_error = exc
            continue
        _clean(target.parent, target)
        return target
    raise DatabaseError(str(paths.user_data_dir() / "embedded"), f"cannot unpack the embedded database ({last_error})")


def embedded(data_dir: Path | None = None) -> EmbeddedData:
    """The embedded database with its sources: the user's rebuild (``ipowner data update``) while it reads
    cleanly, else the shipped one, unpacked. ``data_dir``: a shipped data folder to use instead (no rebuild)."""
    problems: list[str] = []
    if data_dir is None:
        try:
            build = user_build()
        except EmbeddedFileError as exc:
            problems.append(f"{exc}; using the shipped embedded database")
            build = None
        if build is not None and build.meta.get("database_type") != DATABASE_TYPE:
            problems.append(f"{build.meta_path}: not an {DATABASE_TYPE} build; using the shipped embedded database")
            build = None
        if build is not None:
            shipped_meta: dict[str, Any] | None = None
            with contextlib.suppress(DatabaseError):
                shipped_meta = load_metadata()
            if shipped_meta is None or not supersedes(shipped_meta, build.meta):
                return _data(build.meta, build.mmdb, rebuilt=True, problems=problems)
            # an upgrade of ipowner shipped newer data than the rebuild: the shipped database is used
            meta = shipped_meta
            return _data(meta, ensure_unpacked(meta), rebuilt=False, problems=problems)
    meta = load_metadata(data_dir)
    path = ensure_unpacked(meta, data_dir=data_dir)
    return _data(meta, path, rebuilt=False, problems=problems)


def _text(value: Any, limit: int = 300) -> str | None:
    return str(value)[:limit] if value is not None else None


def _data(meta: dict[str, Any], path: Path, *, rebuilt: bool, problems: list[str]) -> EmbeddedData:
    build_date = _parse_time(meta.get("build_date") if isinstance(meta.get("build_date"), str) else None)
    inputs: dict[str, SourceInfo] = {}
    raw_sources = meta.get("sources")
    for s in raw_sources if isinstance(raw_sources, list) else []:
        if not isinstance(s, dict) or not isinstance(s.get("key"), str) or not s["key"]:
            continue
        version = _text(s.get("package_version"), 64)
        data_date = s.get("data_date")
        inputs[s["key"]] = SourceInfo(
            id=_text(s.get("id"), 80) or f"embedded:{s['key'][:40]}",
            kind=SourceKind.MMDB,
            name=f"{_text(s.get('name'))}, {_text(s.get('package'), 214)} {version}",
            date=_parse_time(data_date if isinstance(data_date, str) else None),
            path=str(path),
            licence=_text(s.get("licence"), 80),
            credit=_text(s.get("credit")),
        )
    credits = "; ".join(dict.fromkeys(s.credit for s in inputs.values() if s.credit))
    licences = ", ".join(dict.fromkeys(s.licence for s in inputs.values() if s.licence))
    source = SourceInfo(
        id="embedded",
        kind=SourceKind.MMDB,
        name="ipowner embedded default data" + (", rebuilt by ipowner data update" if rebuilt else ""),
        date=build_date,
        path=str(path),
        licence=licences or None,
        credit=credits or None,
    )
    fields = meta.get("fields")
    components = {
        str(fpath): inputs[key] for fpath, key in (fields.items() if isinstance(fields, dict) else ())
        if isinstance(key, str) and key in inputs
    }
    return EmbeddedData(path=path, source=source, components=components, meta=meta, rebuilt=rebuilt,
                        problems=problems)
