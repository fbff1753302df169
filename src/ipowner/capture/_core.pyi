"""The compiled core of the capture readers (``_core.c``); see ``core.py`` for the interface it calls."""

from collections.abc import Mapping
from typing import final

from ipowner.capture.core import CoreHost

@final
class Core:
    """Flow table and frame walker bound to one engine, for one input."""

    def __init__(self, host: CoreHost, devices: tuple[bytes, ...], rules: Mapping[str, object], /) -> None: ...
    def frame(self, buf: bytes, offset: int, captured: int, original: int, ts: float, linktype: int, /) -> int:
        """One frame: 0 counted, 1 not IP, 2 truncated."""
    def pcap(self, buf: bytes, offset: int, big_endian: bool, mul: float, linktype: int, run: int,
             /) -> tuple[int, int, int, int]:
        """pcap records in a row from ``offset``, after ``run`` records in a row that captured nothing:
        (offset reached, records, why it stopped: 0 the buffer's end, 1 an oversized record header, 2 a run
        of ``EMPTY_RUN_MAX`` empty records; the run of empty records at the end)."""
    def pcapng(self, buf: bytes, offset: int, big_endian: bool,
               ifaces: tuple[tuple[int, float, int, bool], ...], run: int, /) -> tuple[int, int, float | None, int]:
        """Enhanced packet blocks in a row from ``offset``, ``ifaces`` as (link type, time unit, time offset,
        supported), after ``run`` empty packet blocks in a row: (offset reached, blocks, last timestamp or
        None, the run of empty packet blocks at the end). An empty block that would complete a run of
        ``EMPTY_RUN_MAX`` is left to the caller."""
    def finish(self) -> None:
        """Fold every flow and hand the pairs to the host (``merge_pair``)."""
    def live(self) -> int:
        """Flows in the table."""
    def rules(self) -> dict[str, object]:
        """The rules the core holds, in the forms ``core.core_rules()`` gives them."""
