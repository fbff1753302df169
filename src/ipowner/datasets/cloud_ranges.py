"""The cloud snapshot: the providers' published range files compiled into one dated file.

``CLOUD_INPUTS`` names each input (publisher URL, file name); ``build_cloud_snapshot(inputs_dir, out_path)``
reads those present in a folder through the format parsers and overlap rules of ``reference.cloud_files``,
and writes ``cloud-ranges.json.xz`` (format ``ipowner.cloud-ranges/1``, read by ``reference.cloud``):

    {"format", "built", "sources": [{id, kind, provider, publisher, name, url, file, date, date_basis,
     sha256, prefixes, skipped, note}], "ranges": [[source index, prefix, region, service, country, city]]}

A source's ``date`` is the file's own date field where it has one, else the date given for it (``dates``),
else the file's modification time (a fetched file: when it was fetched). The snapshot is written to a
temporary file and renamed, so a failed build leaves the previous one in place.

Lists that providers do not publish (Alibaba, Tencent, Huawei) are not inputs: those providers are
recognised from the embedded AS data, "inferred from routing", naming the AS numbers.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from ipowner.errors import InputError
from ipowner.reference.cloud_files import (
    MAX_FILE_BYTES,
    PUBLISHERS,
    CloudFile,
    CloudFileError,
    google_own_space,
    parse_cloud_file,
    source_key,
)

SNAPSHOT_FORMAT = "ipowner.cloud-ranges/1"
SNAPSHOT_NAME = "cloud-ranges.json.xz"


@dataclass(frozen=True, slots=True)
class CloudInput:
    """One publisher's range file: where it is published and the file name it is kept under."""

    name: str  # "aws", "google-cloud", ...
    url: str  # the publisher's URL
    filename: str  # the file name in an inputs folder (a ``.xz`` copy is read too)
    note: str = ""  # how the URL is used, where it is not the file itself


CLOUD_INPUTS: tuple[CloudInput, ...] = (
    CloudInput("aws", "https://ip-ranges.amazonaws.com/ip-ranges.json", "ip-ranges.json"),
    CloudInput("google-cloud", "https://www.gstatic.com/ipranges/cloud.json", "cloud.json"),
    CloudInput("google", "https://www.gstatic.com/ipranges/goog.json", "goog.json"),
    CloudInput("azure", "https://www.microsoft.com/en-us/download/details.aspx?id=56519", "ServiceTags_Public.json",
               note="the download page; the weekly file it links to is ServiceTags_Public_<YYYYMMDD>.json"),
    CloudInput("oracle", "https://docs.oracle.com/iaas/tools/public_ip_ranges.json", "public_ip_ranges.json"),
    CloudInput("digitalocean", "https://digitalocean.com/geo/google.csv", "geo.csv"),
    CloudInput("cloudflare-v4", "https://www.cloudflare.com/ips-v4", "ips-v4"),
    CloudInput("cloudflare-v6", "https://www.cloudflare.com/ips-v6", "ips-v6"),
    CloudInput("fastly", "https://api.fastly.com/public-ip-list", "public-ip-list"),
)


@dataclass(slots=True)
class CloudSnapshotSummary:
    """What a build wrote: ``ranges`` in all, ``sources`` as "name date" lines, and what it could not use."""

    ranges: int
    sources: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # inputs not in the folder
    refused: list[str] = field(default_factory=list)  # "name: reason" for inputs that could not be read
    path: Path | None = None


def _read(path: Path) -> bytes:
    """The file's bytes (``.xz`` unpacked), bounded."""
    if path.suffix == ".xz":
        with lzma.open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    else:
        with path.open("rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    return data


def _find(inputs_dir: Path, inp: CloudInput) -> Path | None:
    for candidate in (inputs_dir / inp.filename, inputs_dir / (inp.filename + ".xz")):
        if candidate.is_file():
            return candidate
    return None


def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if dt is not None else None


def build_cloud_snapshot(inputs_dir: Path, out_path: Path, *, dates: Mapping[str, date] | None = None,
                         built: datetime | None = None) -> CloudSnapshotSummary:
    """Compile the range files of ``CLOUD_INPUTS`` found in ``inputs_dir`` into the snapshot ``out_path``.

    ``dates``: input name -> the file's date, for files without a date field of their own. Raises
    ``InputError`` when no input could be used (the previous snapshot is kept).
    """
    inputs_dir, out_path = Path(inputs_dir), Path(out_path)
    summary = CloudSnapshotSummary(ranges=0, path=out_path)
    parsed: list[tuple[CloudInput, CloudFile, str, datetime | None, str | None]] = []
    for inp in CLOUD_INPUTS:
        path = _find(inputs_dir, inp)
        if path is None:
            summary.missing.append(inp.name)
            continue
        try:
            data = _read(path)
            got = parse_cloud_file(data, inp.filename)
        except (OSError, lzma.LZMAError, EOFError) as exc:
            summary.refused.append(f"{inp.name}: cannot read {path.name} ({exc})")
            continue
        except CloudFileError as exc:
            summary.refused.append(f"{inp.name}: {path.name}: {exc}")
            continue
        when, basis = got.date, got.date_field
        if when is None and dates and inp.name in dates:
            d = dates[inp.name]
            when, basis = datetime(d.year, d.month, d.day, tzinfo=UTC), "publication date recorded with the copy"
        elif when is None:
            when, basis = datetime.fromtimestamp(path.stat().st_mtime, UTC), "file time (when it was fetched)"
        parsed.append((inp, got, hashlib.sha256(data).hexdigest(), when, basis))

    by_name = {inp.name: got for inp, got, *_ in parsed}
    sources: list[dict[str, Any]] = []
    rows: list[list[Any]] = []
    for inp, got, digest, when, basis in parsed:
        prefixes = got.prefixes
        if inp.name == "google":
            cloud = by_name.get("google-cloud")
            if cloud is None:
                summary.refused.append("google: goog.json needs cloud.json beside it (Google's own space is "
                                       "goog.json minus cloud.json)")
                continue
            prefixes = google_own_space(got, cloud)
        index = len(sources)
        sources.append({
            "id": f"ranges:{source_key(inp.name) if inp.name.startswith('google') else inp.name}",
            "kind": got.kind,
            "provider": got.provider,
            "publisher": PUBLISHERS[got.kind],
            "name": got.label,
            "url": inp.url,
            "file": inp.filename,
            "date": _iso(when),
            "date_basis": basis,
            "sha256": digest,
            "prefixes": len(prefixes),
            "skipped": got.skipped,
            "note": got.note,
        })
        for p in sorted(prefixes, key=lambda p: p.prefix):
            rows.append([index, p.prefix, p.region, p.service, p.country, p.city])
        summary.sources.append(f"{inp.name} {when.date().isoformat() if when else 'undated'}")
    if not rows:
        raise InputError(str(inputs_dir), "no cloud range file could be used: "
                         + "; ".join(summary.refused or [f"none of {', '.join(i.filename for i in CLOUD_INPUTS)}"]))
    doc = {
        "format": SNAPSHOT_FORMAT,
        "built": _iso(built or datetime.now(UTC)),
        "sources": sources,
        "ranges": rows,
    }
    payload = json.dumps(doc, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".cloud-ranges-", dir=out_path.parent)
    try:
        with os.fdopen(fd, "wb") as raw, lzma.open(raw, "wb", preset=9 | lzma.PRESET_EXTREME) as out:
            out.write(payload)
        os.replace(tmp, out_path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    summary.ranges = len(rows)
    return summary


__all__ = ["CLOUD_INPUTS", "SNAPSHOT_FORMAT", "SNAPSHOT_NAME", "CloudInput", "CloudSnapshotSummary",
           "build_cloud_snapshot"]
