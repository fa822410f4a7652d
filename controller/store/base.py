"""The one connection every part of the store shares, and its transactions.

Every write is a short transaction that commits before the caller acts on
it, so a controller killed at any point finds on restart exactly what it had
decided so far. One lock serialises reads and writes on the connection.
"""

from __future__ import annotations

import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from controller.store.schema import open_database


class StoreBase:
    """An open store file: its connection, its lock and its identity."""

    def __init__(self, path: Path) -> None:
        self._lock = threading.Lock()
        self._db = open_database(path)

    def controller_id(self) -> str:
        """This store's controller identity, made on first use and then kept."""
        with self._tx() as db:
            row = db.execute(
                "SELECT value FROM meta WHERE key = 'controller'"
            ).fetchone()
            if row is not None:
                return str(row["value"])
            made = secrets.token_hex(6)
            db.execute("INSERT INTO meta VALUES ('controller', ?)", (made,))
            return made

    def close(self) -> None:
        """Close the database file."""
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """Hold the lock for one transaction; roll it back if the body raises."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
