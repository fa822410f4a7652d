"""Routes for chaos: run experiments, read their journals, abort, schedule.

Every route needs the ``sre`` role (``admin`` implies it). What the chaos
module raises is turned into the usual error JSON by ``api.errors``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response

from chaos.errors import ExperimentInvalid, ScheduleNotFound
from chaos.experiment import Experiment, parse_experiment
from chaos.schedule_spec import parse_schedule
from controller.api.audit import note_service
from controller.api.auth import Sre
from controller.api.chaos_models import (
    ChaosRun,
    ChaosSchedule,
    OpenFault,
    RunRequest,
    RunsQuery,
    fault_out,
    run_out,
    run_path,
    schedule_out,
    schedule_path,
)
from controller.api.context import Context, context
from controller.api.errors import declared
from controller.errors import InvalidDocument

router = APIRouter(prefix="/api/v1/chaos", tags=["chaos"])

Ctx = Annotated[Context, Depends(context)]
RunId = Annotated[str, Path(max_length=100, description="a run id")]
ScheduleId = Annotated[str, Path(max_length=100, description="a schedule id or name")]
EVENTS_SHOWN = 20  # of a schedule's history, with the schedule itself

READ_ERRORS = declared(401, 403, 404, 422)
ACTION_ERRORS = declared(401, 403, 404, 409, 422)


@router.post(
    "/runs",
    response_model=ChaosRun,
    status_code=202,
    responses={
        200: {"model": ChaosRun, "description": "A dry run: the plan, nothing done"},
        **declared(400, 401, 403, 409, 422, 502),
    },
)
async def start_run(
    who: Sre, body: RunRequest, ctx: Ctx, request: Request, response: Response
) -> ChaosRun:
    """Run an experiment in the background, or with dry_run only plan it."""
    experiment = _experiment(body.experiment)
    note_service(request, experiment.service)
    run = await ctx.chaos.submit(experiment, who.name, dry_run=body.dry_run)
    response.status_code = 200 if body.dry_run else 202
    response.headers["Location"] = run_path(run.id)
    return run_out(run, with_journal=True)


def _experiment(document: dict[str, Any]) -> Experiment:
    """The experiment of a request; its errors name fields under experiment."""
    try:
        return parse_experiment(document)
    except ExperimentInvalid as exc:
        field = str(exc.context.get("field") or "")
        message = exc.message.removeprefix(f"{field}: ") if field else exc.message
        where = f"experiment.{field}" if field else "experiment"
        raise InvalidDocument(
            f"{where}: {message}", where, exc.context.get("value")
        ) from exc


@router.get("/runs", response_model=list[ChaosRun], responses=READ_ERRORS)
async def list_runs(
    who: Sre, ctx: Ctx, query: Annotated[RunsQuery, Query()]
) -> list[ChaosRun]:
    """Runs, newest first, of one service or one schedule if asked."""
    schedule_id = _schedule_id(ctx, query.schedule) if query.schedule else None
    found = ctx.chaos.runs(
        service=query.service, schedule_id=schedule_id, limit=query.limit
    )
    return [run_out(run) for run in found]


def _schedule_id(ctx: Context, id_or_name: str) -> str:
    """A schedule's id; the value itself once the schedule was deleted."""
    try:
        return ctx.chaos.schedules.get(id_or_name).id
    except ScheduleNotFound:
        return id_or_name


@router.get("/runs/{run_id}", response_model=ChaosRun, responses=READ_ERRORS)
async def get_run(who: Sre, run_id: RunId, ctx: Ctx) -> ChaosRun:
    """One run with its plan, verdict and every line of its journal."""
    return run_out(ctx.chaos.run(run_id), with_journal=True)


@router.post(
    "/runs/{run_id}/abort",
    response_model=ChaosRun,
    responses=declared(401, 403, 404, 409, 422, 502),
)
async def abort_run(who: Sre, run_id: RunId, ctx: Ctx, request: Request) -> ChaosRun:
    """Stop a run now: its faults are undone and its rollbacks run."""
    note_service(request, ctx.chaos.run(run_id).service)
    return run_out(await ctx.chaos.abort(run_id, who.name), with_journal=True)


@router.get("/faults", response_model=list[OpenFault], responses=READ_ERRORS)
async def list_open_faults(who: Sre, ctx: Ctx) -> list[OpenFault]:
    """Faults that may still be in place, oldest first, with their deadlines."""
    return [fault_out(record) for record in ctx.chaos.open_faults()]


@router.post(
    "/schedules",
    response_model=ChaosSchedule,
    status_code=201,
    responses=declared(400, 401, 403, 409, 422),
)
async def create_schedule(
    who: Sre,
    ctx: Ctx,
    request: Request,
    response: Response,
    body: Annotated[dict[str, Any], Body(description="a schedule: name, when, ...")],
) -> ChaosSchedule:
    """Schedule an experiment: once, on an interval, by cron, or at random."""
    spec = parse_schedule(body)
    note_service(request, spec.experiment.service)
    record = ctx.chaos.create_schedule(spec, who.name)
    response.headers["Location"] = schedule_path(record.id)
    return schedule_out(record, [])


@router.get("/schedules", response_model=list[ChaosSchedule], responses=READ_ERRORS)
async def list_schedules(who: Sre, ctx: Ctx) -> list[ChaosSchedule]:
    """Every schedule, oldest first."""
    return [schedule_out(record) for record in ctx.chaos.schedules.list()]


@router.get(
    "/schedules/{schedule_id}", response_model=ChaosSchedule, responses=READ_ERRORS
)
async def get_schedule(who: Sre, schedule_id: ScheduleId, ctx: Ctx) -> ChaosSchedule:
    """One schedule with its newest history: runs started, starts skipped."""
    record = ctx.chaos.schedules.get(schedule_id)
    return schedule_out(record, ctx.chaos.schedules.events(record.id, EVENTS_SHOWN))


@router.post(
    "/schedules/{schedule_id}/pause",
    response_model=ChaosSchedule,
    responses=ACTION_ERRORS,
)
async def pause_schedule(
    who: Sre, schedule_id: ScheduleId, ctx: Ctx, request: Request
) -> ChaosSchedule:
    """Start no runs until resumed; a run in progress goes on."""
    record = ctx.chaos.schedules.pause(schedule_id, who.name)
    note_service(request, record.spec.experiment.service)
    return schedule_out(record)


@router.post(
    "/schedules/{schedule_id}/resume",
    response_model=ChaosSchedule,
    responses=ACTION_ERRORS,
)
async def resume_schedule(
    who: Sre, schedule_id: ScheduleId, ctx: Ctx, request: Request
) -> ChaosSchedule:
    """Start runs again; the next one is counted from now."""
    record = ctx.chaos.schedules.resume(schedule_id, who.name)
    note_service(request, record.spec.experiment.service)
    return schedule_out(record)


@router.delete("/schedules/{schedule_id}", status_code=204, responses=READ_ERRORS)
async def delete_schedule(
    who: Sre, schedule_id: ScheduleId, ctx: Ctx, request: Request
) -> Response:
    """Forget a schedule and its history; its runs stay in the journal."""
    record = ctx.chaos.schedules.get(schedule_id)
    note_service(request, record.spec.experiment.service)
    ctx.chaos.schedules.delete(record.id, who.name)
    return Response(status_code=204)
