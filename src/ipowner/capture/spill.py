"""Names spilled to disk: what the engine learnt about addresses past its memory budget.

DNS answers can name millions of addresses that are never contacted. Past ``Budget.named`` addresses
with names in memory, the engine moves the oldest half here: a temporary SQLite file (deleted on close,
never in the cache folder), read back for the addresses that turn out to be destinations. Names keep the
order they were learnt in.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator

SpilledName = tuple[str, str, str, str | None]  # (address, name, source, concealment)

_BATCH = 4096  # destination addresses asked at a time


class NameSpill:
    """A temporary table of (address, name, source, concealment), appended to and read back by address."""

    def __init__(self) -> None:
        fd, self.path = tempfile.mkstemp(prefix="ipowner-names-", suffix=".sqlite")
        os.close(fd)
        self.db = sqlite3.connect(self.path)
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        self.db.execute("CREATE TABLE names (address TEXT NOT NULL, name TEXT NOT NULL, source TEXT NOT NULL, "
                        "concealment TEXT)")
        self.rows = 0
        self.addresses = 0
        self.indexed = False

    def add(self, names: Iterable[SpilledName], addresses: int) -> None:
        """Append names of ``addresses`` addresses (they are no longer held in memory)."""
        before = self.db.total_changes
        self.db.executemany("INSERT INTO names VALUES (?, ?, ?, ?)", names)
        self.rows += self.db.total_changes - before
        self.addresses += addresses
        self.indexed = False

    def names_of(self, addresses: Iterable[str]) -> Iterator[SpilledName]:
        """Every spilled name of the given addresses, in the order each address learnt them."""
        if not self.indexed:
            self.db.execute("CREATE INDEX IF NOT EXISTS by_address ON names (address)")
            self.indexed = True
        batch: list[str] = []
        for a in addresses:
            batch.append(a)
            if len(batch) == _BATCH:
                yield from self._query(batch)
                batch = []
        if batch:
            yield from self._query(batch)

    def _query(self, batch: list[str]) -> Iterator[SpilledName]:
        marks = ",".join("?" * len(batch))
        yield from self.db.execute(f"SELECT address, name, source, concealment FROM names WHERE address IN ({marks}) "
                                   "ORDER BY rowid", batch)

    def close(self) -> None:
        self.db.close()
        with contextlib.suppress(OSError):
            os.unlink(self.path)
