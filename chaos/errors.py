"""Errors the chaos module raises.

ChaosError                 every chaos error; ``field`` and ``value`` when known
├── ExperimentInvalid      an experiment or schedule file does not validate
├── TargetRefused          a guard rail refuses the target (opt-in, colours, cap)
├── FaultFailed            a fault could not be applied or undone
├── RunNotFound            no run with that id
├── ScheduleNotFound       no schedule with that id
└── RunConflict            the run or schedule is in a state that forbids it
"""

from __future__ import annotations

from typing import Any


class ChaosError(Exception):
    """Root of every chaos error."""

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context = context


class ExperimentInvalid(ChaosError):
    """An experiment or schedule does not validate; names the field and value."""


class TargetRefused(ChaosError):
    """A guard rail refuses the experiment's target; the message says which."""


class FaultFailed(ChaosError):
    """A fault could not be applied or undone: the engine or the proxy said no."""


class RunNotFound(ChaosError):
    """No run with the given id."""


class ScheduleNotFound(ChaosError):
    """No schedule with the given id."""


class RunConflict(ChaosError):
    """The run or schedule is in a state that forbids the request."""
