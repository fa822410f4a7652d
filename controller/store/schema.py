"""The store's tables, and how a file made by an earlier version catches up.

Opening a file creates whatever tables it lacks, then adds the columns
introduced since the first schema, so an old store keeps its history.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS services (
    name TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    live_color TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS slots (
    service TEXT NOT NULL REFERENCES services(name),
    color TEXT NOT NULL,
    release_id TEXT,
    replicas TEXT NOT NULL DEFAULT '[]',
    standby_until REAL,
    PRIMARY KEY (service, color)
);
CREATE TABLE IF NOT EXISTS releases (
    id TEXT PRIMARY KEY,
    service TEXT NOT NULL REFERENCES services(name),
    number INTEGER NOT NULL,
    image_ref TEXT NOT NULL,
    image_id TEXT NOT NULL,
    color TEXT NOT NULL,
    phase TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    spec TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    idempotency_key TEXT
);
CREATE INDEX IF NOT EXISTS releases_by_service ON releases(service, number);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    release_id TEXT NOT NULL REFERENCES releases(id),
    at TEXT NOT NULL,
    phase TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_release ON events(release_id, id);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    method TEXT NOT NULL,
    path TEXT NOT NULL,
    service TEXT,
    release_id TEXT,
    status INTEGER NOT NULL,
    outcome TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_by_service ON audit(service, id);
CREATE INDEX IF NOT EXISTS audit_by_actor ON audit(actor, id);
"""


# Columns added after the first schema: (table, column, type), oldest first.
ADDED_COLUMNS = (
    ("slots", "standby_until", "REAL"),
    ("releases", "idempotency_key", "TEXT"),
)


def open_database(path: Path) -> sqlite3.Connection:
    """Open (or create) the store's file with every table of this version."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA foreign_keys=ON")
    db.executescript(SCHEMA)
    migrate(db)
    return db


def migrate(db: sqlite3.Connection) -> None:
    """Add the columns a store made by an earlier version lacks."""
    for table, column, kind in ADDED_COLUMNS:
        names = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if column not in names:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
            log.info("store: added column %s.%s", table, column)
    db.execute(
        "CREATE UNIQUE INDEX IF NOT EXISTS releases_by_key ON "
        "releases(service, idempotency_key) WHERE idempotency_key IS NOT NULL"
    )
