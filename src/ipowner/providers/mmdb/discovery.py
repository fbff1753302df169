"""Find MaxMind-format databases where users and geoipupdate put them.

Searched, in this order: the folders and files in ``IPOWNER_MMDB_PATH`` (``os.pathsep``-separated),
``<user data dir>/mmdb``, then the system folders ``/usr/share/GeoIP``, ``/var/lib/GeoIP`` and
``/usr/local/share/GeoIP``. ``IPOWNER_NO_SYSTEM_MMDB=1`` (or ``system=False``) leaves the system
folders out, so that tests do not depend on the machine.
"""

from __future__ import annotations

import os
from pathlib import Path

from ipowner import paths

SYSTEM_DIRS = ("/usr/share/GeoIP", "/var/lib/GeoIP", "/usr/local/share/GeoIP")
ENV_PATH = "IPOWNER_MMDB_PATH"
ENV_NO_SYSTEM = "IPOWNER_NO_SYSTEM_MMDB"


def _mmdb_files(folder: Path) -> list[Path]:
    try:
        return sorted(p for p in folder.iterdir() if p.suffix.lower() == ".mmdb" and p.is_file())
    except OSError:  # missing or unreadable folder: nothing there to use
        return []


def search_locations(*, system: bool | None = None) -> list[Path]:
    """The files and folders searched, in order (whether they exist or not)."""
    if system is None:
        system = os.environ.get(ENV_NO_SYSTEM, "").strip().lower() not in ("1", "true", "yes")
    out = [Path(p) for p in os.environ.get(ENV_PATH, "").split(os.pathsep) if p.strip()]
    out.append(paths.user_data_dir() / "mmdb")
    if system:
        out.extend(Path(d) for d in SYSTEM_DIRS)
    return out


def discover(*, system: bool | None = None) -> list[Path]:
    """Database files found, deduplicated by real path, in search order.

    A ``*.mmdb`` file named in ``IPOWNER_MMDB_PATH`` is returned even if missing, so the caller
    reports it; folders contribute their ``*.mmdb`` files, and a missing folder is skipped (as in PATH).
    """
    found: list[Path] = []
    seen: set[str] = set()
    env_files = {Path(p) for p in os.environ.get(ENV_PATH, "").split(os.pathsep) if p.strip()}
    for loc in search_locations(system=system):
        if loc.is_dir():
            files = _mmdb_files(loc)
        elif loc in env_files and (loc.exists() or loc.suffix.lower() == ".mmdb"):
            files = [loc]
        else:
            files = []
        for f in files:
            key = os.path.realpath(f)
            if key not in seen:
                seen.add(key)
                found.append(f)
    return found
