"""Load shapes for the bgctl users; a run opts in by loading ``steps.py``.

Locust uses at most one shape class per run and picks up any it finds in a
locustfile, so ``locustfile.py`` imports none.
"""

from __future__ import annotations

from locust import LoadTestShape

# Locust puts the locustfile's folder on sys.path, so siblings import by name.
from ramp import Steps


class StepShape(LoadTestShape):
    """Adds users in equal steps across the chosen frontends, then stops."""

    def __init__(self) -> None:
        super().__init__()
        try:
            self.steps = Steps.from_env()
        except ValueError as exc:
            raise SystemExit(f"step shape: {exc}") from exc

    def tick(self) -> tuple[int, float] | None:
        """The user count and spawn rate for this moment of the run."""
        users = self.steps.users_at(self.get_run_time())
        if users is None:
            return None
        # Spawn each step's users within about a second.
        return users, float(self.steps.users)
