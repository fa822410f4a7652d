"""The step ramp's arithmetic, kept apart from Locust so it imports anywhere.

Importing Locust patches the standard library with gevent, which a plain
process (a test run, the controller) must not suffer.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

MAX_USERS = 1000
MAX_SECONDS = 3600


@dataclass(frozen=True)
class Steps:
    """A staircase: ``users`` more every ``seconds``, ``count`` times, then stop."""

    users: int = 5
    seconds: int = 30
    count: int = 5

    def __post_init__(self) -> None:
        _check("BGCTL_STEP_USERS", self.users, 1, MAX_USERS)
        _check("BGCTL_STEP_SECONDS", self.seconds, 1, MAX_SECONDS)
        _check("BGCTL_STEPS", self.count, 1, MAX_USERS)
        if self.users * self.count > MAX_USERS:
            raise ValueError(
                f"steps reach {self.users * self.count} users, more than "
                f"{MAX_USERS}: lower BGCTL_STEP_USERS or BGCTL_STEPS"
            )
        if self.seconds * self.count > MAX_SECONDS:
            raise ValueError(
                f"steps last {self.seconds * self.count}s, more than "
                f"{MAX_SECONDS}s: lower BGCTL_STEP_SECONDS or BGCTL_STEPS"
            )

    @classmethod
    def from_env(cls) -> Steps:
        """The staircase ``BGCTL_STEP_USERS``, ``_SECONDS`` and ``BGCTL_STEPS`` ask."""
        return cls(
            users=_whole("BGCTL_STEP_USERS", cls.users),
            seconds=_whole("BGCTL_STEP_SECONDS", cls.seconds),
            count=_whole("BGCTL_STEPS", cls.count),
        )

    def users_at(self, run_time: float) -> int | None:
        """How many users should run ``run_time`` seconds in; None once done."""
        step = int(run_time // self.seconds)
        if step >= self.count:
            return None
        return (step + 1) * self.users


def _whole(variable: str, default: int) -> int:
    raw = os.environ.get(variable)
    if raw is None or not raw.strip():
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{variable} must be a whole number, got {raw!r}") from None


def _check(variable: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"{variable} must be from {low} to {high}, got {value!r}")
