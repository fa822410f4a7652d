"""A run in progress, the flags that stop it, and how its verdict is read.

``completed`` means the method ran and the hypothesis held throughout;
``failed`` means an activity failed or the hypothesis did not hold (then
``deviated`` is set); ``aborted`` means a person stopped the run.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from chaos.experiment import Experiment
from chaos.journal import RunStatus
from chaos.plan import Step
from chaos.ports import ServiceFacts


@dataclass
class RunControl:
    """A run in progress: what it runs, and the flags that stop it."""

    run_id: str
    experiment: Experiment
    facts: ServiceFacts
    steps: dict[int, Step]  # by position in the method
    abort: asyncio.Event = field(default_factory=asyncio.Event)
    abort_reason: str = "aborted on request"
    halt: asyncio.Event = field(default_factory=asyncio.Event)  # a failure cut in
    deviation: str | None = None  # the first broken check, once there is one
    failure: str | None = None  # the first activity that failed
    task: asyncio.Task[None] | None = None

    def fail(self, reason: str) -> None:
        """Stop the run as failed, from outside its own steps."""
        self.failure = self.failure or reason
        self.halt.set()


def verdict(ctl: RunControl) -> tuple[RunStatus, str]:
    """The run's status and the sentence that explains it."""
    if ctl.abort.is_set():
        return RunStatus.ABORTED, f"{ctl.abort_reason}; faults undone, rollbacks run"
    if ctl.failure is not None:
        return RunStatus.FAILED, ctl.failure
    if ctl.deviation is not None:
        return RunStatus.FAILED, f"the system deviated: {ctl.deviation}"
    return RunStatus.COMPLETED, "the method ran and the hypothesis held"
