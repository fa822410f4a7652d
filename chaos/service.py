"""The chaos module's face to the controller: runs, aborts, recovery, reaping.

The controller builds one ``ChaosService`` at start-up with its engine,
routes and services behind the interfaces of ``chaos.ports``, calls
``recover`` before it serves, ``tick`` once a second, and ``close`` when it
stops. Everything else is what the API and the CLI ask for.
"""

from __future__ import annotations

from chaos.experiment import Experiment
from chaos.journal import RunRecord


class ChaosService:
    """Runs experiments, keeps the ledger honest, and drives the schedules."""

    async def recover(self) -> None:
        """At start-up: undo every open fault, mark unfinished runs interrupted."""
        raise NotImplementedError

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
        raise NotImplementedError

    async def abort(self, run_id: str, actor: str) -> RunRecord:
        """Stop a run now: undo its faults, run its rollbacks, mark it aborted.

        RunNotFound if there is no such run; RunConflict if it already ended.
        """
        raise NotImplementedError

    def run(self, run_id: str) -> RunRecord:
        """One run with its journal; RunNotFound if none."""
        raise NotImplementedError

    def runs(
        self,
        *,
        service: str | None = None,
        schedule_id: str | None = None,
        limit: int = 50,
    ) -> list[RunRecord]:
        """Runs, newest first."""
        raise NotImplementedError

    def is_running(self, run_id: str) -> bool:
        """Whether a run is still in progress."""
        raise NotImplementedError

    async def tick(self) -> None:
        """Once a second: undo faults past their deadline, start due schedules."""
        raise NotImplementedError

    async def close(self) -> None:
        """On shutdown: abort running runs so that no fault stays applied."""
        raise NotImplementedError
