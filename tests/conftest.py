"""What every test gets: no network beyond loopback, and its own data and cache folders.

- Network: connections, UDP sends and name lookups are allowed to 127.0.0.1, ::1 and localhost only
  (``network_guard.py``; the CLI subprocesses the tests start install the same guard through
  ``network_guard.cli_code``). A refused attempt fails the test even if the code under test swallowed the error.
  The ``no_sockets`` fixture is stricter: no socket at all, for the tests that prove a call stays offline.
- Folders: ``IPOWNER_DATA_DIR`` and ``IPOWNER_CACHE_DIR`` point into a fresh temporary folder per test, the
  system GeoIP folders are off (``IPOWNER_NO_SYSTEM_MMDB=1``) and every other ``IPOWNER_*`` setting of the
  developer's shell is removed, so that neither their databases nor their RDAP cache leak into an answer.
  The process-wide switches of a whole run (``KEEP``) stay, so that CI can run the suite without the C core.
  A test that needs other folders sets them itself (``monkeypatch.setenv`` after this fixture wins).
  The data folder starts as a machine's does after its first offline lookup: with the embedded database
  unpacked (made once per run and hard-linked in, since unpacking costs 0.4 s); a test that writes into that
  shared file fails. The tests of the unpacking itself give themselves an empty folder.

Markers (registered in pyproject.toml): ``slow`` for the tests that start the CLI in subprocesses, drive
Chromium, run tshark, read the big captures or build the embedded data; ``pytest -m "not slow"`` is the quick run.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import ipowner
import network_guard

# Settings of the whole run, not of the developer's machine: kept from the environment pytest was started in.
KEEP = frozenset({"IPOWNER_NO_CORE", "IPOWNER_NO_EXTENSION"})


def _isolate(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    for name in list(os.environ):
        if name.startswith("IPOWNER_") and name not in KEEP:
            monkeypatch.delenv(name)
    monkeypatch.setenv("IPOWNER_DATA_DIR", str(home / "data"))
    monkeypatch.setenv("IPOWNER_CACHE_DIR", str(home / "cache"))
    monkeypatch.setenv("IPOWNER_NO_SYSTEM_MMDB", "1")


@dataclass
class _Seed:
    """Files a first offline lookup leaves in an empty data folder, and their state, to notice writes."""

    files: dict[Path, Path] = field(default_factory=dict)  # path in the seed -> path relative to the data folder
    state: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def changed(self) -> list[Path]:
        return [p for p, st in self.state.items() if _stat(p) != st]


def _stat(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except OSError:
        return (-1, -1)
    return (st.st_size, st.st_mtime_ns)


@pytest.fixture(scope="session")
def _seed(tmp_path_factory: pytest.TempPathFactory) -> _Seed:
    home = tmp_path_factory.mktemp("ipowner-seed")
    with pytest.MonkeyPatch.context() as mp:
        _isolate(mp, home)
        network_guard.no_sockets(mp.setattr, [])
        try:
            ipowner.lookup(["8.8.8.8"], offline=True)
        except Exception as exc:  # the tests that need the data will say what is wrong
            warnings.warn(f"the embedded database could not be unpacked for the tests: {exc!r}", stacklevel=1)
            return _Seed()
    data = home / "data"
    files = {p: p.relative_to(data) for p in sorted(data.rglob("*")) if p.is_file()}
    return _Seed(files, {p: _stat(p) for p in files})


@pytest.fixture
def network_refusals() -> list[str]:
    """What the guard refused during this test; any left at teardown fail it (the guard's own tests empty it)."""
    return []


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory, _seed: _Seed,
              network_refusals: list[str]) -> Iterator[None]:
    home = tmp_path_factory.mktemp("ipowner-home")
    _isolate(monkeypatch, home)
    for source, relative in _seed.files.items():
        target = home / "data" / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(source, target)
        except OSError:  # another file system: a copy does as well
            shutil.copy2(source, target)

    network_guard.loopback_only(monkeypatch.setattr, network_refusals)
    yield
    if network_refusals:
        pytest.fail("the test tried to reach the network: " + "; ".join(network_refusals), pytrace=False)
    if changed := _seed.changed():
        _seed.files.clear()  # poisoned: the rest of the run unpacks for itself
        _seed.state.clear()
        pytest.fail(f"the test wrote into the shared unpacked database {changed}: give it its own IPOWNER_DATA_DIR",
                    pytrace=False)


@pytest.fixture
def no_sockets(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """No socket may be opened and no name resolved, not even on loopback (yields what it refused)."""
    refusals: list[str] = []
    network_guard.no_sockets(monkeypatch.setattr, refusals)
    yield refusals
    if refusals:
        pytest.fail("the test opened a socket: " + "; ".join(refusals), pytrace=False)
