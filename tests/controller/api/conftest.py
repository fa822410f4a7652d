"""An in-process controller for API unit tests: real app, store and auth, with
an engine that holds no images and a proxy that accepts every route table.

These check what the API layer decides (who may call what, what the audit
log keeps); the same paths are proven against a real process in
tests/integration.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from controller.api import create_app
from controller.runtime.base import Image, Replica, ReplicaRequest
from controller.runtime.errors import ImageNotFound
from controller.settings import Settings
from controller.tokens import Role, issue
from proxy.routes import Color, Endpoint, RouteTable

SECRETS = {role: f"{role.value}-secret-0123456789" for role in Role}


class EmptyEngine:
    """An engine without images or containers."""

    def resolve_image(self, reference: str) -> Image:
        raise ImageNotFound(reference)

    def start_replica(self, request: ReplicaRequest) -> Replica:
        raise AssertionError("no test here starts a replica")

    def inspect(self, container_id: str) -> Replica:
        raise AssertionError("no test here has a replica")

    def list_replicas(
        self, service: str | None = None, color: Color | None = None
    ) -> list[Replica]:
        return []

    def logs(self, container_id: str, tail: int = 20) -> str:
        return ""

    def stop_replica(self, container_id: str, timeout: float) -> None:
        return None

    def kill(self, container_id: str, signal: str) -> None:
        raise AssertionError("no test here has a replica")

    def halt(self, container_id: str, timeout: float) -> None:
        raise AssertionError("no test here has a replica")

    def pause(self, container_id: str) -> None:
        raise AssertionError("no test here has a replica")

    def unpause(self, container_id: str) -> None:
        raise AssertionError("no test here has a replica")

    def start(self, container_id: str) -> Replica:
        raise AssertionError("no test here has a replica")

    def restart(self, container_id: str, timeout: float) -> Replica:
        raise AssertionError("no test here has a replica")


class AcceptingProxy:
    """A proxy driver that accepts every table and serves nothing."""

    def start(self, table: RouteTable) -> None:
        return None

    def stop(self) -> None:
        return None

    def is_running(self) -> bool:
        return True

    def apply(self, table: RouteTable) -> None:
        return None

    def served_colors(self, service: str) -> dict[Endpoint, Color | None]:
        return {}

    def sessions(self, service: str, color: Color) -> int:
        return 0


def bearer(role: Role) -> dict[str, str]:
    """The Authorization header of the test token of ``role``."""
    return {"Authorization": f"Bearer {SECRETS[role]}"}


def make_client(settings: Settings) -> TestClient:
    """A test client of an app built from ``settings``."""
    app = create_app(settings, EmptyEngine(), AcceptingProxy())
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[TestClient]:
    """A started app with one token per role, each named after its role."""
    tokens = tuple(
        issue(role, role.value, secret, "test") for role, secret in SECRETS.items()
    )
    with make_client(Settings(state_dir=tmp_path, tokens=tokens)) as client:
        yield client
