"""The controller's state in one SQLite file.

Every write is a short transaction that commits before the caller acts on
it, so a controller killed at any point finds on restart exactly what it had
decided so far.
"""

from __future__ import annotations

import json
import logging
import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from controller.phases import Phase, check_transition
from controller.spec import ServiceSpec
from proxy.routes import Address, Color

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


def now() -> str:
    """The current time as ISO 8601 in UTC, to the millisecond."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class ServiceRecord:
    """A registered service and which colour is live."""

    spec: ServiceSpec
    live_color: Color | None
    created_at: str
    updated_at: str

    @property
    def name(self) -> str:
        """The service's name."""
        return self.spec.name


@dataclass(frozen=True)
class SlotRecord:
    """What one colour of a service holds: a release and its replicas."""

    service: str
    color: Color
    release_id: str | None
    replicas: tuple[tuple[str, Address], ...]  # (container id, address)
    standby_until: float | None = None  # epoch seconds; retired after it

    @property
    def addresses(self) -> tuple[Address, ...]:
        """Where the proxy reaches this colour's replicas."""
        return tuple(address for _, address in self.replicas)


@dataclass(frozen=True)
class ReleaseRecord:
    """One release of a service, as stored."""

    id: str
    service: str
    number: int
    image_ref: str
    image_id: str
    color: Color
    phase: Phase
    reason: str
    spec: ServiceSpec
    created_by: str
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class EventRecord:
    """One step of a release's timeline."""

    at: str
    phase: Phase
    actor: str
    reason: str


@dataclass(frozen=True)
class AuditRecord:
    """One mutating request, allowed or refused, as the audit log keeps it."""

    at: str
    actor: str  # the token's name, or "anonymous"
    method: str
    path: str
    service: str | None
    release_id: str | None
    status: int
    outcome: str
    id: int = 0  # given by the store


class Store:
    """Services, colour slots, releases, timelines and the audit log in SQLite."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Add the columns a store made by an earlier version lacks."""
        for table, column, kind in ADDED_COLUMNS:
            names = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            if column not in names:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
                log.info("store: added column %s.%s", table, column)
        self._db.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS releases_by_key ON "
            "releases(service, idempotency_key) WHERE idempotency_key IS NOT NULL"
        )

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
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # Services ---------------------------------------------------------------

    def put_service(self, spec: ServiceSpec) -> bool:
        """Register or update a service; True when it is new."""
        stamp = now()
        with self._tx() as db:
            found = db.execute(
                "SELECT 1 FROM services WHERE name = ?", (spec.name,)
            ).fetchone()
            if found:
                db.execute(
                    "UPDATE services SET spec = ?, updated_at = ? WHERE name = ?",
                    (spec.model_dump_json(), stamp, spec.name),
                )
                return False
            db.execute(
                "INSERT INTO services VALUES (?, ?, NULL, ?, ?)",
                (spec.name, spec.model_dump_json(), stamp, stamp),
            )
            for color in Color:
                db.execute(
                    "INSERT INTO slots (service, color) VALUES (?, ?)",
                    (spec.name, color.value),
                )
            return True

    def service(self, name: str) -> ServiceRecord | None:
        """One service, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM services WHERE name = ?", (name,)
            ).fetchone()
        return _service(row) if row else None

    def services(self) -> list[ServiceRecord]:
        """Every service, by name."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM services ORDER BY name").fetchall()
        return [_service(row) for row in rows]

    def delete_service(self, name: str) -> None:
        """Forget a service that has no releases (undoing a failed register)."""
        with self._tx() as db:
            db.execute("DELETE FROM slots WHERE service = ?", (name,))
            db.execute("DELETE FROM services WHERE name = ?", (name,))

    def set_live(self, service: str, color: Color | None) -> None:
        """Record which colour the live frontend serves."""
        with self._tx() as db:
            db.execute(
                "UPDATE services SET live_color = ?, updated_at = ? WHERE name = ?",
                (color.value if color else None, now(), service),
            )

    # Slots ------------------------------------------------------------------

    def slot(self, service: str, color: Color) -> SlotRecord:
        """What one colour of a service holds."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM slots WHERE service = ? AND color = ?",
                (service, color.value),
            ).fetchone()
        if row is None:
            return SlotRecord(service, color, None, ())
        return _slot(row)

    def set_slot(
        self,
        service: str,
        color: Color,
        release_id: str | None,
        replicas: tuple[tuple[str, Address], ...] = (),
    ) -> None:
        """Record the release and replicas one colour holds."""
        encoded = json.dumps(
            [[cid, address.host, address.port] for cid, address in replicas]
        )
        with self._tx() as db:
            db.execute(
                "UPDATE slots SET release_id = ?, replicas = ?, standby_until = NULL "
                "WHERE service = ? AND color = ?",
                (release_id, encoded, service, color.value),
            )

    def set_replica_address(
        self, service: str, color: Color, container_id: str, address: Address
    ) -> bool:
        """Move one replica of a slot to a new address; False if nothing changed.

        Only that replica's entry changes: the slot keeps its release, its
        other replicas and its standby window.
        """
        with self._tx() as db:
            row = db.execute(
                "SELECT replicas FROM slots WHERE service = ? AND color = ?",
                (service, color.value),
            ).fetchone()
            if row is None:
                return False
            entries = json.loads(row["replicas"])
            moved = [
                [container_id, address.host, address.port]
                if entry[0] == container_id
                else entry
                for entry in entries
            ]
            if moved == entries:
                return False
            db.execute(
                "UPDATE slots SET replicas = ? WHERE service = ? AND color = ?",
                (json.dumps(moved), service, color.value),
            )
            return True

    def set_standby(self, service: str, color: Color, until: float | None) -> None:
        """Keep a colour warm until ``until`` (epoch seconds), or forever."""
        with self._tx() as db:
            db.execute(
                "UPDATE slots SET standby_until = ? WHERE service = ? AND color = ?",
                (until, service, color.value),
            )

    def expired_standbys(self, now_epoch: float) -> list[SlotRecord]:
        """Colours whose standby window has passed."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM slots WHERE standby_until IS NOT NULL "
                "AND standby_until <= ?",
                (now_epoch,),
            ).fetchall()
        return [_slot(row) for row in rows]

    # Releases ---------------------------------------------------------------

    def create_release(
        self,
        spec: ServiceSpec,
        image_ref: str,
        image_id: str,
        color: Color,
        actor: str,
        reason: str,
        idempotency_key: str | None = None,
    ) -> ReleaseRecord:
        """Store a new Pending release with the first line of its timeline."""
        stamp = now()
        release_id = secrets.token_hex(4)
        with self._tx() as db:
            (number,) = db.execute(
                "SELECT COALESCE(MAX(number), 0) + 1 FROM releases WHERE service = ?",
                (spec.name,),
            ).fetchone()
            db.execute(
                "INSERT INTO releases VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    release_id,
                    spec.name,
                    number,
                    image_ref,
                    image_id,
                    color.value,
                    Phase.PENDING.value,
                    reason,
                    spec.model_dump_json(),
                    actor,
                    stamp,
                    stamp,
                    idempotency_key,
                ),
            )
            _add_event(db, release_id, stamp, Phase.PENDING, actor, reason)
        found = self.release(release_id)
        assert found is not None  # written in the transaction above
        return found

    def transition(
        self, release_id: str, phase: Phase, actor: str, reason: str
    ) -> ReleaseRecord:
        """Move a release to ``phase`` and log it; IllegalTransition if not allowed."""
        stamp = now()
        with self._tx() as db:
            row = db.execute(
                "SELECT phase FROM releases WHERE id = ?", (release_id,)
            ).fetchone()
            if row is None:
                raise KeyError(release_id)
            check_transition(release_id, Phase(row["phase"]), phase)
            db.execute(
                "UPDATE releases SET phase = ?, reason = ?, updated_at = ? "
                "WHERE id = ?",
                (phase.value, reason, stamp, release_id),
            )
            _add_event(db, release_id, stamp, phase, actor, reason)
        found = self.release(release_id)
        assert found is not None
        return found

    def note(self, release_id: str, actor: str, reason: str) -> None:
        """Add a line to a release's timeline without changing its phase."""
        with self._tx() as db:
            (phase,) = db.execute(
                "SELECT phase FROM releases WHERE id = ?", (release_id,)
            ).fetchone()
            _add_event(db, release_id, now(), Phase(phase), actor, reason)

    def release(self, release_id: str) -> ReleaseRecord | None:
        """One release, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM releases WHERE id = ?", (release_id,)
            ).fetchone()
        return _release(row) if row else None

    def release_by_key(self, service: str, key: str) -> ReleaseRecord | None:
        """The release created with an idempotency key, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM releases WHERE service = ? AND idempotency_key = ?",
                (service, key),
            ).fetchone()
        return _release(row) if row else None

    def last_superseded(self, service: str) -> ReleaseRecord | None:
        """The newest release that was live before the current one."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM releases WHERE service = ? AND phase = ? "
                "ORDER BY number DESC LIMIT 1",
                (service, Phase.SUPERSEDED.value),
            ).fetchone()
        return _release(row) if row else None

    def releases(self, service: str, limit: int = 50) -> list[ReleaseRecord]:
        """A service's releases, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM releases WHERE service = ? ORDER BY number DESC LIMIT ?",
                (service, limit),
            ).fetchall()
        return [_release(row) for row in rows]

    def in_flight(self, service: str) -> ReleaseRecord | None:
        """The release of a service that has not finished, if any."""
        phases = [phase.value for phase in Phase if phase.is_in_flight]
        marks = ",".join("?" * len(phases))
        with self._lock:
            row = self._db.execute(
                f"SELECT * FROM releases WHERE service = ? AND phase IN ({marks}) "
                "ORDER BY number DESC LIMIT 1",
                (service, *phases),
            ).fetchone()
        return _release(row) if row else None

    def timeline(self, release_id: str) -> list[EventRecord]:
        """Every phase change and note of a release, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT at, phase, actor, reason FROM events "
                "WHERE release_id = ? ORDER BY id",
                (release_id,),
            ).fetchall()
        return [
            EventRecord(row["at"], Phase(row["phase"]), row["actor"], row["reason"])
            for row in rows
        ]

    # Audit log ---------------------------------------------------------------

    def add_audit(self, record: AuditRecord) -> None:
        """Append one request to the audit log."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO audit (at, actor, method, path, service, release_id, "
                "status, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.at,
                    record.actor,
                    record.method,
                    record.path,
                    record.service,
                    record.release_id,
                    record.status,
                    record.outcome,
                ),
            )

    def audit(
        self, service: str | None = None, actor: str | None = None, limit: int = 100
    ) -> list[AuditRecord]:
        """The newest requests of the audit log, optionally of one service or actor."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM audit WHERE (? IS NULL OR service = ?) "
                "AND (? IS NULL OR actor = ?) ORDER BY id DESC LIMIT ?",
                (service, service, actor, actor, limit),
            ).fetchall()
        return [_audit(row) for row in rows]


def _add_event(
    db: sqlite3.Connection,
    release_id: str,
    stamp: str,
    phase: Phase,
    actor: str,
    reason: str,
) -> None:
    db.execute(
        "INSERT INTO events (release_id, at, phase, actor, reason) "
        "VALUES (?, ?, ?, ?, ?)",
        (release_id, stamp, phase.value, actor, reason),
    )


def _service(row: sqlite3.Row) -> ServiceRecord:
    live = row["live_color"]
    return ServiceRecord(
        spec=ServiceSpec.model_validate_json(row["spec"]),
        live_color=Color(live) if live else None,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _slot(row: sqlite3.Row) -> SlotRecord:
    replicas = tuple(
        (cid, Address(host, int(port)))
        for cid, host, port in json.loads(row["replicas"])
    )
    return SlotRecord(
        row["service"],
        Color(row["color"]),
        row["release_id"],
        replicas,
        row["standby_until"],
    )


def _release(row: sqlite3.Row) -> ReleaseRecord:
    return ReleaseRecord(
        id=row["id"],
        service=row["service"],
        number=row["number"],
        image_ref=row["image_ref"],
        image_id=row["image_id"],
        color=Color(row["color"]),
        phase=Phase(row["phase"]),
        reason=row["reason"],
        spec=ServiceSpec.model_validate_json(row["spec"]),
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _audit(row: sqlite3.Row) -> AuditRecord:
    return AuditRecord(
        id=row["id"],
        at=row["at"],
        actor=row["actor"],
        method=row["method"],
        path=row["path"],
        service=row["service"],
        release_id=row["release_id"],
        status=row["status"],
        outcome=row["outcome"],
    )
