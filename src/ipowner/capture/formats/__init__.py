"""Readers: one module per input format, all feeding the same flow engine.

``read_input`` detects the format from the content (never the file name) and dispatches.
"""

from __future__ import annotations

from collections.abc import Mapping

from ipowner.capture.context import Progress, ReadContext
from ipowner.capture.detect import HEAD, describe_binary, detect
from ipowner.capture.engine import Engine

CAPTURE_FORMATS = ("pcap", "pcapng")

__all__ = ["CAPTURE_FORMATS", "Engine", "Progress", "ReadContext", "read_input"]


def read_input(ctx: ReadContext, *, columns: Mapping[str, str] | None = None, only: tuple[str, ...] = (),
               refusal: str = "is not read here") -> None:
    """Read one input into ``ctx.engine``; problems end up in ``ctx.info`` (partial + warnings).
    ``only``: the formats read (others are refused with "a FORMAT input ``refusal``"); empty: every format."""
    head = ctx.stream.read(HEAD)
    ctx.head = head
    fmt = detect(head, csv_columns=bool(columns))
    ctx.info.format = fmt
    if only and fmt not in only and fmt not in ("empty", "binary"):
        ctx.stop(f"a {fmt} input {refusal}")
        return
    if fmt == "empty":
        ctx.stop("empty input: nothing to read")
        return
    if fmt == "binary":
        ctx.stop(describe_binary(head))
        return
    if fmt == "pcap":
        from ipowner.capture.formats import pcap

        pcap.read(ctx)
    elif fmt == "pcapng":
        from ipowner.capture.formats import pcapng

        pcapng.read(ctx)
    elif fmt == "zeek-tsv":
        from ipowner.capture.formats import zeek

        zeek.read_tsv(ctx)
    elif fmt == "zeek-json":
        from ipowner.capture.formats import zeek

        zeek.read_json(ctx)
    elif fmt == "pcapdroid-csv":
        from ipowner.capture.formats import pcapdroid_csv

        pcapdroid_csv.read(ctx)
    elif fmt == "csv":
        from ipowner.capture.formats import csv

        csv.read(ctx, columns)
    else:
        from ipowner.capture.formats import text

        text.read(ctx)
