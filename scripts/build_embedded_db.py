#!/usr/bin/env python3
"""Build ipowner's embedded default database (data/ipowner-embedded.mmdb.xz + .json).

Inputs (CC BY 4.0, fetched with `npm pack` into a cache folder, never committed):
  @ip-location-db/asn           ASN + AS organisation (RouteViews > NRO/RIR > DB-IP ASN Lite)
  @ip-location-db/dbip-country  DB-IP IP to Country Lite: where an address is believed to be
  @ip-location-db/asn-country   NRO/RIR delegation statistics: where the block is registered

The build itself (input checks, what is dropped and why, the GeoIP2-shaped records) is
ipowner.datasets.embedded_build, the code `ipowner data update` rebuilds the database with in the user
data folder; this script fetches the packages with `npm pack` and writes data/.

The registry table (data/ipowner-delegations.tsv.xz: which registry delegated each block, from the RIRs'
delegation statistics) is a file of its own, built from a folder of delegation files (the newest per
registry is used; see ipowner.datasets.registry_table). `--delegations DIR` builds it, alone with
`--only-delegations` (no npm needed):

Usage:  python scripts/build_embedded_db.py [--cache DIR] [--out data]   (needs npm)
        python scripts/build_embedded_db.py --only-delegations --delegations DIR [--out data]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ipowner.datasets.embedded_build import (
    MMDB_NAME,
    SOURCES,
    LoadedSource,
    SourceSpec,
    build,
    compress,
    load_package,
)
from ipowner.datasets.npm import MAX_TARBALL_BYTES
from ipowner.errors import IpownerError


def fetch(spec: SourceSpec, cache: Path, version: str | None = None) -> Path:
    """`npm pack` the package into ``cache`` (reused when already there); returns the tarball."""
    cache.mkdir(parents=True, exist_ok=True)
    want = f"{spec.package}@{version}" if version else spec.package
    try:
        out = subprocess.run(
            ["npm", "pack", want, "--json", "--pack-destination", str(cache)],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError as exc:
        raise SystemExit("npm not found: the build fetches its inputs with `npm pack`") from exc
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["no message"])[-1]
        raise SystemExit(f"npm pack {want} failed: {last}")
    info = json.loads(out.stdout)[0]
    return cache / info["filename"]


def load_tarball(spec: SourceSpec, tarball: Path) -> LoadedSource:
    """The source's rows from an npm tarball, read with the checks `ipowner data update` applies."""
    with tarball.open("rb") as f:
        body = f.read(MAX_TARBALL_BYTES + 1)
    try:
        return load_package(spec, body, str(tarball))
    except IpownerError as exc:
        raise SystemExit(str(exc)) from exc


def build_delegations(folder: Path, out: Path) -> None:
    """The registry table from ``folder`` into ``out``/ipowner-delegations.tsv.xz (atomically)."""
    from ipowner.datasets.registry_table import build_table_file
    from ipowner.reference.delegation_table import TABLE_NAME

    t0 = time.monotonic()
    result = build_table_file(folder, out / TABLE_NAME)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    used = ", ".join(f"{f['registry']} {f['name']} ({f['date']})" for f in result.files)
    print(f"registry table: {used}; ranges {result.ranges}; {time.monotonic() - t0:.1f}s; "
          f"xz {(out / TABLE_NAME).stat().st_size / 1e6:.2f} MB", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "ipowner-npm-cache",
                    help="where npm tarballs are kept between builds (default: %(default)s)")
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "data")
    ap.add_argument("--version", action="append", default=[], metavar="PACKAGE=VERSION",
                    help="pin a package version, e.g. @ip-location-db/asn=2.3.2026061719")
    ap.add_argument("--delegations", type=Path, metavar="DIR",
                    help="a folder of RIR delegation statistics: build the registry table from it")
    ap.add_argument("--only-delegations", action="store_true",
                    help="build only the registry table (with --delegations), not the .mmdb")
    args = ap.parse_args(argv)
    pins = dict(p.rsplit("=", 1) for p in args.version)
    if args.delegations is not None:
        build_delegations(args.delegations, args.out)
    elif args.only_delegations:
        ap.error("--only-delegations needs --delegations DIR")
    if args.only_delegations:
        return 0

    t0 = time.monotonic()
    loaded = []
    for spec in SOURCES:
        tarball = fetch(spec, args.cache, pins.get(spec.package))
        print(f"{spec.package}: {tarball.name}", file=sys.stderr)
        loaded.append(load_tarball(spec, tarball))
    t_fetch = time.monotonic() - t0

    with tempfile.TemporaryDirectory() as tmp:
        mmdb = Path(tmp) / MMDB_NAME
        meta = build(loaded, mmdb)
        t_build = time.monotonic() - t0 - t_fetch
        xz = args.out / f"{MMDB_NAME}.xz"
        tmp_xz = xz.with_suffix(".xz.tmp")
        compress(mmdb, tmp_xz)
        os.replace(tmp_xz, xz)
    meta["xz_size"] = xz.stat().st_size
    (args.out / "ipowner-embedded.json").write_text(json.dumps(meta, indent=2, sort_keys=False) + "\n")
    print(
        f"fetch+read {t_fetch:.1f}s, build {t_build:.1f}s, total {time.monotonic() - t0:.1f}s; "
        f"mmdb {meta['mmdb_size'] / 1e6:.1f} MB, xz {meta['xz_size'] / 1e6:.1f} MB; counts {meta['counts']}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
