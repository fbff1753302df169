"""Where ipowner keeps and finds files: shipped data, the user data dir and the cache dir.

``IPOWNER_DATA_DIR`` and ``IPOWNER_CACHE_DIR`` override the platform defaults (tests and power users).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import platformdirs

APP = "ipowner"


def user_data_dir() -> Path:
    env = os.environ.get("IPOWNER_DATA_DIR")
    return Path(env) if env else Path(platformdirs.user_data_dir(APP))


def user_cache_dir() -> Path:
    env = os.environ.get("IPOWNER_CACHE_DIR")
    return Path(env) if env else Path(platformdirs.user_cache_dir(APP))


def shipped_data_dir() -> Path:
    """The folder of data shipped with the package.

    In a wheel, ``data/`` is installed as ``ipowner/data``; in a source checkout (editable install)
    it is the repository's top-level ``data/``.
    """
    packaged = Path(str(resources.files("ipowner"))) / "data"
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "data"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError("ipowner's shipped data folder is missing; reinstall the package")


def shipped(name: str) -> Path:
    """Path of one shipped data file."""
    return shipped_data_dir() / name
