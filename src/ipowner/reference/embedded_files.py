"""Where ``ipowner data update`` keeps its rebuild of the embedded database, and how that rebuild is found.

Written by ``datasets.update`` (through ``datasets.embedded_build``), read by ``providers.mmdb.embedded``. In the
user data folder's ``embedded-db/``:

    ipowner-embedded.json            the build in use: the same document as the shipped ipowner-embedded.json,
                                     plus ``mmdb_file`` (the database's file name beside it)
    ipowner-embedded-<sha16>.mmdb    the database, named after its sha256 (so the JSON is the one switch)
    ipowner-embedded.previous.json   the build it replaced (its .mmdb is kept too)
    inputs/                          the npm tarballs the build was made from (checked), reused when unchanged

The JSON is renamed into place last: a reader sees the old build or the new one, never half of either.
A rebuild is used instead of the shipped database unless the shipped one has newer inputs (``supersedes``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ipowner import paths

USER_FOLDER = "embedded-db"
META_NAME = "ipowner-embedded.json"
PREVIOUS_META_NAME = "ipowner-embedded.previous.json"
INPUTS_FOLDER = "inputs"
MAX_META_BYTES = 1 << 20
_MMDB_FILE = re.compile(r"ipowner-embedded-[0-9a-f]{16}\.mmdb")


class EmbeddedFileError(ValueError):
    """A rebuild of the embedded database that cannot be used."""


@dataclass(frozen=True, slots=True)
class UserBuild:
    meta: dict[str, Any]
    mmdb: Path
    meta_path: Path


def user_folder() -> Path:
    return paths.user_data_dir() / USER_FOLDER


def mmdb_name(sha256: str) -> str:
    return f"ipowner-embedded-{sha256[:16]}.mmdb"


def read_build(meta_path: Path) -> UserBuild:
    """The build a metadata file describes; raises ``EmbeddedFileError`` unless its database is there, whole."""
    try:
        with meta_path.open("rb") as f:
            raw = f.read(MAX_META_BYTES + 1)
    except OSError as exc:
        raise EmbeddedFileError(f"{meta_path}: cannot read ({exc.strerror or exc})") from exc
    if len(raw) > MAX_META_BYTES:
        raise EmbeddedFileError(f"{meta_path}: larger than {MAX_META_BYTES >> 10} KiB")
    try:
        meta = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise EmbeddedFileError(f"{meta_path}: not JSON ({str(exc)[:200]})") from exc
    if not isinstance(meta, dict):
        raise EmbeddedFileError(f"{meta_path}: not a metadata document")
    name, size, sha = meta.get("mmdb_file"), meta.get("mmdb_size"), meta.get("mmdb_sha256")
    if not isinstance(name, str) or not _MMDB_FILE.fullmatch(name) or not isinstance(sha, str) \
            or not name == mmdb_name(sha):
        raise EmbeddedFileError(f"{meta_path}: names no database file of its own")
    if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
        raise EmbeddedFileError(f"{meta_path}: no database size")
    mmdb = meta_path.parent / name
    try:
        actual = mmdb.stat().st_size
    except OSError as exc:
        raise EmbeddedFileError(f"{mmdb}: missing ({exc.strerror or exc})") from exc
    if actual != size:
        raise EmbeddedFileError(f"{mmdb}: {actual} bytes where its metadata says {size}")
    return UserBuild(meta, mmdb, meta_path)


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _data_dates(meta: dict[str, Any]) -> dict[str, str]:
    srcs = meta.get("sources")
    return {str(s.get("key")): s["data_date"] for s in (srcs if isinstance(srcs, list) else [])
            if isinstance(s, dict) and isinstance(s.get("data_date"), str) and _DATE.fullmatch(s["data_date"])}


def supersedes(shipped: dict[str, Any], rebuild: dict[str, Any]) -> bool:
    """Whether the shipped database's inputs are all at least as new as a rebuild's and one is newer (an
    upgrade of ipowner that ships newer data than the user's rebuild: the shipped database is used then)."""
    new, old = _data_dates(shipped), _data_dates(rebuild)
    if not new or set(new) != set(old):
        return False
    return all(new[k] >= old[k] for k in new) and any(new[k] > old[k] for k in new)


def user_build() -> UserBuild | None:
    """The rebuild in use (None: there is none, the shipped database is used); raises ``EmbeddedFileError``."""
    meta_path = user_folder() / META_NAME
    if not meta_path.is_file():
        return None
    return read_build(meta_path)


__all__ = ["INPUTS_FOLDER", "META_NAME", "PREVIOUS_META_NAME", "USER_FOLDER", "EmbeddedFileError", "UserBuild",
           "mmdb_name", "read_build", "supersedes", "user_build", "user_folder"]
