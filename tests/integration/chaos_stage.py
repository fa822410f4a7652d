"""A service with both colours up, opted in to chaos, and helpers to drive runs.

Green is live (v2) and blue keeps v1 warm as the standby, so a fault can hit
either colour without a release in flight.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest

from tests.harness import Controller, get, service_spec, unique_name

TERMINAL = {"completed", "failed", "aborted", "interrupted"}


def two_colour_service(controller: Controller, **changes: Any) -> str:
    """v1 on blue as standby, v2 live on green, chaos allowed on two replicas."""
    name = unique_name("chaos")
    spec = service_spec(
        name, chaos={"enabled": True, "max_replicas": 2}, standby_ttl="1h"
    )
    controller.register(spec | changes)
    controller.ship(name, "v1")
    controller.promote(name)
    controller.ship(name, "v2")
    controller.promote(name)
    return name


def experiment(service: str, *method: dict[str, Any], **parts: Any) -> dict[str, Any]:
    """An experiment document against ``service``."""
    return {"title": "scenario", "service": service, "method": list(method), **parts}


def fault(kind: str, color: str, **options: Any) -> dict[str, Any]:
    """A method activity that applies one fault."""
    background = options.pop("background", False)
    return {
        "type": "fault",
        "background": background,
        "fault": {"kind": kind, "color": color, **options},
    }


def submit(
    controller: Controller, document: dict[str, Any], dry_run: bool = False
) -> httpx.Response:
    """POST a run; the response is returned for the test to judge."""
    body = {"experiment": document, "dry_run": dry_run}
    return controller.api("POST", "/api/v1/chaos/runs", json=body)


def start(controller: Controller, document: dict[str, Any]) -> dict[str, Any]:
    """Start a run and return it; fails the test when it is refused."""
    response = submit(controller, document)
    assert response.status_code == 202, response.text
    run: dict[str, Any] = response.json()
    return run


def run_of(controller: Controller, run_id: str) -> dict[str, Any]:
    """A run with its journal."""
    response = controller.api("GET", f"/api/v1/chaos/runs/{run_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wait_run(
    controller: Controller, run_id: str, timeout: float = 60.0
) -> dict[str, Any]:
    """Poll a run until it has a verdict."""
    deadline = time.monotonic() + timeout
    run = run_of(controller, run_id)
    while run["status"] not in TERMINAL and time.monotonic() < deadline:
        time.sleep(0.2)
        run = run_of(controller, run_id)
    assert run["status"] in TERMINAL, f"run never ended: {run}\n{controller.log_tail()}"
    return run


def wait_faults(controller: Controller, run_id: str, count: int) -> dict[str, Any]:
    """Poll until ``count`` faults of the run are applied."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        run = run_of(controller, run_id)
        applied = [a for a in run["journal"] if a["type"] == "fault"]
        if len(applied) >= count or run["status"] in TERMINAL:
            return run
        time.sleep(0.1)
    pytest.fail(f"faults of {run_id} never applied:\n{controller.log_tail()}")


def open_faults(controller: Controller) -> list[dict[str, Any]]:
    """The faults the ledger holds open."""
    response = controller.api("GET", "/api/v1/chaos/faults")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()
    return found


def median_seconds(url: str, count: int = 15) -> float:
    """The median time of ``count`` sequential GETs to a 127.0.0.1 URL."""
    assert url.startswith("http://127.0.0.1:"), url
    times = []
    with httpx.Client(timeout=10) as client:
        for _ in range(count):
            began = time.perf_counter()
            client.get(url)
            times.append(time.perf_counter() - began)
    return statistics.median(times)


def endpoint(controller: Controller, service: str, name: str) -> str:
    """The URL of one of the service's frontends."""
    url: str = controller.status(service)["endpoints"][name]
    return url


def container_states(service: str, color: str) -> dict[str, str]:
    """The engine's state of each container of a colour, by id."""
    client = docker.from_env()
    found = client.containers.list(
        all=True,
        filters={"label": [f"bgctl.service={service}", f"bgctl.color={color}"]},
        ignore_removed=True,
    )
    return {c.id: c.status for c in found}


def fault_proxies(state_dir: Path) -> list[int]:
    """Fault-proxy processes started for a controller's state directory."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if b"chaos.faultproxy" in command and str(state_dir).encode() in command:
            found.append(int(entry.name))
    return [pid for pid in found if pid != os.getpid()]


def answers(url: str, count: int) -> dict[int, int]:
    """Status codes of ``count`` sequential GETs, counted."""
    seen: dict[int, int] = {}
    with httpx.Client(timeout=5) as client:
        for _ in range(count):
            status = client.get(url).status_code
            seen[status] = seen.get(status, 0) + 1
    return seen


__all__ = ["get"]
