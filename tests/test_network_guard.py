"""The tests' own network guard (tests/conftest.py, tests/network_guard.py): it refuses what it should."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import platformdirs
import pytest

from ipowner import paths
from network_guard import TESTS_DIR, NetworkRefused

UNROUTABLE = "192.0.2.1"  # TEST-NET-1: never answers, and the guard refuses it before anything is sent


def test_connections_and_lookups_beyond_loopback_are_refused(network_refusals: list[str]) -> None:
    with socket.socket() as tcp, pytest.raises(NetworkRefused):
        tcp.connect((UNROUTABLE, 80))
    with socket.socket() as tcp, pytest.raises(NetworkRefused):
        tcp.connect_ex((UNROUTABLE, 80))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, pytest.raises(NetworkRefused):
        udp.sendto(b"\0" * 12, (UNROUTABLE, 53))  # a DNS query needs no connect()
    with pytest.raises(NetworkRefused):
        socket.getaddrinfo("rdap.arin.net", 443)
    with pytest.raises(NetworkRefused):
        socket.gethostbyname("example.com")
    with pytest.raises(NetworkRefused):
        socket.create_connection((UNROUTABLE, 80), timeout=1)
    assert len(network_refusals) == 6
    network_refusals.clear()  # refused on purpose: the teardown check would fail the test


def test_a_swallowed_refusal_is_still_recorded(network_refusals: list[str]) -> None:
    with contextlib.suppress(Exception):  # code under test that hides the error: the record still has it
        socket.getaddrinfo("example.com", 80)
    assert network_refusals == ["getaddrinfo of 'example.com'"]
    network_refusals.clear()


def test_loopback_is_allowed() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass
        with socket.create_connection(("localhost", port), timeout=5):
            pass
    assert socket.getaddrinfo("localhost", 80)


def test_no_sockets_refuses_even_loopback(no_sockets: list[str]) -> None:
    with pytest.raises(NetworkRefused):
        socket.socket()
    with pytest.raises(NetworkRefused):
        socket.getaddrinfo("localhost", 80)
    assert len(no_sockets) == 2
    no_sockets.clear()


@pytest.mark.parametrize("mode", ["loopback", "none"])
def test_the_cli_subprocesses_get_the_same_guard(mode: str) -> None:
    code = (f"import sys; sys.path.append({str(TESTS_DIR)!r}); import network_guard, socket\n"
            f"network_guard.install_in_subprocess({mode!r})\n"
            "for call in (lambda: socket.create_connection(('192.0.2.1', 80), timeout=1),\n"
            "             lambda: socket.getaddrinfo('example.com', 80)):\n"
            "    try:\n"
            "        call()\n"
            "    except OSError as exc:\n"
            "        print(exc)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.count("test: ") == 2, out


def test_every_test_has_its_own_folders(tmp_path: Path) -> None:
    data, cache = Path(os.environ["IPOWNER_DATA_DIR"]), Path(os.environ["IPOWNER_CACHE_DIR"])
    assert paths.user_data_dir() == data and paths.user_cache_dir() == cache
    assert data != Path(platformdirs.user_data_dir("ipowner")) and cache != Path(platformdirs.user_cache_dir("ipowner"))
    assert os.environ["IPOWNER_NO_SYSTEM_MMDB"] == "1"
    assert not {"IPOWNER_MMDB_PATH", "IPOWNER_RDAP_BOOTSTRAP", "IPOWNER_RDAP_REWRITE"} & set(os.environ)
    # the embedded database is there already (linked from one unpacked copy), nothing else
    assert [p.parent.name for p in data.rglob("*.mmdb")] in ([], ["embedded"])
