"""A seeded, bounded mutation fuzz of every capture walker: the pcap and pcapng readers (Python), the C
core's record and block loops, the per-frame walker, and the command line's exit codes.

Each case mutates a seed capture (synthetic ones from capture_craft and small real ones from tests/data)
at its structure (a record or block length word, an interface id, a captured length, an option) or at
random bytes, then reads it with the per-frame walker and with the compiled core. Nothing may raise, no
reading may end in an "internal error", the SHA-256 and a record count are always given, the walkers give
the same document, and the command exits 0, 4 or 1 as documented (1 when nothing was read, 4 when
something was not).

The quick run (CI) is ``FUZZ_CASES`` cases from a fixed seed, well under 20 seconds. A longer run:
``IPOWNER_FUZZ_CASES=20000 IPOWNER_FUZZ_SEED=7 python -m pytest tests/test_capture_fuzz.py`` (see
bench/README.md); a failing case is written to ``IPOWNER_FUZZ_KEEP`` (a folder) when that is set.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

import capture_craft as cc
from capture_support import DATA
from ipowner import traffic
from ipowner.capture import rules
from ipowner.capture.core import core_available, new_core
from ipowner.capture.engine import Engine
from ipowner.capture.frame import make_handler
from ipowner.cli import cli
from ipowner.cli._common import run_guarded
from ipowner.cli.commands import cli as _registered  # noqa: F401 - registers the subcommands
from ipowner.exitcodes import ExitCode
from ipowner.model.traffic import nothing_read

FUZZ_CASES = int(os.environ.get("IPOWNER_FUZZ_CASES", "240"))
FUZZ_SEED = int(os.environ.get("IPOWNER_FUZZ_SEED", "20261202"))
CASE_SECONDS = 20  # one case reading longer than this is a hang
INTERESTING = (0, 1, 4, 11, 12, 15, 16, 20, 24, 27, 28, 31, 32, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
               rules.MAX_RECORD, rules.MAX_RECORD + 1, rules.MAX_BLOCK + 4)


def _seeds() -> list[bytes]:
    """Captures to mutate: synthetic ones of every block kind, and the small real ones, cut to 24 KB."""
    frames = [cc.udp_frame(), cc.udp_frame(dst="198.51.100.30", payload=b"\x00" * 40)]
    ng = cc.section() + cc.interface(options=cc.option(9, b"\x09") + cc.option(14, struct.pack("<q", 5))
                                     + cc.option(0, b""))
    ng += cc.interface(linktype=101) + cc.packet(frames[0]) + cc.simple_packet(frames[1])
    ng += cc.block(cc.OPB, struct.pack("<HHIIII", 0, 0, 0, 1000, len(frames[0]), len(frames[0])) + frames[0])
    ng += cc.packet(frames[1][14:], iface=1) + cc.block(0x0BAD, struct.pack("<IHBxiBB", 62652, 1, 1, 10, 3, 3)
                                                         + b"comapp")
    seeds = [cc.synthetic_pcap(6), cc.synthetic_pcapng(6), ng]
    for p in sorted(DATA.iterdir()):
        if p.suffix in (".pcap", ".pcapng") and p.stat().st_size < 200_000:
            seeds.append(p.read_bytes()[:24_000])
    return seeds


def _boundaries(data: bytes) -> list[int]:
    """Offsets of record or block starts (as a valid file would have them), to aim mutations at."""
    out = [0]
    if data[:4] == b"\x0a\x0d\x0d\x0a":
        big = data[8:12] == b"\x1a\x2b\x3c\x4d"
        p = 0
        while p + 12 <= len(data) and len(out) < 256:
            n = struct.unpack_from(">I" if big else "<I", data, p + 4)[0]
            if n < 12 or n % 4:
                break
            out.append(p)
            p += n
    elif len(data) >= 24:
        big = data[:4] in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d")
        p = 24
        while p + 16 <= len(data) and len(out) < 256:
            out.append(p)
            p += 16 + struct.unpack_from(">I" if big else "<I", data, p + 8)[0]
    return out


def mutate(rng: random.Random, data: bytes) -> bytes:
    """One to four mutations: a structural word, random bytes, a cut, a repeated or zeroed span."""
    b = bytearray(data)
    starts = _boundaries(data)
    for _ in range(rng.randint(1, 4)):
        if not b:
            break
        kind = rng.randrange(6)
        if kind in (0, 1):  # a length, id, time or option word of a record or block
            at = rng.choice(starts) + rng.choice((4, 8, 12, 16, 20, 24, 28, 32, -4))
            if 0 <= at <= len(b) - 4:
                b[at : at + 4] = struct.pack(rng.choice("<>") + "I", rng.choice(INTERESTING))
        elif kind == 2:
            for _ in range(rng.randint(1, 16)):
                b[rng.randrange(len(b))] = rng.randrange(256)
        elif kind == 3:
            b = b[: rng.randrange(len(b))]
        elif kind == 4 and len(b) > 8:
            i = rng.randrange(len(b))
            j = min(len(b), i + rng.randint(1, 512))
            b[i:i] = b[i:j] * rng.randint(1, 3)
        else:
            i = rng.randrange(len(b))
            b[i : i + rng.randint(1, 256)] = bytes(rng.randint(1, 256))
    return bytes(b)


class _Hang(Exception):
    pass


def _alarm(_signum: int, _frame: object) -> None:
    raise _Hang


def _cases() -> Iterator[tuple[int, bytes]]:
    rng = random.Random(FUZZ_SEED)
    seeds = _seeds()
    for i in range(FUZZ_CASES):
        yield i, mutate(rng, rng.choice(seeds))


def _keep(i: int, data: bytes) -> None:
    folder = os.environ.get("IPOWNER_FUZZ_KEEP")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / f"synthetic-fuzz-{FUZZ_SEED}-{i}.capture").write_bytes(data)


def test_mutated_captures_read_alike_and_never_fail_inside(tmp_path):
    previous = signal.signal(signal.SIGALRM, _alarm)
    path = tmp_path / "synthetic-fuzz.capture"
    try:
        for i, data in _cases():
            path.write_bytes(data)
            digest = hashlib.sha256(data).hexdigest()
            signal.alarm(CASE_SECONDS)
            try:
                frame = traffic([path], compiled=False)
                compiled = traffic([path], compiled=True) if core_available() else frame
            except _Hang:
                _keep(i, data)
                pytest.fail(f"case {i} (seed {FUZZ_SEED}) read for more than {CASE_SECONDS} s")
            finally:
                signal.alarm(0)
            info = frame.inputs[0]
            problems = [w for w in info.warnings if "internal error" in w]
            if problems or info.sha256 != digest or info.records < 0 or frame.to_dict() != compiled.to_dict():
                _keep(i, data)
            assert not problems, (i, problems)
            assert info.sha256 == digest and info.records >= 0, i
            assert frame.to_dict() == compiled.to_dict(), f"case {i}: the compiled core and the frame walker differ"
            if i % 20 == 0:  # the command line's exit code says the same
                want = ExitCode.FAILURE if nothing_read(frame.inputs) else ExitCode.PARTIAL if frame.partial \
                    else ExitCode.OK
                assert _exit_code(["traffic", "--format", "jsonl", str(path)]) == want, i
    finally:
        signal.signal(signal.SIGALRM, previous)


def _exit_code(args: list[str]) -> int:
    from click.testing import CliRunner

    with CliRunner().isolation() as (_, err, _):
        code = run_guarded(cli, args)
    assert b"Traceback" not in err.getvalue() and b"internal error" not in err.getvalue()
    return int(code)


def test_random_frames_through_the_per_frame_walker_and_the_core():
    """Frames of every supported link type, from random bytes and from mutated real frames, handed to
    both walkers one by one: each returns a frame result and neither raises."""
    rng = random.Random(FUZZ_SEED + 1)
    engine = Engine()
    handle = make_handler(engine)
    core = new_core(engine, ()) if core_available() else None
    base = [cc.udp_frame(), cc.udp_frame(ethertype=0x86DD), cc.udp_frame(ethertype=0x8100), cc.udp_frame()[14:]]
    for i in range(FUZZ_CASES * 20):
        if i % 2:
            frame = bytearray(rng.choice(base))
            for _ in range(rng.randint(1, 6)):
                if frame:
                    frame[rng.randrange(len(frame))] = rng.randrange(256)
            frame = frame[: rng.randrange(len(frame) + 1)]
        else:
            frame = bytearray(rng.randbytes(rng.randrange(0, 96)))
        pad = rng.randrange(4)
        buf = bytes(pad) + bytes(frame) + bytes(rng.randrange(8))  # the frame inside a larger buffer
        lt = rng.choice(sorted(rules.LINK_TYPES))
        ts = rng.choice((0.0, 1e9 + i, -1.0, 1e300))
        assert handle(buf, pad, len(frame), len(frame), ts, lt) in (0, 1, 2)
        if core is not None:
            assert core.frame(buf, pad, len(frame), len(frame), ts, lt) in (0, 1, 2)
    if core is not None:
        core.finish()
    engine.fold_all()
