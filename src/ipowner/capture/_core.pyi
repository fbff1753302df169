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
    def pcap(self, buf: bytes, offset: int, big_endian: bool, mul: float, linktype: int, /) -> tuple[int, int, bool]:
        """pcap records in a row from ``offset``: (offset reached, records, stopped at an oversized one)."""
    def pcapng(self, buf: bytes, offset: int, big_endian: bool,
               ifaces: tuple[tuple[int, float, int, bool], ...], /) -> tuple[int, int, float | None]:
        """Enhanced packet blocks in a row from ``offset``, ``ifaces`` as (link type, time unit, time offset,
        supported): (offset reached, blocks, last timestamp or None)."""
    def finish(self) -> None:
        """Fold every flow and hand the pairs to the host (``merge_pair``)."""
    def live(self) -> int:
        """Flows in the table."""
    def rules(self) -> dict[str, object]:
        """The rules the core holds, in the forms ``core.core_rules()`` gives them."""
