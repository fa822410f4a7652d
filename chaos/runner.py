"""Runs one experiment: hypothesis, method, hypothesis, rollbacks, verdict.

1. The hypothesis must hold before the method, or nothing is touched.
2. The method's activities run in order; the hypothesis is checked beside
   them, and a deviation stops the method when the experiment asks.
3. The hypothesis is checked again once every fault of the method is over.
4. Whatever happened, every fault still open is undone and the rollbacks
   run; then the verdict is stored.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

from chaos.control import RunControl, verdict
from chaos.db import utc_now
from chaos.errors import FaultFailed
from chaos.experiment import (
    FaultActivity,
    PauseActivity,
    Rollback,
)
from chaos.faults.base import Mechanism
from chaos.faults.container import undo_action
from chaos.journal import ActivityRecord, Journal, Stage
from chaos.ledger import FaultRecord, FaultState
from chaos.plan import Step, within_cap
from chaos.ports import Engine, ReplicaRef
from chaos.probes import Prober, ProbeResult
from chaos.rollbacks import roll_back
from chaos.undo import Undoer

log = logging.getLogger(__name__)

REAP_GRACE = 2.0  # seconds past its duration before the reaper takes a fault back


class Runner:
    """Executes runs against the platform and writes their journals."""

    def __init__(
        self,
        journal: Journal,
        undoer: Undoer,
        mechanisms: Mapping[str, Mechanism],
        prober: Prober,
        engine: Engine,
    ) -> None:
        self.journal = journal
        self.ledger = undoer.ledger
        self._undoer = undoer
        self._mechanisms = mechanisms
        self._prober = prober
        self._engine = engine

    async def execute(self, ctl: RunControl) -> None:
        """Run the experiment to its verdict; an abort cuts in at any step."""
        log.info("chaos run %s started: %s", ctl.run_id, ctl.experiment.title)
        steps = asyncio.create_task(self._steps(ctl))
        stoppers = [asyncio.create_task(e.wait()) for e in (ctl.abort, ctl.halt)]
        try:
            await asyncio.wait({steps, *stoppers}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (steps, *stoppers):
                task.cancel()
            await asyncio.gather(steps, *stoppers, return_exceptions=True)
            # Always: undo what is open, run the rollbacks, store the verdict.
            await asyncio.shield(self._wind_up(ctl))

    async def _steps(self, ctl: RunControl) -> None:
        # 1. Steady state first; a broken one means no chaos at all.
        if not await self._hypothesis(ctl, Stage.BEFORE):
            ctl.failure = "steady state did not hold before the method; "
            ctl.failure += "no fault was applied"
            return

        # 2. The method, watched by the hypothesis.
        await self._watched_method(ctl)
        if ctl.failure is not None:
            return

        # 3. The steady state once the faults are over.
        await self._undoer.undo_all(ctl.run_id)
        if not await self._hypothesis(ctl, Stage.AFTER):
            ctl.deviation = ctl.deviation or "hypothesis did not hold after"

    async def _watched_method(self, ctl: RunControl) -> None:
        method = asyncio.create_task(self._method(ctl))
        watcher = asyncio.create_task(self._watch(ctl, method))
        try:
            await asyncio.wait({method})
        finally:
            for task in (method, watcher):
                task.cancel()
            await asyncio.gather(method, watcher, return_exceptions=True)

    async def _method(self, ctl: RunControl) -> None:
        background: list[asyncio.Task[None]] = []
        try:
            for position, activity in enumerate(ctl.experiment.method):
                if isinstance(activity, PauseActivity):
                    await self._pause(ctl, Stage.METHOD, activity)
                    continue
                record = await self._apply(ctl, position, activity)
                if record is None:
                    return
                hold = self._hold(ctl, record, activity.fault.duration)
                if activity.background:
                    background.append(asyncio.create_task(hold))
                else:
                    await hold
            await asyncio.gather(*background)
        finally:
            for task in background:
                task.cancel()

    async def _apply(
        self, ctl: RunControl, position: int, activity: FaultActivity
    ) -> FaultRecord | None:
        """Put one fault in place; a failure fails the run and returns None."""
        fault, step = activity.fault, ctl.steps[position]
        name = activity.name or f"{fault.kind} {step.color.value}"
        started = utc_now()
        record = self.ledger.open(
            ctl.run_id,
            fault.kind,
            ctl.facts.name,
            step.color,
            [t.container_id for t in step.targets],
            time.time() + fault.duration + REAP_GRACE,
            {"action": undo_action(fault)},
        )
        try:
            within_cap(step, ctl.facts, self.ledger.open_faults())
            targets = await self._current(step)
            await self._mechanisms[fault.kind].inject(
                record, fault, targets, ctl.facts, self.ledger
            )
        except Exception as exc:
            ctl.failure = f"{name}: {exc}"
            self._line(ctl, Stage.METHOD, name, "fault", started, error=str(exc))
            log.warning("chaos run %s: fault %s failed: %s", ctl.run_id, name, exc)
            return None
        self.ledger.mark_applied(record.id)
        self._undoer.note(record, "applied")
        output = {"fault": record.id, **step.to_dict()}
        self._line(ctl, Stage.METHOD, name, "fault", started, output=output)
        return record

    async def _current(self, step: Step) -> list[ReplicaRef]:
        """The step's containers as they are now; FaultFailed if one vanished."""
        now = {
            r.container_id: r
            for r in await self._engine.replicas(step.targets[0].service, step.color)
        }
        missing = [t.name for t in step.targets if t.container_id not in now]
        if missing:
            raise FaultFailed(f"replicas gone before the fault: {', '.join(missing)}")
        return [now[t.container_id] for t in step.targets]

    async def _hold(self, ctl: RunControl, record: FaultRecord, seconds: float) -> None:
        await asyncio.sleep(seconds)
        started, error = utc_now(), None
        try:
            await self._undoer.undo(record.id)
        except FaultFailed as exc:
            error = str(exc)
            ctl.failure = ctl.failure or error
        name = f"undo {record.kind}"
        output = {"fault": record.id}
        self._line(ctl, Stage.METHOD, name, "undo", started, output=output, error=error)

    async def _watch(self, ctl: RunControl, method: asyncio.Task[None]) -> None:
        hypothesis = ctl.experiment.hypothesis
        if hypothesis is None or not hypothesis.during:
            return
        while not method.done():
            await asyncio.sleep(hypothesis.interval)
            if method.done() or await self._hypothesis(ctl, Stage.DURING):
                continue
            if ctl.experiment.guards.abort_on_deviation:
                log.warning("chaos run %s: hypothesis broke; stopping", ctl.run_id)
                method.cancel()
                return

    async def _hypothesis(self, ctl: RunControl, stage: Stage) -> bool:
        hypothesis = ctl.experiment.hypothesis
        if hypothesis is None:
            return True
        held = True
        for probe in hypothesis.probes:
            started = utc_now()
            result = await self._prober.check(probe, ctl.facts.name, ctl.facts.live)
            self._probe_line(ctl, stage, probe.name, started, result)
            if not result.ok:
                held = False
                if stage is not Stage.BEFORE and ctl.deviation is None:
                    ctl.deviation = f"{stage.value}: {probe.name}: {result.error}"
        return held

    async def _pause(self, ctl: RunControl, stage: Stage, pause: PauseActivity) -> None:
        started = utc_now()
        await asyncio.sleep(pause.duration)
        self._line(
            ctl, stage, pause.name, "pause", started, output={"seconds": pause.duration}
        )

    async def _wind_up(self, ctl: RunControl) -> None:
        # 1. Faults first: an abort must free the routes at once.
        started = utc_now()
        undone, errors = await self._undoer.undo_all(ctl.run_id)
        if errors and ctl.failure is None:
            ctl.failure = "faults left in place: " + "; ".join(errors)
        lost = [
            f for f in self.ledger.of_run(ctl.run_id) if f.state is FaultState.FAILED
        ]
        if lost and ctl.failure is None:
            ctl.failure = f"fault {lost[0].id} ({lost[0].kind}) {lost[0].error}"
        self._line(
            ctl,
            Stage.ROLLBACKS,
            "undo open faults",
            "undo-faults",
            started,
            output={"undone": undone},
            error="; ".join(errors) or None,
        )

        # 2. The experiment's own rollbacks, every one, whatever failed before.
        for rollback in ctl.experiment.rollbacks:
            await self._rollback(ctl, rollback)

        # 3. The verdict.
        status, reason = verdict(ctl)
        self.journal.finish(ctl.run_id, status, ctl.deviation is not None, reason)
        log.info("chaos run %s ended %s: %s", ctl.run_id, status.value, reason)

    async def _rollback(self, ctl: RunControl, rollback: Rollback) -> None:
        if isinstance(rollback, PauseActivity):
            await self._pause(ctl, Stage.ROLLBACKS, rollback)
            return
        started = utc_now()
        try:
            output = await roll_back(
                rollback, ctl.run_id, ctl.facts, self._engine, self._undoer
            )
        except Exception as exc:
            self._line(
                ctl,
                Stage.ROLLBACKS,
                rollback.name,
                rollback.type,
                started,
                error=str(exc),
            )
            return
        self._line(
            ctl, Stage.ROLLBACKS, rollback.name, rollback.type, started, output=output
        )

    def _probe_line(
        self,
        ctl: RunControl,
        stage: Stage,
        name: str,
        started: str,
        result: ProbeResult,
    ) -> None:
        self._line(
            ctl,
            stage,
            name,
            "probe",
            started,
            output=result.output,
            error=result.error,
            status="succeeded" if result.ok else "failed",
        )

    def _line(
        self,
        ctl: RunControl,
        stage: Stage,
        name: str,
        kind: str,
        started: str,
        *,
        output: Any = None,
        error: str | None = None,
        status: str | None = None,
    ) -> None:
        status = status or ("failed" if error else "succeeded")
        record = ActivityRecord(
            stage, name, kind, status, started, utc_now(), output, error
        )
        self.journal.add(ctl.run_id, record)
