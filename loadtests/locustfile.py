"""Locust users for a bgctl service: live, preview, blue and green.

Each user class aims at one frontend the controller reports for the service,
and names its requests after that frontend, so a single run keeps blue's and
green's figures apart. Pick frontends with tags::

    BGCTL_SERVICE=web locust -f loadtests/locustfile.py --tags blue green

The endpoints come from the controller at ``BGCTL_URL`` (default
``http://127.0.0.1:7070``), asked with the token in ``BGCTL_TOKEN`` or else
the admin token in ``$BGCTL_STATE_DIR/admin.token``; a viewer token is
enough. ``BGCTL_<FRONTEND>_URL`` overrides one of them. Only addresses on
this machine are accepted.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from locust import FastHttpUser, between, tag, task

FRONTENDS = ("live", "preview", "blue", "green")
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


@cache
def endpoints() -> dict[str, str]:
    """The service's frontend URLs, read once from the controller."""
    service = os.environ.get("BGCTL_SERVICE", "web")
    found = {
        name: os.environ[f"BGCTL_{name.upper()}_URL"]
        for name in FRONTENDS
        if f"BGCTL_{name.upper()}_URL" in os.environ
    }
    if len(found) < len(FRONTENDS):
        controller = os.environ.get("BGCTL_URL", "http://127.0.0.1:7070")
        status = httpx.get(
            f"{controller}/api/v1/services/{service}",
            headers=_authorization(),
            timeout=10,
        )
        status.raise_for_status()
        found = {**status.json()["endpoints"], **found}
    for name, url in found.items():
        if urlsplit(url).hostname not in LOCAL_HOSTS:
            raise SystemExit(f"{name} URL must point at this machine, got {url!r}")
    return found


def _authorization() -> dict[str, str]:
    """The controller's bearer token, as the bgctl CLI finds it."""
    token = os.environ.get("BGCTL_TOKEN", "").strip()
    if not token:
        state_dir = Path(os.environ.get("BGCTL_STATE_DIR") or ".bgctl")
        try:
            token = (state_dir / "admin.token").read_text().strip()
        except OSError:
            return {}
    return {"Authorization": f"Bearer {token}"}


class _FrontendUser(FastHttpUser):
    abstract = True
    frontend = "live"
    wait_time = between(0.05, 0.2)

    def on_start(self) -> None:
        self.base = endpoints()[self.frontend]

    def hit(self, path: str) -> None:
        self.client.get(f"{self.base}{path}", name=f"{self.frontend} {path}")


class LiveUser(_FrontendUser):
    """Traffic on the live frontend, as real users see it."""

    frontend = "live"

    @tag("live")
    @task
    def root(self) -> None:
        self.hit("/")


class PreviewUser(_FrontendUser):
    """Traffic on the preview frontend: the idle colour under test."""

    frontend = "preview"

    @tag("preview")
    @task
    def root(self) -> None:
        self.hit("/")


class BlueUser(_FrontendUser):
    """Traffic straight at blue, whatever is live."""

    frontend = "blue"

    @tag("blue")
    @task
    def root(self) -> None:
        self.hit("/")


class GreenUser(_FrontendUser):
    """Traffic straight at green, whatever is live."""

    frontend = "green"

    @tag("green")
    @task
    def root(self) -> None:
        self.hit("/")
