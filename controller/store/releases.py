"""Releases and their timelines.

A release changes phase only through ``transition``, which checks the move
against the phase machine; every change and every note becomes one line of
the release's timeline in the same transaction. A listener, when the store
is given one, hears of every line once its transaction has committed.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
from pathlib import Path
from typing import Protocol

from controller.phases import Phase, check_transition
from controller.spec import ServiceSpec
from controller.store.base import StoreBase
from controller.store.records import (
    EventRecord,
    ReleaseRecord,
    event_from_row,
    now,
    release_from_row,
)
from proxy.routes import Color

log = logging.getLogger(__name__)


class TimelineListener(Protocol):
    """Told of every line added to a release's timeline, after it is stored."""

    def __call__(
        self, service: str, release_id: str, line: EventRecord, *, changed: bool
    ) -> None:
        """``changed`` says whether the line is a phase change or a note."""


class ReleaseTables(StoreBase):
    """The store's releases and events tables."""

    def __init__(self, path: Path, listener: TimelineListener | None = None) -> None:
        super().__init__(path)
        self._listener = listener

    # Writes -----------------------------------------------------------------

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
        line = EventRecord(stamp, Phase.PENDING, actor, reason)
        self._tell(spec.name, release_id, line, changed=True)
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
                "SELECT phase, service FROM releases WHERE id = ?", (release_id,)
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
        line = EventRecord(stamp, phase, actor, reason)
        self._tell(row["service"], release_id, line, changed=True)
        found = self.release(release_id)
        assert found is not None
        return found

    def note(self, release_id: str, actor: str, reason: str) -> None:
        """Add a line to a release's timeline without changing its phase."""
        stamp = now()
        with self._tx() as db:
            phase, service = db.execute(
                "SELECT phase, service FROM releases WHERE id = ?", (release_id,)
            ).fetchone()
            _add_event(db, release_id, stamp, Phase(phase), actor, reason)
        line = EventRecord(stamp, Phase(phase), actor, reason)
        self._tell(service, release_id, line, changed=False)

    def _tell(
        self, service: str, release_id: str, line: EventRecord, *, changed: bool
    ) -> None:
        """Hand a stored line to the listener; its failure never undoes the write."""
        if self._listener is None:
            return
        try:
            self._listener(service, release_id, line, changed=changed)
        except Exception:
            log.exception("the timeline listener failed on release %s", release_id)

    # Reads ------------------------------------------------------------------

    def release(self, release_id: str) -> ReleaseRecord | None:
        """One release, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM releases WHERE id = ?", (release_id,)
            ).fetchone()
        return release_from_row(row) if row else None

    def release_by_key(self, service: str, key: str) -> ReleaseRecord | None:
        """The release created with an idempotency key, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM releases WHERE service = ? AND idempotency_key = ?",
                (service, key),
            ).fetchone()
        return release_from_row(row) if row else None

    def last_superseded(self, service: str) -> ReleaseRecord | None:
        """The newest release that was live before the current one."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM releases WHERE service = ? AND phase = ? "
                "ORDER BY number DESC LIMIT 1",
                (service, Phase.SUPERSEDED.value),
            ).fetchone()
        return release_from_row(row) if row else None

    def releases(self, service: str, limit: int = 50) -> list[ReleaseRecord]:
        """A service's releases, newest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM releases WHERE service = ? ORDER BY number DESC LIMIT ?",
                (service, limit),
            ).fetchall()
        return [release_from_row(row) for row in rows]

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
        return release_from_row(row) if row else None

    def timeline(self, release_id: str) -> list[EventRecord]:
        """Every phase change and note of a release, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT at, phase, actor, reason FROM events "
                "WHERE release_id = ? ORDER BY id",
                (release_id,),
            ).fetchall()
        return [event_from_row(row) for row in rows]


def _add_event(
    db: sqlite3.Connection,
    release_id: str,
    stamp: str,
    phase: Phase,
    actor: str,
    reason: str,
) -> None:
    """Append one line to a release's timeline inside the caller's transaction."""
    db.execute(
        "INSERT INTO events (release_id, at, phase, actor, reason) "
        "VALUES (?, ?, ?, ?, ?)",
        (release_id, stamp, phase.value, actor, reason),
    )
