"""bgctl chaos: run experiments, follow and abort them, and schedule them.

Files are read and validated here first, so a bad one fails before any
request with the field and the value it objects to. The controller needs a
token of role sre (or admin). With --wait, run exits 0 when the run
completed and 1 when it failed, was aborted or was interrupted.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import typer

from chaos.errors import ExperimentInvalid
from chaos.experiment import load_experiment
from chaos.schedule_spec import load_schedule
from controller.cli_chaos_text import (
    faults_text,
    run_line,
    run_text,
    runs_text,
    schedule_text,
    schedules_text,
)
from controller.cli_common import (
    EXIT_FAILED,
    EXIT_REFUSED,
    EXIT_UNREACHABLE,
    AsJson,
    BearerToken,
    Url,
    call,
    client_for,
    show,
)
from controller.client import Client

chaos_app = typer.Typer(no_args_is_help=True, help=__doc__)
schedule_app = typer.Typer(no_args_is_help=True, help="Schedule experiments.")
chaos_app.add_typer(schedule_app, name="schedule")

RUNS = "/api/v1/chaos/runs"
SCHEDULES = "/api/v1/chaos/schedules"
FAULTS = "/api/v1/chaos/faults"
UNSUCCESSFUL = {"failed", "aborted", "interrupted"}
POLL = 0.5  # seconds between looks at a run being followed

ExperimentFile = Annotated[
    Path, typer.Argument(help="an experiment, YAML or JSON", show_default=False)
]


def _given(value: str) -> str:
    """Refuse an empty id before it becomes a request for the whole list."""
    if not value.strip():
        raise typer.BadParameter(f"must not be empty, got {value!r}")
    return value


RunId = Annotated[
    str, typer.Argument(help="a run id", show_default=False, callback=_given)
]
ScheduleId = Annotated[
    str,
    typer.Argument(help="a schedule id or name", show_default=False, callback=_given),
]


@chaos_app.command("run")
def run(
    file: ExperimentFile,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="list what it would hit; touch nothing")
    ] = False,
    wait: Annotated[bool, typer.Option(help="follow the run to its end")] = False,
    timeout: Annotated[float, typer.Option(help="seconds to wait")] = 3600.0,
    url: Url = None,
    token: BearerToken = None,
    as_json: AsJson = False,
) -> None:
    """Run the experiment in FILE now, or with --dry-run only plan it."""
    experiment = _checked(file, load_experiment)
    client = client_for(url, token)
    body = {"experiment": experiment.model_dump(mode="json"), "dry_run": dry_run}
    found = call(lambda: client.post(RUNS, body))
    if wait and not dry_run:
        if not as_json:
            typer.echo(run_line(found))
        found = _follow(client, found, timeout, quiet=as_json)
    show(found, as_json, run_text)
    if found["status"] in UNSUCCESSFUL:
        raise typer.Exit(EXIT_FAILED)


@chaos_app.command("list")
def list_runs(
    service: Annotated[str | None, typer.Option(help="only this service")] = None,
    schedule: Annotated[str | None, typer.Option(help="only this schedule")] = None,
    limit: Annotated[int, typer.Option(help="how many runs")] = 20,
    url: Url = None,
    token: BearerToken = None,
    as_json: AsJson = False,
) -> None:
    """List runs, newest first."""
    client = client_for(url, token)
    query = {"service": service, "schedule": schedule, "limit": limit}
    path = f"{RUNS}?" + urlencode({k: v for k, v in query.items() if v})
    show(call(lambda: client.get(path)), as_json, runs_text)


@chaos_app.command("show")
def show_run(
    run_id: RunId, url: Url = None, token: BearerToken = None, as_json: AsJson = False
) -> None:
    """Show a run: verdict, whether it deviated, its plan and its journal."""
    client = client_for(url, token)
    show(call(lambda: client.get(_run_path(run_id))), as_json, run_text)


@chaos_app.command("abort")
def abort(
    run_id: RunId, url: Url = None, token: BearerToken = None, as_json: AsJson = False
) -> None:
    """Stop a run now: its faults are undone and its rollbacks run."""
    client = client_for(url, token)
    found = call(lambda: client.post(f"{_run_path(run_id)}/abort"))
    show(found, as_json, run_text)


@chaos_app.command("faults")
def open_faults(
    url: Url = None, token: BearerToken = None, as_json: AsJson = False
) -> None:
    """List the faults that may still be in place and when they end at the latest."""
    client = client_for(url, token)
    show(call(lambda: client.get(FAULTS)), as_json, faults_text)


@schedule_app.command("add")
def add_schedule(
    file: Annotated[Path, typer.Argument(help="a schedule, YAML or JSON")],
    url: Url = None,
    token: BearerToken = None,
    as_json: AsJson = False,
) -> None:
    """Create the schedule in FILE."""
    spec = _checked(file, load_schedule)
    client = client_for(url, token)
    found = call(lambda: client.post(SCHEDULES, spec.model_dump(mode="json")))
    show(found, as_json, schedule_text)


@schedule_app.command("list")
def list_schedules(
    url: Url = None, token: BearerToken = None, as_json: AsJson = False
) -> None:
    """List every schedule and when it runs next."""
    client = client_for(url, token)
    show(call(lambda: client.get(SCHEDULES)), as_json, schedules_text)


@schedule_app.command("show")
def show_schedule(
    schedule_id: ScheduleId,
    url: Url = None,
    token: BearerToken = None,
    as_json: AsJson = False,
) -> None:
    """Show a schedule with its newest history."""
    client = client_for(url, token)
    show(call(lambda: client.get(_schedule_path(schedule_id))), as_json, schedule_text)


@schedule_app.command("pause")
def pause_schedule(
    schedule_id: ScheduleId,
    url: Url = None,
    token: BearerToken = None,
    as_json: AsJson = False,
) -> None:
    """Start no runs of a schedule until it is resumed."""
    _schedule_action(schedule_id, "pause", url, token, as_json)


@schedule_app.command("resume")
def resume_schedule(
    schedule_id: ScheduleId,
    url: Url = None,
    token: BearerToken = None,
    as_json: AsJson = False,
) -> None:
    """Start runs of a paused schedule again."""
    _schedule_action(schedule_id, "resume", url, token, as_json)


def _schedule_action(
    schedule_id: str, action: str, url: str | None, token: str | None, as_json: bool
) -> None:
    client = client_for(url, token)
    found = call(lambda: client.post(f"{_schedule_path(schedule_id)}/{action}"))
    show(found, as_json, schedule_text)


@schedule_app.command("rm")
def remove_schedule(
    schedule_id: ScheduleId, url: Url = None, token: BearerToken = None
) -> None:
    """Delete a schedule; its runs stay in the journal."""
    client = client_for(url, token)
    call(lambda: client.delete(_schedule_path(schedule_id)))
    typer.echo(f"schedule {schedule_id} deleted")


def _checked(path: Path, load: Any) -> Any:
    """What ``load`` makes of ``path``; exit 2 naming the field if it is bad."""
    try:
        return load(path)
    except ExperimentInvalid as exc:
        typer.echo(f"error: {path}: {exc.message}", err=True)
        raise typer.Exit(EXIT_REFUSED) from exc


def _follow(
    client: Client, found: dict[str, Any], timeout: float, quiet: bool
) -> dict[str, Any]:
    """Poll a run until it ends, printing each new line of its journal."""
    shown, path = 0, found["url"]
    for _ in range(math.ceil(timeout / POLL) + 1):
        found = call(lambda: client.get(path))
        for line in (found.get("journal") or [])[shown:]:
            if not quiet:
                typer.echo(
                    f"  {line['ended_at']} {line['stage']}: {line['name']} "
                    f"{line['status']}"
                )
            shown += 1
        if found["status"] != "running":
            return found
        time.sleep(POLL)
    typer.echo(f"error: run {found['id']} still running after {timeout:g}s", err=True)
    raise typer.Exit(EXIT_UNREACHABLE)


def _run_path(run_id: str) -> str:
    return f"{RUNS}/{quote(run_id, safe='')}"


def _schedule_path(schedule_id: str) -> str:
    return f"{SCHEDULES}/{quote(schedule_id, safe='')}"
