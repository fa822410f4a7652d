"""Fixtures for the chaos tests: fault proxies, a ledger and routes on HAProxy.

The HAProxy fixtures come from the proxy tests. ``StackRoutes`` does to
the test stack what the controller's router does to its table: a detour
replaces a replica's address in its colour's servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from chaos.errors import FaultFailed
from chaos.fault_spec import Fault
from chaos.faultproxy.config import read_ready
from chaos.faultproxy.launch import find_proxies
from chaos.faults.traffic import TrafficFaults
from chaos.ledger import FaultRecord, Ledger
from chaos.ports import ChaosPolicy, ReplicaRef, ServiceFacts
from proxy.routes import Address, Color, Endpoint
from tests.proxy.conftest import haproxy_bin, make_driver, stack, state_dir
from tests.proxy.haproxy_harness import (
    LOCALHOST,
    ReplicaHandler,
    ReplicaServer,
    Stack,
    running_replicas,
)

__all__ = ["haproxy_bin", "make_driver", "stack", "state_dir"]

RUN = "run-test"
READY_TIMEOUT = 10.0
MAX_BULK = 10_000_000
FACTS = ServiceFacts(
    name="web",
    policy=ChaosPolicy(enabled=True, max_replicas=2),
    live=Color.BLUE,
    health_path="/healthz",
    release_in_flight=None,
)


@pytest.fixture
def anyio_backend() -> str:
    """Async tests run on asyncio, as the controller does."""
    return "asyncio"


# The fault proxy on its own, started as a process the way the mechanism does.


class NoDelayHandler(ReplicaHandler):
    """A replica that sends at once and also answers ``/bulk?bytes=N``.

    It sends without Nagle's delay: the replica writes head and body
    apart, and on a reused connection the body would otherwise wait for
    the peer's delayed acknowledgement (40 ms), which a latency
    measurement must not mistake for the fault.
    """

    disable_nagle_algorithm = True

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path != "/bulk":
            super().do_GET()
            return
        size = min(int(parse_qs(url.query).get("bytes", ["0"])[0]), MAX_BULK)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        self.wfile.write(b"x" * size)


@pytest.fixture
def upstreams() -> Iterator[dict[str, ReplicaServer]]:
    """Two replicas on 127.0.0.1 that can also send bulk answers."""
    with running_replicas("solo-a", "solo-b") as started:
        for replica in started.values():
            replica.RequestHandlerClass = NoDelayHandler
        yield started


@dataclass
class StartedProxy:
    """A fault proxy process started by a test, and its ports."""

    process: subprocess.Popen[bytes]
    ports: list[int]

    def url(self, path: str = "/", upstream: int = 0) -> str:
        """A URL on the listener of one upstream."""
        return f"http://{LOCALHOST}:{self.ports[upstream]}{path}"


StartProxy = Callable[..., StartedProxy]


@pytest.fixture
def spawn_proxy(tmp_path: Path) -> Iterator[Callable[[str], subprocess.Popen[bytes]]]:
    """Starts ``python -m chaos.faultproxy ARGUMENT``; kills what is left after."""
    started: list[subprocess.Popen[bytes]] = []

    def run(argument: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-m", "chaos.faultproxy", argument],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        started.append(process)
        return process

    yield run
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=5)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture
def start_proxy(
    upstreams: dict[str, ReplicaServer],
    spawn_proxy: Callable[[str], subprocess.Popen[bytes]],
    tmp_path: Path,
) -> StartProxy:
    """Starts a proxy for ``fault`` in front of the replicas; waits until ready."""
    count = 0

    def start(fault: dict[str, Any], **changes: Any) -> StartedProxy:
        nonlocal count
        count += 1
        config = {
            "marker": f"bgctl-test-{os.getpid()}-{count}",
            "upstreams": [
                {"host": r.address.host, "port": r.address.port}
                for _, r in sorted(upstreams.items())
            ],
            "fault": fault,
            "exempt": ["/healthz"],
            "log_file": str(tmp_path / f"proxy-{count}.log"),
            **changes,
        }
        process = spawn_proxy(json.dumps(config))
        return StartedProxy(process, read_ready(first_line(process, READY_TIMEOUT)))

    return start


def first_line(process: subprocess.Popen[bytes], timeout: float) -> str:
    """The first line the process prints, or "" if none comes in time."""
    if process.stdout is None:
        return ""
    readable, _, _ = select.select([process.stdout], [], [], timeout)
    return process.stdout.readline().decode() if readable else ""


# The mechanism, splicing proxies into the routes of a real HAProxy.


class StackRoutes:
    """Routes over the test stack: each detour replaces a replica's address."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.detours: dict[Address, Address] = {}

    async def splice(
        self, service: str, color: Color, detours: Mapping[Address, Address]
    ) -> None:
        """Reach the replicas at their detours."""
        self.detours.update(detours)
        await asyncio.to_thread(self._apply)

    async def unsplice(
        self, service: str, color: Color, detours: Mapping[Address, Address]
    ) -> None:
        """Reach the replicas directly again."""
        for replica, detour in detours.items():
            if self.detours.get(replica) == detour:
                del self.detours[replica]
        await asyncio.to_thread(self._apply)

    def url(self, service: str, endpoint: Endpoint) -> str:
        """A frontend of the stack's one service."""
        return self.stack.url(endpoint)

    def _apply(self) -> None:
        servers = {
            color: tuple(
                self.detours.get(a, a) if a else None
                for a in self.stack.addresses(color)
            )
            for color in Color
        }
        self.stack.driver.apply(self.stack.table(self.stack.routes(servers=servers)))


@dataclass
class Faults:
    """A ledger and a mechanism over it, with the records opened so far."""

    ledger: Ledger
    ledger_path: Path
    mechanism: TrafficFaults
    routes: StackRoutes
    log_dir: Path
    records: list[int] = field(default_factory=list)

    async def inject(self, fault: Fault, targets: Sequence[ReplicaRef]) -> FaultRecord:
        """Open a record for ``fault`` and inject it; the record after."""
        record = self.ledger.open(
            RUN,
            fault.kind,
            FACTS.name,
            Color.GREEN,
            [t.container_id for t in targets],
            time.time() + 60,
            {},
        )
        self.records.append(record.id)
        await self.mechanism.inject(record, fault, targets, FACTS, self.ledger)
        return self.record(record.id)

    def record(self, fault_id: int) -> FaultRecord:
        """A record as the ledger holds it now."""
        return next(r for r in self.ledger.of_run(RUN) if r.id == fault_id)

    def fresh(self) -> TrafficFaults:
        """A new mechanism over new routes, as after a controller restart."""
        return TrafficFaults(StackRoutes(self.routes.stack), log_dir=self.log_dir)


def green_targets(stack: Stack) -> list[ReplicaRef]:
    """Every green replica of the stack, as chaos sees it."""
    names = sorted(n for n in stack.replicas if n.startswith("green"))
    return [
        ReplicaRef(
            container_id=f"container-{name}",
            name=name,
            service=FACTS.name,
            color=Color.GREEN,
            index=index,
            state="running",
            address=stack.replicas[name].address,
        )
        for index, name in enumerate(names, start=1)
    ]


@pytest.fixture
async def traffic(stack: Stack, tmp_path: Path) -> AsyncIterator[Faults]:
    """The mechanism over the stack's routes; undoes what a test left open."""
    for replica in stack.replicas.values():
        replica.RequestHandlerClass = NoDelayHandler
    ledger = Ledger(tmp_path / "chaos.db")
    routes = StackRoutes(stack)
    mechanism = TrafficFaults(routes, log_dir=tmp_path / "faults")
    built = Faults(
        ledger, tmp_path / "chaos.db", mechanism, routes, tmp_path / "faults"
    )
    yield built
    for record in ledger.of_run(RUN):
        with contextlib.suppress(FaultFailed):
            await built.mechanism.undo(record)
        marker = record.undo.get("marker")
        for pid in find_proxies(marker) if marker else []:
            os.kill(pid, signal.SIGKILL)
    ledger.shutdown()
