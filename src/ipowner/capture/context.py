"""What every reader shares: the input being read, its warnings, and how reading stops."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Protocol

from ipowner.capture.core import core_available
from ipowner.capture.engine import Engine
from ipowner.capture.frame import WalkerFactory, make_handler
from ipowner.model.traffic import InputInfo


class Source(Protocol):
    """What an input is read from: a binary stream's ``read``."""

    def read(self, n: int = -1, /) -> bytes: ...


Progress = Callable[[int], None]  # called with the number of bytes consumed so far


@dataclass(slots=True)
class ReadContext:
    """One input being read into the engine."""

    name: str
    stream: Source
    engine: Engine
    info: InputInfo
    head: bytes = b""  # bytes already read for format detection, to be consumed first
    progress: Progress | None = None
    compiled: bool | None = None  # the C core: True required, False refused, None when available
    walker: WalkerFactory = make_handler  # the per-frame walker used without the core (the tests plug in theirs)

    def use_core(self) -> bool:
        """Whether to read this capture with the compiled core."""
        if self.compiled is not None:
            return self.compiled
        return self.walker is make_handler and core_available()

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

    def stop_empty_run(self, records: int, run: int, what: str) -> int:
        """Reading stops at the record completing a run of ``rules.EMPTY_RUN_MAX`` records that capture
        nothing (``records`` read before it, the last ``run - 1`` of them empty; ``what`` names a record).
        Returns the records to count: those before the run. When there are none the input is refused (a
        file of zeros or padding, not a capture)."""
        before = records - (run - 1)
        if before <= 0:
            self.stop(f"refused: its first {run} {what}s capture nothing (captured length 0: zeros or padding, "
                      "not a capture)")
            return 0
        self.stop(f"the {run} {what}s from {what} {before + 1} on capture nothing (captured length 0: zeros or "
                  "padding from there?); reading stopped there, the rest is not read")
        return before

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

