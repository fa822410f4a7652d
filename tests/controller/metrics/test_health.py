"""The replica health snapshot probes each colour's replicas at their readiness path."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from controller.metrics.health import ColorHealth, ReplicaHealth
from controller.spec import ServiceSpec
from controller.store import Store
from proxy.routes import Address, Color

SPEC = ServiceSpec.model_validate(
    {
        "name": "web",
        "image": "bgctl-sample",
        "port": 8000,
        "endpoints": {"live": 8080, "preview": 8081, "blue": 8082, "green": 8083},
    }
)


class Ready(BaseHTTPRequestHandler):
    """Answers 200 on the readiness path and 404 elsewhere."""

    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/healthz" else 404)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def replica() -> Iterator[Address]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Ready)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Address("127.0.0.1", server.server_address[1])
    server.shutdown()
    server.server_close()


def closed_port() -> Address:
    """An address of 127.0.0.1 that nothing listens on."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Ready)
    port = server.server_address[1]
    server.server_close()
    return Address("127.0.0.1", port)


def test_a_check_counts_ready_and_total_replicas_per_colour(
    tmp_path: Path, replica: Address
) -> None:
    store = Store(tmp_path / "bgctl.db")
    store.put_service(SPEC)
    store.set_slot("web", Color.BLUE, "r1", (("c1", replica), ("c2", closed_port())))
    health = ReplicaHealth(store, httpx.AsyncClient())
    assert health.snapshot() == {}

    asyncio.run(health.check())

    assert health.snapshot() == {
        ("web", Color.BLUE): ColorHealth(ready=1, total=2),
        ("web", Color.GREEN): ColorHealth(ready=0, total=0),
    }
    store.close()
