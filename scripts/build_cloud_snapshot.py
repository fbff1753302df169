"""Build data/cloud-ranges.json.xz from a folder of the providers' published range files.

    python scripts/build_cloud_snapshot.py [INPUTS_DIR] [--out data/cloud-ranges.json.xz]

The default folder is the dated copy the shipped snapshot was built from. Files without a date field of
their own get the date recorded with the copy (its README): DATES below.
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from ipowner.datasets.cloud_ranges import SNAPSHOT_NAME, build_cloud_snapshot

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_INPUTS = Path("/work/shared/realdata/cloud/2026-08-22")

# The last change of each undated file, as its copy's README records it.
DATES = {
    "azure": date(2026, 4, 30),  # ServiceTags_Public.json, changeNumber 398
    "cloudflare-v4": date(2026, 5, 6),
    "cloudflare-v6": date(2026, 5, 6),
    "digitalocean": date(2025, 7, 22),
    "fastly": date(2024, 10, 8),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("inputs", nargs="?", type=Path, default=DEFAULT_INPUTS)
    ap.add_argument("--out", type=Path, default=ROOT / "data" / SNAPSHOT_NAME)
    args = ap.parse_args(argv)
    summary = build_cloud_snapshot(args.inputs, args.out, dates=DATES)
    print(f"{args.out}: {summary.ranges} ranges from {', '.join(summary.sources)}")
    for line in summary.refused:
        print(f"not used: {line}", file=sys.stderr)
    if summary.missing:
        print(f"not in the folder: {', '.join(summary.missing)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
