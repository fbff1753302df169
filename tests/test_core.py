"""The compiled core of the capture readers (capture/_core.c) against the per-frame walker and the oracle.

Every capture in tests/data is compared in test_traffic.py; here, synthetic frames aimed at the
branches the core decides without Python (whole ClientHellos, server first flights, non-QUIC UDP) and
at its flow table (keys that are their own reverse, fragments of folded flows).
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from capture_support import all_readers, needs_core
from ipowner import traffic
from ipowner.capture.core import core_available, core_disabled
from ipowner.capture.protocols.http import http_host
from ipowner.cli import cli, main
from ipowner.cli.commands import cli as _registered  # noqa: F401 - registers the subcommands
from ipowner.errors import UsageError

DEV, SRV = bytes([192, 168, 1, 10]), bytes([203, 0, 113, 7])


def test_the_core_is_built():
    """CI builds the extension (gcc and the Python headers are there): the tests must exercise it."""
    if os.environ.get("IPOWNER_NO_EXTENSION"):
        pytest.skip("built without the extension on purpose")
    if core_disabled():
        pytest.skip("the compiled core is disabled by IPOWNER_NO_CORE")
    assert core_available()


def _frame(src: bytes, dst: bytes, proto: int, l4: bytes, ident: int = 1, frag: int = 0) -> bytes:
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident, frag, 64, proto, 0, src, dst) + l4
    return b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00" + ip


def _tcp(sport: int, dport: int, seq: int, flags: int, payload: bytes = b"") -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0) + payload


def _udp(sport: int, dport: int, payload: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def _pcap(path: Path, frames: list[tuple[float, bytes]], snaplen: int = 65535) -> Path:
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, 1))
    for ts, fr in frames:
        cut = fr[:snaplen]
        out += struct.pack("<IIII", int(ts), int(round((ts % 1) * 1e6)), len(cut), len(fr)) + cut
    path.write_bytes(bytes(out))
    return path


def _hello(*exts: bytes, version: bytes = b"\x03\x03", htype: int = 1, body_cut: int | None = None) -> bytes:
    ext = b"".join(exts)
    body = version + b"\x11" * 32 + b"\x00" + b"\x00\x02\x13\x01" + b"\x01\x00" + struct.pack("!H", len(ext)) + ext
    if body_cut is not None:
        body = body[:body_cut]
    hs = bytes([htype]) + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def _ext(etype: int, data: bytes) -> bytes:
    return struct.pack("!HH", etype, len(data)) + data


def _sni(*names: bytes, ntype: int = 0) -> bytes:
    lst = b"".join(bytes([ntype]) + struct.pack("!H", len(n)) + n for n in names)
    return _ext(0, struct.pack("!H", len(lst)) + lst)


def _server_hello(tls13: bool) -> bytes:
    ext = _ext(43, b"\x03\x04") if tls13 else _ext(0xFF01, b"\x00")
    body = b"\x03\x03" + b"\x22" * 32 + b"\x00" + b"\x13\x01" + b"\x00" + struct.pack("!H", len(ext)) + ext
    hs = b"\x02" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x03" + struct.pack("!H", len(hs)) + hs


def _session(port: int, first: int, client: list[bytes], server: list[bytes], t: float) -> list[tuple[float, bytes]]:
    """A TCP connection from DEV:port to SRV:443: handshake, client segments, server segments, FIN."""
    out = [(t, _frame(DEV, SRV, 6, _tcp(port, 443, first, 0x02))),
           (t + 0.01, _frame(SRV, DEV, 6, _tcp(443, port, 9000, 0x12)))]
    seq, sseq = first + 1, 9001
    for i, seg in enumerate(client):
        out.append((t + 0.02 + i * 0.001, _frame(DEV, SRV, 6, _tcp(port, 443, seq, 0x18, seg))))
        seq += len(seg)
    for i, seg in enumerate(server):
        out.append((t + 0.05 + i * 0.001, _frame(SRV, DEV, 6, _tcp(443, port, sseq, 0x18, seg))))
        sseq += len(seg)
    out.append((t + 0.1, _frame(DEV, SRV, 6, _tcp(port, 443, seq, 0x11))))
    return out


def _all_paths(path: Path) -> dict:
    return all_readers([path])


def _names(doc: dict) -> dict[str, set[tuple]]:
    return {d["address"]: {(h["name"], h["source"], h["concealment"]) for h in d["hostnames"]}
            for d in doc["destinations"]}


def test_client_hellos_read_by_the_core_match_the_reference(tmp_path):
    whole = _hello(_sni(b"Www.Example.ORG."))
    cases = [
        [whole],                                                       # the common case
        [whole[:40], whole[40:]],                                      # split: Python keeps a stream
        [_hello(_sni(b"outer.example"), _ext(0xFE0D, b"\x00\x01"))],  # ECH outer
        [_hello(_sni(b"inner.example"), _ext(0xFE0D, b"\x01"))],      # ECH type 1: not outer
        [_hello(_sni(b"old.example"), _ext(0xFFCE, b""))],            # ESNI
        [_hello(_sni(b"first.example"), _sni(b"second.example"))],    # the last server_name wins
        [_hello(_sni(b"", b"named.example"))],                        # an empty entry is skipped
        [_hello(_sni(b"."))],                                          # normalises to nothing
        [_hello(_sni(b"x.example", ntype=1))],                        # not a host_name entry
        [_hello(_sni(b"\xff\xfeodd.example"))],                       # undecodable bytes
        [_hello(_sni(b"dns.google"))],                                 # DoH name
        [_hello()],                                                    # no server_name
        [_hello(_sni(b"cut.example"), body_cut=20)],                  # truncated body
        [_hello(_sni(b"srv.example"), htype=2)],                      # not a ClientHello
        [b"\x16\x02\x00\x00\x05hello"],                                # not TLS
        [whole[:30] + b"\x17\x03\x03\x00\x01x"],                       # interrupted by another record
        [whole + b"\x17\x03\x03\x00\x05hello"],                        # application data after it
    ]
    frames = []
    for i, client in enumerate(cases):
        frames += _session(40000 + i, 1000 * i, client, [], 1000.0 + i)
    doc = _all_paths(_pcap(tmp_path / "synthetic-hellos.pcap", frames))
    names = _names(doc)["203.0.113.7"]
    assert ("www.example.org", "sni", None) in names
    assert ("outer.example", "sni", "ech-outer") in names
    assert ("inner.example", "sni", None) in names
    assert ("old.example", "sni", "ech-outer") in names
    assert ("second.example", "sni", None) in names and ("first.example", "sni", None) not in names
    assert ("named.example", "sni", None) in names
    assert ("dns.google", "sni", "doh") in names
    assert not any(n[0] in ("cut.example", "srv.example", "x.example") for n in names)


def test_server_flights_read_by_the_core_match_the_reference(tmp_path):
    hello = _hello(_sni(b"api.example"))
    flights = [
        [_server_hello(True)],                                  # TLS 1.3: nothing to learn
        [_server_hello(False)],                                 # TLS 1.2 without its certificate yet
        [_server_hello(False) + b"\x16\x03\x03\x00\x04\x0e\x00\x00\x00"],  # hello done: no certificate
        [b"\x16\x03\x03\x00\x7a\x02" + bytes(range(200))],     # a record cut off by junk
        [b"\x15\x03\x03\x00\x02\x02\x28"],                      # an alert first
        [b"\x16\x01\x00\x00\x00"],                              # not TLS
        [_server_hello(True)[:20], _server_hello(True)[20:]],   # split over two segments
        [b"HTTP/1.1 200 OK\r\n\r\n"],                           # not a handshake at all
    ]
    frames = []
    for i, server in enumerate(flights):
        frames += _session(41000 + i, 5000 * i, [hello], server, 2000.0 + i)
    _all_paths(_pcap(tmp_path / "synthetic-server-flights.pcap", frames))


def test_udp_first_datagrams_match_the_reference(tmp_path):
    chlo = b"\x0dQ043" + b"\x00" * 10 + b"CHLO" + struct.pack("<HH", 1, 0) + b"SNI\x00" + struct.pack("<I", 11)
    payloads = [b"\x00" * 48, b"\x80" + b"\x00" * 40, b"\xc0\x00\x00\x00\x01" + b"\x00" * 40, chlo + b"g.example.x",
                b"\x80Q043" + b"\x00" * 40, b"Q0" + b"\x00" * 8, b"\x01"]
    frames = [(3000.0 + i, _frame(DEV, SRV, 17, _udp(50000 + i, 443, p))) for i, p in enumerate(payloads)]
    doc = _all_paths(_pcap(tmp_path / "synthetic-udp-first.pcap", frames))
    assert ("g.example.x", "quic", None) in _names(doc)["203.0.113.7"]


def test_a_flow_that_is_its_own_reverse(tmp_path):
    """Same address and port on both ends: one key for both directions, as in the reference's dict."""
    me = bytes([10, 0, 0, 5])
    frames = [(4000.0 + i, _frame(me, me, 17, _udp(5000, 5000, b"x" * (10 + i)))) for i in range(5)]
    frames += [(4010.0 + i, _frame(me, me, 6, _tcp(7000, 7000, i, 0x10, b"y" * i))) for i in range(4)]
    doc = _all_paths(_pcap(tmp_path / "synthetic-self-flow.pcap", frames))
    assert doc["destinations"] or doc["lan_peers"] or doc["devices"]


def test_fragments_arriving_after_their_flow_was_folded(tmp_path, monkeypatch):
    """The first fragment's flow finishes and is folded; a late fragment counts as a port-less flow."""
    import ipowner.capture.rules as rules_mod

    monkeypatch.setattr(rules_mod, "SWEEP_MASK", 7)
    first = _frame(SRV, DEV, 17, _udp(53, 40000, b"\x00" * 24), ident=77, frag=0x2000)
    frames = [(5000.0, first)]
    # idle traffic elsewhere long enough for a full sweep to fold the owner
    frames += [(5000.0 + 400 + i, _frame(DEV, bytes([198, 51, 100, 1]), 17, _udp(1234, 9999, b"z"))) for i in range(140)]
    late = _frame(SRV, DEV, 17, b"\x00" * 16, ident=77, frag=4)
    late = late[:14] + struct.pack("!BBHHHBBH4s4s", 0x45, 0, 36, 77, 4, 64, 17, 0, SRV, DEV) + late[34:]
    frames.append((5600.0, late))
    doc = _all_paths(_pcap(tmp_path / "synthetic-late-fragment.pcap", frames))
    total = sum(d["packets_received"] + d["packets_sent"] for d in doc["destinations"])
    assert total == len(frames)


def test_http_host_lines_cut_short_are_not_names():
    assert http_host(b"GET / HTTP/1.1\r\nHost: api.exa") == (None, False)
    assert http_host(b"GET / HTTP/1.1\r\nHost: api.example.org:80") == ("api.example.org", True)  # cut in the port
    assert http_host(b"GET / HTTP/1.1\r\nHost: [2001:db8::1]:8") == ("2001:db8::1", True)
    assert http_host(b"GET / HTTP/1.1\r\nHost: api.example.org\r\nAcc") == ("api.example.org", True)
    assert http_host(b"GET / HTTP/1.1\r\nHost: api.example.org:8080\r\n\r\n") == ("api.example.org", True)


@pytest.mark.slow  # a generated capture of 30000 packets
def test_no_partial_names_from_a_snaplen_cut_capture(tmp_path):
    """The generator's third interface cuts frames at 128 bytes: names seen there are whole or absent."""
    gen = Path(__file__).parent.parent / "bench" / "gen_capture.py"
    out, truth = tmp_path / "synthetic-bench.pcapng", tmp_path / "truth.json"
    subprocess.run([sys.executable, str(gen), "--packets", "30000", "--format", "pcapng", str(out), "--quiet",
                    "--truth", str(truth)], check=True, timeout=120)
    known = {h["name"] for r in json.loads(truth.read_text())["remotes"].values() for h in r["hostnames"]}
    doc = traffic([out]).to_dict()
    http = {h["name"] for d in doc["destinations"] for h in d["hostnames"] if h["source"] == "http"}
    # the generator's names all end in .example; a Host line cut at the snaplen would not
    assert http & known and all(n.endswith(".example") for n in http), sorted(http)[:5]


def test_compiled_reader_missing_is_a_usage_error(monkeypatch, tmp_path, capsys):
    import ipowner.capture.traffic as traffic_mod

    monkeypatch.delenv("IPOWNER_NO_CORE", raising=False)  # not disabled: missing
    monkeypatch.setattr(traffic_mod, "core_available", lambda: False)
    cap = _pcap(tmp_path / "synthetic-one.pcap", [(1.0, _frame(DEV, SRV, 17, _udp(1, 2, b"x")))])
    with pytest.raises(UsageError):
        traffic([cap], compiled=True)
    with pytest.raises(SystemExit) as exit_:
        main(["traffic", str(cap), "--reader", "compiled"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "compiled capture reader is not built" in err
    assert len(err.strip().splitlines()) == 1


@needs_core
def test_cli_reader_choice_compiled_matches_frame(tmp_path):
    cap = Path(__file__).parent / "data" / "traffic" / "ndpi--wechat.pcap"
    a = CliRunner().invoke(cli, ["traffic", str(cap), "--format", "json", "--reader", "compiled"])
    b = CliRunner().invoke(cli, ["traffic", str(cap), "--format", "json", "--reader", "frame"])
    assert a.exit_code == b.exit_code == 0 and a.output == b.output


def test_version_names_the_capture_reader(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0 and out.startswith("ipowner ")
    assert ("compiled core" if core_available() else "pure Python") in out


def _pcapng(path: Path, frames: list[tuple[float, bytes]], endian: str) -> Path:
    """Two interfaces (microseconds; nanoseconds with a 1000 s offset), blocks in the given byte order."""

    def block(btype: int, body: bytes) -> bytes:
        body += b"\0" * (-len(body) % 4)
        return struct.pack(endian + "II", btype, len(body) + 12) + body + struct.pack(endian + "I", len(body) + 12)

    out = block(0x0A0D0D0A, struct.pack(endian + "IHHq", 0x1A2B3C4D, 1, 0, -1))
    out += block(1, struct.pack(endian + "HHI", 1, 0, 0) + struct.pack(endian + "HHI", 0, 0, 0))
    opts = struct.pack(endian + "HH", 9, 1) + b"\x09\0\0\0" + struct.pack(endian + "HHq", 14, 8, -1000)
    out += block(1, struct.pack(endian + "HHI", 1, 0, 0) + opts + struct.pack(endian + "HH", 0, 0))
    for i, (ts, fr) in enumerate(frames):
        iface = i % 2
        t = int(ts * 1e6) if iface == 0 else int((ts + 1000) * 1e9)
        out += block(6, struct.pack(endian + "IIIII", iface, t >> 32, t & 0xFFFFFFFF, len(fr), len(fr)) + fr)
        if i % 7 == 3:
            out += block(3, struct.pack(endian + "I", len(fr)) + fr)  # a simple packet block
    path.write_bytes(out)
    return path


@pytest.mark.parametrize("endian", ["<", ">"])
def test_pcapng_either_byte_order_matches_the_reference(tmp_path, endian):
    frames = []
    for i in range(30):
        frames += _session(42000 + i, 100 * i, [_hello(_sni(f"n{i}.example".encode()))], [_server_hello(i % 2 == 0)],
                           6000.0 + i * 3)
    frames += [(6200.0 + i, _frame(DEV, SRV, 17, _udp(53000 + i, 53, b"\x00" * 20))) for i in range(10)]
    doc = _all_paths(_pcapng(tmp_path / f"synthetic-{'le' if endian == '<' else 'be'}.pcapng", frames, endian))
    assert doc["inputs"][0]["records"] > len(frames)
    assert ("n7.example", "sni", None) in _names(doc)["203.0.113.7"]


@pytest.mark.parametrize("device", [["192.168.1.10"], ["203.0.113.7"], ["::ffff:192.168.1.10"], ["192.168.1.10", "203.0.113.7"]])
def test_device_choice_through_every_reader(tmp_path, device):
    """--device overrides who opened a flow, on the compiled table as on the reference (addresses as text)."""
    frames = _session(43000, 1, [_hello(_sni(b"d.example"))], [_server_hello(True)], 7000.0)
    frames += [(7001.0 + i, _frame(SRV, DEV, 17, _udp(443, 50000, b"\x00" * 30))) for i in range(3)]
    cap = _pcap(tmp_path / "synthetic-device.pcap", frames)
    all_readers([cap], device=device)
