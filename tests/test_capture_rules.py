"""The capture rules live in rules.py only: the C core holds exactly what it is given, a rule changed there
changes both walkers alike, and the C core reaches the engine only through the documented CoreHost."""

from __future__ import annotations

import gc
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from capture_support import DATA, needs_core
from ipowner import traffic
from ipowner.capture import core as core_mod
from ipowner.capture import rules
from ipowner.capture.core import CORE_RULES, CoreHost, core_rules, new_core, pack_rule
from ipowner.capture.engine import Engine
from ipowner.cli import main
from ipowner.errors import UsageError

CORE_C = Path(core_mod.__file__).with_name("_core.c")

# Rules only Python decides by, and why the C core does not need them.
PYTHON_ONLY = {
    "READ_CHUNK": "how much the Python readers read at a time",
    "PROTO_NAMES": "labels of the output",
    "PORTED_PROTOCOLS": "labels of the output",
    "SCTP": "labels of the output (PORTED_PROTOCOLS)",
    "TLS_EXT_ALPN": "read by the Python ClientHello parser only",
    "STREAM_PENDING": "streams are kept in Python",
    "DOH_NAMES": "names are judged in Python (core_hello)",
    "SWEEP_MASK": "the engine's default; the core reads the engine's sweep_mask",
    "DEFAULT_BUCKET": "the default of traffic(); the core reads the engine's bucket",
    "ADDRESS_TEXTS_MAX": "a bound on the engine's memory",
    "FRAGMENTED_DATAGRAMS_MAX": "reassembly is done in Python",
    "FRAGMENT_OWNERS_MAX": "the engine prunes both owner maps",
    "FRAGMENT_OWNERS_KEEP": "the engine prunes both owner maps",
    "DNS_SEEN_MAX": "DNS answers are read in Python",
    "HELLOS_SEEN_MAX": "hellos are recorded in Python",
    "TIMELINE_PAIRS_MAX": "the memory budget is kept by the engine (pairs come to Python when folded)",
    "NAMES_PER_ADDRESS_MAX": "names are recorded in Python",
    "NAMED_ADDRESSES_MAX": "names are recorded in Python",
    "BUDGET_ENV": "read by traffic()",
    "NAMED_SEEN_MAX": "names are recorded in Python",
    "LOG_COUNT_MAX": "log rows are read in Python",
    "PORT_MAX": "log rows are read in Python (the walkers read 16-bit ports)",
    "TIME_FIRST": "packet times are checked when pairs become destinations (aggregate.py)",
    "TIME_LAST": "packet times are checked when pairs become destinations (aggregate.py)",
    "QUIC_INITIAL_SALTS": "QUIC Initials are decrypted in Python",
    "QUIC_VERSIONS": "QUIC Initials are decrypted in Python",
    "QUIC_GREASE_MASK": "QUIC Initials are recognised in Python",
    "QUIC_GREASE": "QUIC Initials are recognised in Python",
    "TUNNEL_NAMES": "labels of the output",
}


def _rule_names() -> set[str]:
    return {n for n, v in vars(rules).items() if n.isupper() and not isinstance(v, type)}


def test_every_rule_goes_to_the_core_or_is_said_to_be_python_only():
    assert set(CORE_RULES) | set(PYTHON_ONLY) == _rule_names()
    assert not set(CORE_RULES) & set(PYTHON_ONLY)


def test_the_core_source_reads_exactly_the_rules_it_is_given():
    """Read from _core.c itself, so this holds whether or not the core is built here."""
    source = CORE_C.read_text()
    names = re.search(r"RULE_NAMES\[\] = \{(.*?)NULL", source, re.S)
    assert names is not None
    assert re.findall(r'"(\w+)"', names.group(1)) == list(CORE_RULES)
    for name in CORE_RULES:  # each one is loaded, not only listed
        assert source.count(f'"{name}"') >= 3, name  # listed, loaded, given back by rules()


def test_the_core_reaches_the_engine_only_through_core_host():
    source = CORE_C.read_text()
    used = set(re.findall(r'getm\(engine, "(\w+)"\)', source))
    used |= set(re.findall(r'PyObject_(?:Get|Set)AttrString\(c->engine, "(\w+)"', source))
    members = set(CoreHost.__annotations__) | {n for n, v in vars(CoreHost).items()
                                                if callable(v) and not n.startswith("_")}
    assert used == members
    engine = Engine()
    assert all(hasattr(engine, n) for n in members)


@needs_core
def test_the_core_holds_the_rules_of_rules_py():
    core = new_core(Engine(), ())
    held = core.rules()
    assert set(held) == set(CORE_RULES)
    for name in CORE_RULES:
        assert held[name] == pack_rule(name, getattr(rules, name)), name
    assert held == core_rules()


@needs_core
def test_the_core_refuses_unknown_missing_and_bad_rules():
    from ipowner.capture._core import Core

    good = core_rules()
    with pytest.raises(ValueError, match="NEW_RULE is not known"):
        Core(Engine(), (), {**good, "NEW_RULE": 1})
    missing = dict(good)
    del missing["IDLE_TIMEOUT"]
    with pytest.raises(KeyError, match="IDLE_TIMEOUT"):
        Core(Engine(), (), missing)
    with pytest.raises(ValueError, match="FULL_SWEEP_EVERY"):
        Core(Engine(), (), {**good, "FULL_SWEEP_EVERY": 0})
    with pytest.raises(ValueError, match="LINK_TYPES"):
        Core(Engine(), (), {**good, "LINK_TYPES": ((1, 1, 4, 12),)})  # the EtherType outside the header


_RUN = """
import json, sys
import ipowner.capture.rules as rules
exec(sys.argv[1], {"rules": rules})  # before anything reads the rules
from ipowner import traffic
caps = sys.argv[2:]
compiled = traffic(caps, compiled=True).to_dict()
frame = traffic(caps, compiled=False).to_dict()
print(json.dumps({"agree": compiled == frame, "doc": frame}))
"""


@needs_core
@pytest.mark.parametrize("change, capture", [
    ("rules.VLAN_TAGS = frozenset()", "synthetic-ns-bigendian-qinq.pcap"),
    ("rules.IPV6_EXTENSION_HEADERS = {k: v for k, v in rules.IPV6_EXTENSION_HEADERS.items() if k != 0}",
     "synthetic-ipv6-hop-by-hop.pcap"),
    ("rules.TCP_CLIENT_INSPECT = 0", "ndpi--wechat.pcap"),
    ("rules.IDLE_TIMEOUT = 2.0; rules.SWEEP_MASK = 15", "ndpi--wechat.pcap"),
    ("rules.DNS_PORT = 5353", "zeek--wikipedia.pcap"),
    ("rules.SERVER_PORTS = frozenset()", "ndpi--android.pcap"),
])
def test_a_rule_changed_in_rules_py_changes_both_walkers_alike(change, capture):
    """In a fresh process a rule is changed before the capture package reads it: the result changes, and
    the C core still gives what the per-frame walker gives, so it took the rule from rules.py."""
    def run(code: str) -> dict:
        out = subprocess.run([sys.executable, "-c", _RUN, code, str(DATA / capture)], capture_output=True,
                             text=True, timeout=120, check=True)
        return json.loads(out.stdout)

    changed, default = run(change), run("pass")
    assert changed["agree"] and default["agree"]
    assert changed["doc"] != default["doc"]
    assert default["doc"] == traffic([DATA / capture]).to_dict()


def test_library_traffic_leaves_the_garbage_collector_alone():
    seen: list[tuple[tuple[int, int, int], bool]] = []

    def watch(name: str, size: int | None):
        seen.append((gc.get_threshold(), gc.isenabled()))
        return lambda done: seen.append((gc.get_threshold(), gc.isenabled()))

    before = (gc.get_threshold(), gc.isenabled())
    traffic([DATA / "ndpi--wechat.pcap", DATA / "ndpi--alexa-app.pcapng"], progress=watch)
    traffic([DATA / "ndpi--wechat.pcap"], compiled=False, progress=watch)
    assert len(seen) >= 6 and set(seen) == {before}
    assert (gc.get_threshold(), gc.isenabled()) == before


def test_the_cli_lowers_the_collector_frequency_and_restores_it():
    from ipowner.cli._process import few_collections

    before = gc.get_threshold()
    with few_collections():
        assert gc.get_threshold()[0] >= 50_000
    assert gc.get_threshold() == before


def test_no_core_switch(monkeypatch, capsys):
    monkeypatch.setenv("IPOWNER_NO_CORE", "1")
    assert not core_mod.core_available() and "IPOWNER_NO_CORE" in core_mod.core_status()

    def refuse(*args, **kw):
        raise AssertionError("the core was used")

    monkeypatch.setattr(core_mod, "new_core", refuse)
    cap = DATA / "ndpi--wechat.pcap"
    assert traffic([cap]).to_dict() == traffic([cap], compiled=False).to_dict()
    with pytest.raises(UsageError, match="IPOWNER_NO_CORE"):
        traffic([cap], compiled=True)
    with pytest.raises(SystemExit):
        main(["--version"])
    assert "disabled by IPOWNER_NO_CORE" in capsys.readouterr().out
    monkeypatch.setenv("IPOWNER_NO_CORE", "0")
    assert core_mod.core_available() == core_mod.core_built()


@pytest.mark.parametrize("reader", ["batch", "dpkt"])
def test_removed_readers_are_a_usage_error_naming_the_others(reader, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["traffic", str(DATA / "ndpi--wechat.pcap"), "--reader", reader])
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert len(err.strip().splitlines()) == 1
    assert "'auto', 'compiled', 'frame'" in err and reader in err


@needs_core
def test_the_stub_matches_the_compiled_module():
    stubtest = pytest.importorskip("mypy.stubtest")
    assert stubtest.test_stubs(stubtest.parse_options(["ipowner.capture._core"])) == 0


@pytest.mark.parametrize("header", [0, 60, 135, 139, 140, 253, 254, 51])
def test_every_ipv6_extension_header_of_the_registry_is_stepped_over(tmp_path, header):
    """A UDP datagram behind one extension header of each kind counts on its UDP flow, in every reader."""
    import struct

    from capture_support import all_readers

    src, dst = bytes.fromhex("20010db8000000000000000000000001"), bytes.fromhex("20010db8000000000000000000000002")
    udp = struct.pack("!HHHH", 50000, 443, 8 + 4, 0) + b"ping"
    ext = bytes([17, 1]) + b"\0" * 10 if header == 51 else bytes([17, 0]) + b"\0" * 6  # AH: 12 bytes, others 8
    ip6 = struct.pack("!IHBB", 6 << 28, len(ext) + len(udp), header, 64) + src + dst + ext + udp
    frame = b"\x02" * 6 + b"\x04" * 6 + b"\x86\xdd" + ip6
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    out += struct.pack("<IIII", 1_700_000_000, 0, len(frame), len(frame)) + frame
    path = tmp_path / f"synthetic-ipv6-ext-{header}.pcap"
    path.write_bytes(bytes(out))
    doc = all_readers([path])
    assert [(d["address"], d["ports"]) for d in doc["destinations"]] == [("2001:db8::2", ["udp/443"])]
