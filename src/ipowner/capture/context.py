"""What every reader shares: the input being read, its warnings, and how reading stops."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from ipowner.capture.engine import Engine
from ipowner.model.traffic import InputInfo

CHUNK = 1 << 22  # bytes read at a time from a capture
BATCH_FROM = CHUNK  # captures smaller than this are read frame by frame unless asked (numpy costs its import)
MAX_RECORD = 262144  # the largest record tshark/libpcap accept; a header claiming more is corrupt

Progress = Callable[[int], None]  # called with the number of bytes consumed so far


def core_available() -> bool:
    """Whether the compiled core of the capture readers was built for this installation."""
    if os.environ.get("IPOWNER_NO_CORE"):  # the environment switch (CI runs the suite without the core)
        return False
    try:
        from ipowner.capture._core import Core  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(slots=True)
class ReadContext:
    """One input being read into the engine."""

    name: str
    stream: BinaryIO
    engine: Engine
    info: InputInfo
    head: bytes = b""  # bytes already read for format detection, to be consumed first
    progress: Progress | None = None
    fast: bool = True  # False: the dpkt-based slow path (for differential tests)
    batch: bool | None = None  # with fast: frames classified in batches (numpy); None: for large inputs
    compiled: bool | None = None  # the C core (readers/_core.c); None: when it is built and batch is not chosen

    def use_core(self) -> bool:
        """Whether to read this capture with the compiled core."""
        if not self.fast or self.compiled is False or self.batch is not None:
            return False
        return self.compiled is True or core_available()

    def use_batch(self) -> bool:
        """Whether to read this capture in batches; may read ahead (kept for the reader)."""
        if not self.fast or self.batch is False:
            return False
        if self.batch:
            return True
        ahead = self.read(BATCH_FROM)
        self.head = ahead + self.head
        return len(ahead) >= BATCH_FROM

    def read(self, n: int) -> bytes:
        if self.head:
            out, self.head = self.head[:n], self.head[n:]
            if len(out) < n:
                out += self.stream.read(n - len(out))
            return out
        return self.stream.read(n)

    def stop(self, reason: str) -> None:
        """Reading stopped early: what was read is kept, the input is partial."""
        self.info.partial = True
        self.info.warnings.append(f"{self.name}: {reason}")

    def warn(self, reason: str) -> None:
        self.info.warnings.append(f"{self.name}: {reason}")

    def lines(self) -> Iterator[str]:
        """The input as text lines (UTF-8, undecodable bytes replaced), streamed chunk by chunk."""
        import codecs

        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        rest = ""
        while True:
            chunk = self.read(1 << 20)
            text = rest + decoder.decode(chunk, final=not chunk)
            parts = text.splitlines(keepends=True)
            rest = parts.pop() if parts and not parts[-1].endswith(("\n", "\r")) else ""
            yield from parts
            if not chunk:
                if rest:
                    yield rest
                return

