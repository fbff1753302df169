"""``ipowner diff --format tsv``: the change rows of every other diff format, tab-separated."""

from __future__ import annotations

from typing import TextIO

from ipowner.model.diff import COLUMNS, Diff
from ipowner.render.csv import write_csv
from ipowner.render.diff import rows


def write_diff_tsv(diff: Diff, stream: TextIO) -> None:
    write_csv(COLUMNS, ([r[c] for c in COLUMNS] for r in rows(diff)), stream, dialect="tsv")
