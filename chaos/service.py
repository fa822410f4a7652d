"""The chaos module's face to the controller: runs, aborts, recovery, reaping.

The controller builds one ``ChaosService`` at start-up with its engine,
routes and services behind the interfaces of ``chaos.ports``, calls
``recover`` before it serves, ``tick`` once a second, and ``close`` when it
stops. Everything else is what the API and the CLI ask for.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from pathlib import Path

import httpx

from chaos.control import RunControl
from chaos.db import utc_now
from chaos.errors import ChaosError, FaultFailed, RunConflict, RunNotFound
from chaos.experiment import Experiment
from chaos.fault_spec import CONTAINER_KINDS, TRAFFIC_KINDS
from chaos.faults.base import Mechanism
from chaos.faults.container import ContainerFaults
from chaos.faults.traffic import TrafficFaults
from chaos.journal import ActivityRecord, Journal, RunRecord, RunStatus, Stage
from chaos.ledger import FaultRecord, Ledger
from chaos.plan import admitted, make_plan, plan_dicts
from chaos.ports import Engine, Events, Routes, Services
from chaos.probes import Prober
from chaos.runner import Runner
from chaos.schedule_spec import ScheduleSpec
from chaos.scheduler import Scheduler, ScheduleRecord
from chaos.undo import Undoer

log = logging.getLogger(__name__)

ABORT_PATIENCE = 15.0  # seconds an abort waits for faults and rollbacks


class ChaosService:
    """Runs experiments, keeps the ledger honest, and drives the schedules."""

    def __init__(
        self,
        database: Path,
        engine: Engine,
        routes: Routes,
        services: Services,
        *,
        fault_host: str = "127.0.0.1",
        log_dir: Path | None = None,
        events: Events | None = None,
    ) -> None:
        self._engine = engine
        self._services = services
        self._client = httpx.AsyncClient()
        self.ledger = Ledger(database)
        self.journal = Journal(database, events)
        found = mechanisms(engine, routes, fault_host, log_dir)
        self._undoer = Undoer(self.ledger, found, services, events)
        self._runner = Runner(
            self.journal,
            self._undoer,
            found,
            Prober(routes, engine, self._client),
            engine,
        )
        self._runs: dict[str, RunControl] = {}
        self._claimed: set[str] = set()  # services whose run is being planned
        self.schedules = Scheduler(
            database, self._scheduled, self.is_running, self.journal.prune
        )

    async def recover(self) -> None:
        """At start-up: undo every open fault, mark unfinished runs interrupted."""
        open_faults = self.ledger.open_faults()
        started = utc_now()
        for record in open_faults:
            try:
                await self._undoer.undo(record.id)
            except FaultFailed as exc:
                log.error("start-up could not undo fault %s: %s", record.id, exc)
        for run in self.journal.running():
            undone = [
                f.id
                for f in open_faults
                if f.run_id == run.id and not self.ledger.get(f.id).state.is_open
            ]
            line = ActivityRecord(
                Stage.ROLLBACKS,
                "undo open faults at start-up",
                "undo-faults",
                "succeeded",
                started,
                utc_now(),
                {"undone": undone},
            )
            self.journal.add(run.id, line)
            self.journal.finish(
                run.id,
                RunStatus.INTERRUPTED,
                False,
                "the controller stopped while the run was in progress; "
                "its faults were undone at start-up",
            )
            log.warning("chaos run %s was interrupted by a restart", run.id)
        if open_faults:
            log.info("start-up undid %d open faults", len(open_faults))

    async def submit(
        self,
        experiment: Experiment,
        actor: str,
        *,
        dry_run: bool = False,
        schedule_id: str | None = None,
    ) -> RunRecord:
        """Check guard rails, resolve the plan, start the run in the background.

        Raises TargetRefused (with the reason) before anything happens. A dry
        run stores the resolved plan with status completed and touches nothing.
        """
        service = experiment.service
        if not dry_run:
            # Claimed before the first await, so runs sent together cannot
            # all pass the check: the second one finds the claim.
            self._require_idle(service)
            self._claimed.add(service)
        try:
            facts, steps = await make_plan(experiment, self._services, self._engine)
        finally:
            self._claimed.discard(service)
        run_id = new_run_id()
        document = experiment.model_dump(mode="json")
        self.journal.start(
            run_id, document, actor, schedule_id=schedule_id, dry_run=dry_run
        )
        self.journal.set_plan(run_id, plan_dicts(steps))
        if dry_run:
            reason = "dry run: the plan was resolved and nothing was touched"
            return self.journal.finish(run_id, RunStatus.COMPLETED, False, reason)
        ctl = RunControl(run_id, experiment, facts, {s.activity: s for s in steps})
        ctl.task = asyncio.create_task(self._execute(ctl))
        self._runs[run_id] = ctl
        log.info("chaos run %s of %r accepted from %s", run_id, experiment.title, actor)
        return self.journal.get(run_id)

    def create_schedule(self, spec: ScheduleSpec, actor: str) -> ScheduleRecord:
        """Create a schedule whose service exists and opted in; TargetRefused if not."""
        admitted(spec.experiment, self._services, ignore_releases=True)
        return self.schedules.create(spec, actor)

    async def abort(
        self, run_id: str, actor: str, reason: str | None = None
    ) -> RunRecord:
        """Stop a run now: undo its faults, run its rollbacks, mark it aborted.

        RunNotFound if there is no such run; RunConflict if it already ended.
        """
        run = self.run(run_id)
        ctl = self._runs.get(run_id)
        if run.status.is_final or ctl is None or ctl.task is None:
            raise RunConflict(
                f"run {run_id} already ended {run.status.value}; nothing to abort",
                run=run_id,
            )
        log.warning("chaos run %s aborted by %s", run_id, actor)
        self.journal.mark_aborted(run_id)
        ctl.abort_reason = reason or f"aborted by {actor}"
        ctl.abort.set()
        await asyncio.wait({ctl.task}, timeout=ABORT_PATIENCE)
        return self.run(run_id)

    async def abort_service(self, service: str, actor: str) -> list[str]:
        """Abort every run on a service, as when it withdraws its consent."""
        running = [
            ctl.run_id
            for ctl in self._runs.values()
            if ctl.experiment.service == service and ctl.task and not ctl.task.done()
        ]
        why = f"aborted: {actor} withdrew the service's consent (chaos.enabled)"
        for run_id in running:
            await self.abort(run_id, actor, why)
        return running

    def run(self, run_id: str) -> RunRecord:
        """One run with its journal; RunNotFound if none."""
        try:
            return self.journal.get(run_id, with_journal=True)
        except KeyError:
            raise RunNotFound(f"no chaos run {run_id!r}", run=run_id) from None

    def runs(
        self,
        *,
        service: str | None = None,
        schedule_id: str | None = None,
        limit: int = 50,
    ) -> list[RunRecord]:
        """Runs, newest first."""
        return self.journal.runs(service=service, schedule_id=schedule_id, limit=limit)

    def open_faults(self, service: str | None = None) -> list[FaultRecord]:
        """Faults that may still be in place, of one service or all."""
        found = self.ledger.open_faults()
        return [f for f in found if service is None or f.service == service]

    def is_running(self, run_id: str) -> bool:
        """Whether a run is still in progress."""
        ctl = self._runs.get(run_id)
        return ctl is not None and ctl.task is not None and not ctl.task.done()

    async def tick(self) -> None:
        """Once a second: undo faults past their deadline, start due schedules."""
        for record in await self._undoer.undo_lost():
            ctl = self._runs.get(record.run_id)
            if ctl is not None:
                ctl.fail(f"fault {record.id} ({record.kind}) was lost and undone")
        for record in self.ledger.due(time.time()):
            log.warning("fault %s outlived its deadline; undoing it", record.id)
            try:
                await self._undoer.undo(record.id)
            except FaultFailed as exc:
                log.error("the reaper could not undo fault %s: %s", record.id, exc)
        await self.schedules.tick()

    async def close(self) -> None:
        """On shutdown: abort running runs so that no fault stays applied."""
        running = [c for c in self._runs.values() if c.task and not c.task.done()]
        for ctl in running:
            self.journal.mark_aborted(ctl.run_id)
            ctl.abort_reason = "aborted: the controller was shutting down"
            ctl.abort.set()
        tasks = [c.task for c in running if c.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=ABORT_PATIENCE)
        for record in self.ledger.open_faults():
            try:
                await self._undoer.undo(record.id)
            except FaultFailed as exc:
                log.error("shutdown could not undo fault %s: %s", record.id, exc)
        await self._client.aclose()
        for part in (self.ledger, self.journal):
            part.shutdown()

    def _require_idle(self, service: str) -> None:
        """One run per service at a time, so faults never stack across runs."""
        if service in self._claimed:
            raise RunConflict(
                f'another run of service "{service}" is being planned; '
                "wait for it or abort it first",
                service=service,
            )
        for ctl in self._runs.values():
            if ctl.experiment.service == service and not (
                ctl.task is None or ctl.task.done()
            ):
                raise RunConflict(
                    f'run {ctl.run_id} is still running on service "{service}"; '
                    "wait for it or abort it first",
                    run=ctl.run_id,
                    service=service,
                )

    async def _execute(self, ctl: RunControl) -> None:
        try:
            await self._runner.execute(ctl)
        except Exception:
            log.exception("chaos run %s ended with an unexpected error", ctl.run_id)
            self.journal.finish(
                ctl.run_id, RunStatus.FAILED, False, "internal error; see the log"
            )
        finally:
            self._runs.pop(ctl.run_id, None)

    async def _scheduled(
        self, experiment: Experiment, actor: str, schedule_id: str
    ) -> str:
        run = await self.submit(experiment, actor, schedule_id=schedule_id)
        return run.id


def mechanisms(
    engine: Engine, routes: Routes, fault_host: str, log_dir: Path | None
) -> dict[str, Mechanism]:
    """The mechanism of every fault kind."""
    containers = ContainerFaults(engine)
    traffic = TrafficFaults(routes, host=fault_host, log_dir=log_dir)
    found: dict[str, Mechanism] = dict.fromkeys(CONTAINER_KINDS, containers)
    found.update(dict.fromkeys(TRAFFIC_KINDS, traffic))
    return found


def new_run_id() -> str:
    """A short, unique, sortable-enough run id."""
    return f"run-{secrets.token_hex(5)}"


__all__ = ["ChaosError", "ChaosService"]
