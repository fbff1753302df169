"""``ipowner traffic INPUT...``: destinations seen in captures and logs, with no lookups."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import click

from ipowner.capture.rules import DEFAULT_BUCKET
from ipowner.capture.traffic import read_traffic_rows
from ipowner.capture.traffic import traffic as run_traffic
from ipowner.cli._common import (
    binary_output,
    detail_line,
    note,
    output_option,
    output_stream,
    pick_format,
    verbosity,
    verbosity_options,
    write_output,
)
from ipowner.cli._process import few_collections
from ipowner.errors import UsageError
from ipowner.exitcodes import ExitCode
from ipowner.model.traffic import nothing_read
from ipowner.render import formats

READERS = ("auto", "compiled", "frame")  # --reader: auto, or compiled= True / False of traffic()
PROGRESS_MIN_BYTES = 32 << 20  # files smaller than this read too fast to need a progress bar


def _progress_factory() -> Callable[[str, int | None], Callable[[int], None] | None] | None:
    if not sys.stderr.isatty() or verbosity() < 0:
        return None

    def factory(name: str, size: int | None) -> Callable[[int], None] | None:
        if not size or size < PROGRESS_MIN_BYTES:
            return None
        from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

        bar = Progress("{task.description}", BarColumn(), DownloadColumn(), TimeRemainingColumn(), transient=True,
                       console=__import__("rich.console").console.Console(stderr=True))
        task = bar.add_task(os.path.basename(name)[:40], total=size)
        bar.start()

        def update(done: int) -> None:
            bar.update(task, completed=done)
            if done >= size:
                bar.stop()

        return update

    return factory


def reader_choice(reader: str) -> bool | None:
    """``--reader`` as traffic()'s ``compiled``."""
    return {"auto": None, "compiled": True, "frame": False}[reader]


@click.command("traffic")
@click.argument("inputs", nargs=-1, required=True)
@click.option("--device", "devices", multiple=True, metavar="ADDR",
              help="The device's address (repeatable); default: the side that opened each flow.")
@click.option("--format", "fmt", type=click.Choice(formats("traffic")), default=None,
              help="table (default), json (ipowner.traffic/3), jsonl, csv, tsv, parquet (a flow table, one row "
                   "per device-destination pair; to a file only); with -o, taken from the file's suffix.")
@output_option
@click.option("--bucket", type=float, default=DEFAULT_BUCKET, show_default=True, help="Timeline bucket in seconds (JSON).")
@click.option("--column", "columns", multiple=True, metavar="ROLE=NAME",
              help="For generic CSV input: which column holds address, device, port, proto, bytes_sent, "
                   "bytes_received, packets_sent, packets_received, first_seen, last_seen, hostname, app.")
@click.option("--timeline/--no-timeline", default=True, help="Include the per-destination timeline in JSON.")
@click.option("--stream", is_flag=True,
              help="With Parquet: write one row per connection record of Zeek logs and CSV as it is read, "
                   "holding no flows in memory (rows of one pair repeat; captures cannot be streamed).")
@click.option("--reader", type=click.Choice(READERS), default="auto", hidden=True,
              help="Capture reader: the compiled core, the per-frame walker (pure Python), or auto (the compiled "
                   "core when it is available); both give the same result (for benchmarks and checks).")
@verbosity_options
def traffic_cmd(inputs: tuple[str, ...], devices: tuple[str, ...], fmt: str | None, output: str | None, bucket: float,
                columns: tuple[str, ...], timeline: bool, stream: bool, reader: str) -> None:
    """Destinations in packet captures and connection logs: flows, bytes up and down, hostnames.

    \b
    INPUT is a pcap/pcapng capture, a Zeek conn/dns/ssl/http log (TSV or JSON lines), a PCAPdroid
    connections CSV, a generic CSV, or any text with addresses in it; the format is found from the
    content. `-` reads standard input. Nothing is looked up.

    \b
    Bytes: for captures, frame lengths on the wire as originally captured (link header included,
    like Wireshark's frame.len); for logs, IP-level counts. Every output says which. CSV and TSV hold
    one row per destination; with -o FILE.csv the per-device and per-app rollups and the inputs go to
    FILE.rollups.csv and FILE.sources.csv. Parquet (-o FILE.parquet) holds one row per device,
    destination and app, with counters, ports and hostnames (docs/tables.md); --stream writes a row per
    log record instead, for logs of any size.
    """
    from ipowner.capture.formats.csv import ROLES

    fmt = pick_format(fmt, output, "traffic")
    colmap: dict[str, str] = {}
    for c in columns:
        role, sep, name = c.partition("=")
        if not sep or role not in ROLES or not name:
            raise click.BadParameter(f"{c!r}: expected ROLE=NAME with ROLE one of {', '.join(ROLES)}",
                                     param_hint="--column")
        colmap[role] = name
    if stream:
        if fmt != "parquet":
            raise UsageError("--stream writes Parquet rows: give -o FILE.parquet")
        _stream(inputs, devices, colmap, output)
        return
    if fmt == "jsonl":  # a line per destination, each built as it is written: no record per destination held
        from ipowner.render.traffic_json import write_traffic_jsonl_rows

        with few_collections():
            result, rows = read_traffic_rows(inputs, device=list(devices), bucket=bucket, columns=colmap or None,
                                             progress=_progress_factory(), compiled=reader_choice(reader))
            with output_stream(output) as out:
                write_traffic_jsonl_rows(result, rows, out)
    else:
        with few_collections():
            # only the JSON document holds the timeline: no other format pays the memory for it
            result = run_traffic(inputs, device=list(devices), bucket=bucket, columns=colmap or None,
                                 progress=_progress_factory(), compiled=reader_choice(reader),
                                 timeline=timeline and fmt == "json", pairs=fmt == "parquet")
        write_output(result, fmt, output, kind="traffic")
    for w in result.warnings:
        note(f"warning: {w}")
    for i in result.inputs:
        for w in i.warnings:
            note(w)
    # no input read at all: 1 (the document still says why, per input); some not read or partly: 4
    code = ExitCode.FAILURE if nothing_read(result.inputs) else ExitCode.PARTIAL if result.partial else ExitCode.OK
    # exit through the context so the code survives click's standalone mode too
    click.get_current_context().exit(int(code))


def _stream(inputs: tuple[str, ...], devices: tuple[str, ...], colmap: dict[str, str], output: str | None) -> None:
    """``--stream``: log records straight into Parquet rows, a row group per batch."""
    from ipowner.capture.flowstream import stream_flows
    from ipowner.model.kinds import ByteKind
    from ipowner.render.traffic_parquet import FlowTableWriter

    with binary_output(output, "parquet") as out, FlowTableWriter(out, byte_kind=ByteKind.IP) as writer:
        infos = stream_flows(inputs, writer.write, device=list(devices), columns=colmap or None)
    detail_line(f"wrote {output}: {writer.rows} rows")
    for i in infos:
        for w in i.warnings:
            note(w)
    click.get_current_context().exit(int(ExitCode.PARTIAL if any(i.partial for i in infos) else ExitCode.OK))
