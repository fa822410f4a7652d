"""The bgctl users under a step ramp: Locust's one shape for this run.

    BGCTL_STEP_USERS=5 BGCTL_STEP_SECONDS=30 BGCTL_STEPS=4 \\
        locust -f loadtests/steps.py --headless --bgctl-service web --tags live

The shape sets the user count itself, so ``-u`` and ``-r`` do not apply; it
stops the run after the last step. Its settings are read in ``ramp.py``.
"""

from __future__ import annotations

# Locust puts this file's folder on sys.path, so its siblings import by name.
from locustfile import BlueUser, GreenUser, LiveUser, PreviewUser
from shapes import StepShape

__all__ = ["BlueUser", "GreenUser", "LiveUser", "PreviewUser", "StepShape"]
