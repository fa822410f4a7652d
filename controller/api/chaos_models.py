"""Request and response bodies of the chaos API, and how records become them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from chaos.journal import ActivityRecord, RunRecord, RunStatus
from chaos.ledger import FaultRecord
from chaos.scheduler import ScheduleEvent, ScheduleRecord

RUNS_PATH = "/api/v1/chaos/runs"
SCHEDULES_PATH = "/api/v1/chaos/schedules"
EXPERIMENT_DOC = (
    "An experiment as its YAML or JSON file holds it: title, service, "
    "hypothesis, method, rollbacks, guards (see examples/chaos)"
)


class RunRequest(BaseModel):
    """Run an experiment now, or only resolve what it would touch."""

    model_config = ConfigDict(extra="forbid")

    experiment: dict[str, Any] = Field(description=EXPERIMENT_DOC)
    dry_run: bool = Field(
        default=False,
        strict=True,
        description="list the exact containers and routes, and touch nothing",
    )


class RunsQuery(BaseModel):
    """The query of the run list; an unknown parameter is refused."""

    model_config = ConfigDict(extra="forbid")

    service: str | None = Field(
        default=None, max_length=64, description="only runs against this service"
    )
    schedule: str | None = Field(
        default=None,
        max_length=64,
        description="only runs of this schedule (id or name)",
    )
    limit: int = Field(default=50, ge=1, le=500, description="how many runs")


class JournalEntry(BaseModel):
    """One activity of a run: what ran, when, and what came of it."""

    stage: str
    name: str
    type: str
    status: str = Field(description="succeeded, failed or skipped")
    started_at: str
    ended_at: str
    output: Any = None
    error: str | None = None


class ChaosRun(BaseModel):
    """A run of an experiment: its verdict, its plan and, asked for one, its journal."""

    id: str
    title: str
    service: str
    status: RunStatus
    deviated: bool = Field(description="whether the steady state broke at any point")
    reason: str
    actor: str
    schedule_id: str | None
    dry_run: bool
    plan: list[dict[str, Any]] = Field(
        description="every fault with the exact containers and routes it hits"
    )
    started_at: str
    ended_at: str | None
    aborted_at: str | None
    experiment: dict[str, Any]
    url: str
    journal: list[JournalEntry] | None = None


class ScheduleHistoryEntry(BaseModel):
    """One line of a schedule's history: a run started, a start skipped, ..."""

    at: datetime
    kind: str
    run_id: str | None
    reason: str


class ChaosSchedule(BaseModel):
    """A schedule, where it stands, and when it runs next."""

    id: str
    name: str
    state: str = Field(description="active, paused or finished")
    next_run: datetime | None
    last_run_id: str | None
    last_run_at: datetime | None
    created_by: str
    created_at: datetime
    skipped: int = Field(description="due times that started no run")
    spec: dict[str, Any]
    url: str
    events: list[ScheduleHistoryEntry] | None = Field(
        default=None, description="the newest first"
    )


class OpenFault(BaseModel):
    """A fault of the ledger that may still be in place."""

    id: int
    run_id: str
    kind: str
    service: str
    color: str
    targets: list[str] = Field(description="the exact container ids it hits")
    state: str = Field(description="pending (being applied) or applied")
    deadline: datetime = Field(description="when the reaper undoes it at the latest")
    opened_at: str
    applied_at: str | None


def run_path(run_id: str) -> str:
    """The API path of one run."""
    return f"{RUNS_PATH}/{run_id}"


def schedule_path(schedule_id: str) -> str:
    """The API path of one schedule."""
    return f"{SCHEDULES_PATH}/{schedule_id}"


def run_out(run: RunRecord, with_journal: bool = False) -> ChaosRun:
    """A run as the API shows it."""
    return ChaosRun(
        id=run.id,
        title=run.title,
        service=run.service,
        status=run.status,
        deviated=run.deviated,
        reason=run.reason,
        actor=run.actor,
        schedule_id=run.schedule_id,
        dry_run=run.dry_run,
        plan=run.plan,
        started_at=run.started_at,
        ended_at=run.ended_at,
        aborted_at=run.aborted_at,
        experiment=run.experiment,
        url=run_path(run.id),
        journal=[_line(a) for a in run.journal] if with_journal else None,
    )


def _line(activity: ActivityRecord) -> JournalEntry:
    return JournalEntry(
        stage=activity.stage.value,
        name=activity.name,
        type=activity.type,
        status=activity.status,
        started_at=activity.started_at,
        ended_at=activity.ended_at,
        output=activity.output,
        error=activity.error,
    )


def schedule_out(
    record: ScheduleRecord, events: list[ScheduleEvent] | None = None
) -> ChaosSchedule:
    """A schedule as the API shows it, with its history if given."""
    return ChaosSchedule(
        id=record.id,
        name=record.name,
        state=record.state.value,
        next_run=record.next_run,
        last_run_id=record.last_run_id,
        last_run_at=record.last_run_at,
        created_by=record.created_by,
        created_at=record.created_at,
        skipped=record.skipped,
        spec=record.spec.model_dump(mode="json"),
        url=schedule_path(record.id),
        events=None if events is None else [_event(e) for e in events],
    )


def _event(event: ScheduleEvent) -> ScheduleHistoryEntry:
    return ScheduleHistoryEntry(
        at=event.at, kind=event.kind.value, run_id=event.run_id, reason=event.reason
    )


def fault_out(record: FaultRecord) -> OpenFault:
    """An open fault as the API shows it."""
    return OpenFault(
        id=record.id,
        run_id=record.run_id,
        kind=record.kind,
        service=record.service,
        color=record.color.value,
        targets=list(record.targets),
        state=record.state.value,
        deadline=datetime.fromtimestamp(record.deadline, UTC),
        opened_at=record.opened_at,
        applied_at=record.applied_at,
    )
