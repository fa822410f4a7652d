"""The runner's verdicts, on an in-memory platform (pure units)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx

from chaos.control import RunControl
from chaos.experiment import Experiment, parse_experiment
from chaos.faults.container import ContainerFaults
from chaos.journal import Journal, RunRecord, RunStatus, Stage
from chaos.ledger import Ledger
from chaos.plan import make_plan
from chaos.ports import ChaosPolicy
from chaos.probes import Prober
from chaos.runner import Runner
from chaos.undo import Undoer
from proxy.routes import Color
from tests.chaos.fakes import FakeEngine, FakeRoutes, FakeServices

KINDS = ("kill", "stop", "pause", "restart")


def experiment(**changes: Any) -> Experiment:
    data: dict[str, Any] = {
        "title": "pause one green replica",
        "service": "web",
        "method": [
            {
                "type": "fault",
                "fault": {"kind": "pause", "color": "green", "duration": 0.2},
            }
        ],
    }
    data.update(changes)
    return parse_experiment(data)


def replicas_hypothesis(min_running: int, interval: float = 0.1) -> dict[str, Any]:
    probe = {"type": "replicas", "color": "green", "min_running": min_running}
    return {"probes": [probe], "interval": interval}


class Bench:
    """A runner on fakes, with the ledger and journal in a real SQLite file."""

    def __init__(self, tmp_path: Path) -> None:
        self.engine = FakeEngine()
        self.services = FakeServices()
        self.ledger = Ledger(tmp_path / "state.db")
        self.journal = Journal(tmp_path / "state.db")
        self.client = httpx.AsyncClient()
        mechanism = ContainerFaults(self.engine)
        found = dict.fromkeys(KINDS, mechanism)
        self.runner = Runner(
            self.journal,
            Undoer(self.ledger, found, self.services),
            found,
            Prober(FakeRoutes(), self.engine, self.client),
            self.engine,
        )

    async def start(self, exp: Experiment, run_id: str = "run-1") -> RunControl:
        facts, steps = await make_plan(exp, self.services, self.engine)
        self.journal.start(run_id, exp.model_dump(mode="json"), "tester")
        ctl = RunControl(run_id, exp, facts, {s.activity: s for s in steps})
        ctl.task = asyncio.create_task(self.runner.execute(ctl))
        return ctl

    async def run(self, exp: Experiment) -> RunRecord:
        ctl = await self.start(exp)
        assert ctl.task is not None
        await asyncio.wait_for(ctl.task, 10)
        await self.client.aclose()
        return self.journal.get(ctl.run_id, with_journal=True)


def test_a_fault_is_undone_after_its_duration_and_the_run_completes(
    tmp_path: Path,
) -> None:
    asyncio.run(
        _a_fault_is_undone_after_its_duration_and_the_run_completes(Bench(tmp_path))
    )


async def _a_fault_is_undone_after_its_duration_and_the_run_completes(
    bench: Bench,
) -> None:
    run = await bench.run(experiment(hypothesis=replicas_hypothesis(1)))

    assert run.status is RunStatus.COMPLETED and not run.deviated
    assert [a for a, _ in bench.engine.actions] == ["pause", "unpause"]
    assert bench.ledger.open_faults() == []
    assert {line.stage for line in run.journal} >= {Stage.BEFORE, Stage.AFTER}


def test_a_broken_steady_state_applies_no_fault(tmp_path: Path) -> None:
    asyncio.run(_a_broken_steady_state_applies_no_fault(Bench(tmp_path)))


async def _a_broken_steady_state_applies_no_fault(bench: Bench) -> None:
    exp = experiment(
        hypothesis=replicas_hypothesis(3),
        method=[
            {
                "type": "fault",
                "background": True,
                "fault": {"kind": "kill", "color": "green"},
            }
        ],
    )
    run = await bench.run(exp)

    assert run.status is RunStatus.FAILED and not run.deviated
    assert "no fault was applied" in run.reason
    assert bench.engine.actions == []
    assert bench.ledger.of_run(run.id) == []


def test_a_fault_the_engine_refuses_fails_the_run(tmp_path: Path) -> None:
    asyncio.run(_a_fault_the_engine_refuses_fails_the_run(Bench(tmp_path)))


async def _a_fault_the_engine_refuses_fails_the_run(bench: Bench) -> None:
    bench.engine.refuse = {"kill"}
    exp = experiment(
        hypothesis=replicas_hypothesis(1),
        method=[{"type": "fault", "fault": {"kind": "kill", "color": "green"}}],
    )
    run = await bench.run(exp)

    assert run.status is RunStatus.FAILED
    assert "engine refused kill" in run.reason
    failed = [line for line in run.journal if line.status == "failed"]
    assert failed and failed[0].stage is Stage.METHOD
    assert bench.ledger.open_faults() == []


def test_a_deviation_mid_method_fails_the_run_and_rollbacks_still_run(
    tmp_path: Path,
) -> None:
    asyncio.run(
        _a_deviation_mid_method_fails_the_run_and_rollbacks_still_run(Bench(tmp_path))
    )


async def _a_deviation_mid_method_fails_the_run_and_rollbacks_still_run(
    bench: Bench,
) -> None:
    exp = experiment(
        hypothesis=replicas_hypothesis(2),
        method=[
            {
                "type": "fault",
                "fault": {"kind": "kill", "color": "green", "count": 2, "duration": 5},
            }
        ],
        rollbacks=[{"type": "start-replicas", "color": "green"}],
    )
    began = time.monotonic()
    run = await bench.run(exp)

    assert time.monotonic() - began < 4, "the deviation should cut the method short"
    assert run.status is RunStatus.FAILED and run.deviated
    assert bench.engine.states(Color.GREEN) == ["running", "running"]
    assert any(line.type == "start-replicas" for line in run.journal)
    assert bench.ledger.open_faults() == []


def test_abort_undoes_faults_at_once_and_says_aborted(tmp_path: Path) -> None:
    asyncio.run(_abort_undoes_faults_at_once_and_says_aborted(Bench(tmp_path)))


async def _abort_undoes_faults_at_once_and_says_aborted(bench: Bench) -> None:
    exp = experiment(
        method=[
            {
                "type": "fault",
                "fault": {"kind": "pause", "color": "green", "duration": 600},
            }
        ]
    )
    ctl = await bench.start(exp)
    await asyncio.sleep(0.2)
    assert bench.engine.states(Color.GREEN)[0] == "paused"

    bench.journal.mark_aborted(ctl.run_id)
    ctl.abort.set()
    assert ctl.task is not None
    await asyncio.wait_for(ctl.task, 1.0)

    run = bench.journal.get(ctl.run_id)
    assert run.status is RunStatus.ABORTED and run.aborted_at is not None
    assert bench.engine.states(Color.GREEN)[0] == "running"
    assert bench.ledger.open_faults() == []


def test_background_faults_run_beside_the_method(tmp_path: Path) -> None:
    asyncio.run(_background_faults_run_beside_the_method(Bench(tmp_path)))


async def _background_faults_run_beside_the_method(bench: Bench) -> None:
    exp = experiment(
        method=[
            {
                "type": "fault",
                "background": True,
                "fault": {"kind": "pause", "color": "green", "duration": 0.3},
            },
            {"type": "pause", "duration": 0.05},
            {"type": "fault", "fault": {"kind": "restart", "color": "green"}},
        ]
    )
    run = await bench.run(exp)

    assert run.status is RunStatus.COMPLETED
    actions = [a for a, _ in bench.engine.actions]
    # The restart woke the paused replica, so undoing the pause had nothing
    # left to do; both faults are closed all the same.
    assert actions == ["pause", "restart"]
    assert bench.ledger.open_faults() == []
    assert len(bench.ledger.of_run(run.id)) == 2


def test_abort_cuts_a_long_probe_short(tmp_path: Path) -> None:
    asyncio.run(_abort_cuts_a_long_probe_short(Bench(tmp_path)))


async def _abort_cuts_a_long_probe_short(bench: Bench) -> None:
    probe = {"type": "traffic", "window": "30s", "rate": 1, "timeout": "1s"}
    ctl = await bench.start(experiment(hypothesis={"probes": [probe]}))
    await asyncio.sleep(0.3)

    ctl.abort.set()
    assert ctl.task is not None
    await asyncio.wait_for(ctl.task, 2.0)

    run = bench.journal.get(ctl.run_id)
    assert run.status is RunStatus.ABORTED
    assert bench.engine.actions == []


def test_faults_in_place_count_against_the_replica_cap(tmp_path: Path) -> None:
    asyncio.run(_faults_in_place_count_against_the_replica_cap(Bench(tmp_path)))


async def _faults_in_place_count_against_the_replica_cap(bench: Bench) -> None:
    bench.services.policy = ChaosPolicy(enabled=True, max_replicas=1)
    exp = experiment(
        guards={"allow_both_colors": True},
        method=[
            {
                "type": "fault",
                "background": True,
                "fault": {"kind": "pause", "color": "green", "duration": 5},
            },
            {"type": "fault", "fault": {"kind": "pause", "color": "blue"}},
        ],
    )
    run = await bench.run(exp)

    assert run.status is RunStatus.FAILED
    assert "max_replicas" in run.reason
    assert [a for a, _ in bench.engine.actions] == ["pause", "unpause"]
