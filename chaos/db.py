"""The chaos module's tables, kept in the controller's SQLite file.

Each part (the ledger, the journals, the schedules) declares its own tables
and opens its own ``Database`` on the same file; SQLite's write-ahead log
lets them and the controller's store write side by side.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path


def utc_now() -> str:
    """The current time as ISO 8601 in UTC, as every chaos table stores it."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Database:
    """One connection to the SQLite file with short write transactions."""

    def __init__(self, path: Path, schema: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA busy_timeout=10000")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(schema)

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that commits when the block ends without error."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def query(self, sql: str, *args: object) -> list[sqlite3.Row]:
        """Rows of one read."""
        with self._lock:
            return list(self._db.execute(sql, args))

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()
