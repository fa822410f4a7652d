"""Runs of experiments and their journals.

A run is stored when it starts and every activity when it ends, so a run
cut short by a dead controller still shows what it did; start-up marks
such a run ``interrupted``.
"""

from __future__ import annotations

import enum
import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaos.db import Database, utc_now
from chaos.ports import RUN_EVENT, Events

SCHEMA = """
CREATE TABLE IF NOT EXISTS chaos_runs (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    service TEXT NOT NULL,
    experiment TEXT NOT NULL,
    status TEXT NOT NULL,
    deviated INTEGER NOT NULL DEFAULT 0,
    reason TEXT NOT NULL DEFAULT '',
    actor TEXT NOT NULL,
    schedule_id TEXT,
    dry_run INTEGER NOT NULL DEFAULT 0,
    plan TEXT NOT NULL DEFAULT '[]',
    started_at TEXT NOT NULL,
    ended_at TEXT,
    aborted_at TEXT
);
CREATE INDEX IF NOT EXISTS chaos_runs_by_start ON chaos_runs(started_at);
CREATE TABLE IF NOT EXISTS chaos_activities (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL REFERENCES chaos_runs(id),
    stage TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    ended_at TEXT NOT NULL,
    output TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS chaos_activities_by_run ON chaos_activities(run_id, id);
"""


class RunStatus(enum.StrEnum):
    """Where a run stands; the last four are final."""

    RUNNING = "running"  # in progress
    COMPLETED = "completed"  # the method ran and the hypothesis held
    FAILED = "failed"  # an activity failed, or the hypothesis did not hold
    ABORTED = "aborted"  # stopped by a person, or by a deviation mid-method
    INTERRUPTED = "interrupted"  # the controller died while it ran

    @property
    def is_final(self) -> bool:
        """Whether the run has ended."""
        return self is not RunStatus.RUNNING


class Stage(enum.StrEnum):
    """The part of a run an activity belongs to."""

    BEFORE = "hypothesis-before"
    METHOD = "method"
    DURING = "hypothesis-during"
    AFTER = "hypothesis-after"
    ROLLBACKS = "rollbacks"


@dataclass(frozen=True)
class ActivityRecord:
    """One journal line: what ran, when, and what came of it."""

    stage: Stage
    name: str
    type: str
    status: str  # succeeded, failed, skipped
    started_at: str
    ended_at: str
    output: Any = None
    error: str | None = None


@dataclass(frozen=True)
class RunRecord:
    """A run with its verdict and, when asked for, its journal."""

    id: str
    title: str
    service: str
    experiment: dict[str, Any]
    status: RunStatus
    deviated: bool
    reason: str
    actor: str
    schedule_id: str | None
    dry_run: bool
    plan: list[dict[str, Any]]  # the exact containers and routes, resolved
    started_at: str
    ended_at: str | None
    aborted_at: str | None
    journal: list[ActivityRecord] = field(default_factory=list)


class Journal:
    """Runs and activities in the controller's SQLite file."""

    def __init__(self, path: Path, events: Events | None = None) -> None:
        self._db = Database(path, SCHEMA)
        self._events = events

    def start(
        self,
        run_id: str,
        experiment: dict[str, Any],
        actor: str,
        *,
        schedule_id: str | None = None,
        dry_run: bool = False,
    ) -> RunRecord:
        """Store a new run as running."""
        with self._db.tx() as db:
            db.execute(
                "INSERT INTO chaos_runs (id, title, service, experiment, status,"
                " actor, schedule_id, dry_run, started_at)"
                " VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    run_id,
                    experiment["title"],
                    experiment["service"],
                    json.dumps(experiment),
                    RunStatus.RUNNING.value,
                    actor,
                    schedule_id,
                    int(dry_run),
                    utc_now(),
                ),
            )
        how = "dry run" if dry_run else "run"
        text = f"{how} of {experiment['title']!r} started by {actor}"
        self._announce(experiment["service"], run_id, RunStatus.RUNNING, text)
        return self.get(run_id)

    def set_plan(self, run_id: str, plan: list[dict[str, Any]]) -> None:
        """Store the exact containers and routes the run will touch."""
        with self._db.tx() as db:
            db.execute(
                "UPDATE chaos_runs SET plan = ? WHERE id = ?",
                (json.dumps(plan), run_id),
            )

    def add(self, run_id: str, activity: ActivityRecord) -> None:
        """Append one activity to the run's journal."""
        with self._db.tx() as db:
            db.execute(
                "INSERT INTO chaos_activities (run_id, stage, name, type, status,"
                " started_at, ended_at, output, error) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    run_id,
                    activity.stage.value,
                    activity.name,
                    activity.type,
                    activity.status,
                    activity.started_at,
                    activity.ended_at,
                    json.dumps(activity.output, default=str),
                    activity.error,
                ),
            )

    def mark_aborted(self, run_id: str) -> None:
        """Record when an abort was asked for; the verdict comes later."""
        with self._db.tx() as db:
            db.execute(
                "UPDATE chaos_runs SET aborted_at = ? WHERE id = ?"
                " AND aborted_at IS NULL",
                (utc_now(), run_id),
            )

    def finish(
        self, run_id: str, status: RunStatus, deviated: bool, reason: str
    ) -> RunRecord:
        """Store a run's verdict; a final verdict is never overwritten."""
        with self._db.tx() as db:
            ended = db.execute(
                "UPDATE chaos_runs SET status = ?, deviated = ?, reason = ?,"
                " ended_at = ? WHERE id = ? AND status = 'running'",
                (status.value, int(deviated), reason, utc_now(), run_id),
            ).rowcount
        run = self.get(run_id)
        if ended:
            self._announce(run.service, run_id, status, reason)
        return run

    def _announce(
        self, service: str, run_id: str, status: RunStatus, text: str
    ) -> None:
        if self._events is not None:
            self._events.publish(RUN_EVENT, service, run_id, status.value, text)

    def running(self) -> list[RunRecord]:
        """Runs not yet ended."""
        rows = self._db.query("SELECT * FROM chaos_runs WHERE status = 'running'")
        return [_run(row) for row in rows]

    def get(self, run_id: str, *, with_journal: bool = False) -> RunRecord:
        """One run; KeyError if there is none."""
        rows = self._db.query("SELECT * FROM chaos_runs WHERE id = ?", run_id)
        if not rows:
            raise KeyError(run_id)
        run = _run(rows[0])
        if not with_journal:
            return run
        lines = self._db.query(
            "SELECT * FROM chaos_activities WHERE run_id = ? ORDER BY id", run_id
        )
        return RunRecord(**{**run.__dict__, "journal": [_line(r) for r in lines]})

    def runs(
        self,
        *,
        service: str | None = None,
        schedule_id: str | None = None,
        limit: int = 50,
    ) -> list[RunRecord]:
        """Runs, newest first, narrowed by service or schedule."""
        sql, args = "SELECT * FROM chaos_runs WHERE 1 = 1", list[object]()
        if service is not None:
            sql, args = sql + " AND service = ?", [*args, service]
        if schedule_id is not None:
            sql, args = sql + " AND schedule_id = ?", [*args, schedule_id]
        sql += " ORDER BY started_at DESC, rowid DESC LIMIT ?"
        return [_run(row) for row in self._db.query(sql, *args, limit)]

    def tally(self) -> dict[tuple[str, RunStatus], int]:
        """How many runs of each service stand in each status; dry runs left out."""
        rows = self._db.query(
            "SELECT service, status, COUNT(*) AS count FROM chaos_runs"
            " WHERE dry_run = 0 GROUP BY service, status"
        )
        return {(r["service"], RunStatus(r["status"])): r["count"] for r in rows}

    def prune(self, schedule_id: str, keep: int) -> int:
        """Forget all but the newest ``keep`` final runs of a schedule."""
        with self._db.tx() as db:
            old = [
                row["id"]
                for row in db.execute(
                    "SELECT id FROM chaos_runs WHERE schedule_id = ? AND"
                    " status != 'running' ORDER BY started_at DESC, rowid DESC"
                    " LIMIT -1 OFFSET ?",
                    (schedule_id, keep),
                )
            ]
            for run_id in old:
                db.execute("DELETE FROM chaos_activities WHERE run_id = ?", (run_id,))
                db.execute("DELETE FROM chaos_runs WHERE id = ?", (run_id,))
        return len(old)

    def shutdown(self) -> None:
        """Close the journal's connection."""
        self._db.close()


def _run(row: sqlite3.Row) -> RunRecord:
    return RunRecord(
        id=row["id"],
        title=row["title"],
        service=row["service"],
        experiment=json.loads(row["experiment"]),
        status=RunStatus(row["status"]),
        deviated=bool(row["deviated"]),
        reason=row["reason"],
        actor=row["actor"],
        schedule_id=row["schedule_id"],
        dry_run=bool(row["dry_run"]),
        plan=json.loads(row["plan"]),
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        aborted_at=row["aborted_at"],
    )


def _line(row: sqlite3.Row) -> ActivityRecord:
    return ActivityRecord(
        stage=Stage(row["stage"]),
        name=row["name"],
        type=row["type"],
        status=row["status"],
        started_at=row["started_at"],
        ended_at=row["ended_at"],
        output=json.loads(row["output"]) if row["output"] else None,
        error=row["error"],
    )
