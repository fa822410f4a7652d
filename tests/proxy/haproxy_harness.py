"""Real HTTP replicas on 127.0.0.1 and a route table around them.

Each replica is a threaded ``http.server`` answering ``/`` with its own
name, ``/healthz`` with 200 while healthy, and ``/slow?seconds=N`` after a
pause, so tests can hold a request in flight.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from proxy.haproxy import HAProxyDriver
from proxy.routes import Address, Color, Endpoint, RouteTable, ServiceRoutes

LOCALHOST = "127.0.0.1"
MAX_REQUESTS = 2000
MAX_SECONDS = 20.0


class ReplicaHandler(BaseHTTPRequestHandler):
    """Answers as the replica that owns the server."""

    protocol_version = "HTTP/1.1"
    server: ReplicaServer

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/healthz":
            self.answer(200 if self.server.healthy else 503, "ok")
            return
        if url.path == "/slow":
            seconds = float(parse_qs(url.query).get("seconds", ["1"])[0])
            time.sleep(min(seconds, 10.0))
        self.answer(200, self.server.name)

    def answer(self, status: int, body: str) -> None:
        data = (body + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""


class ReplicaServer(ThreadingHTTPServer):
    """A named HTTP server on a free port of 127.0.0.1."""

    daemon_threads = True

    def __init__(self, name: str) -> None:
        super().__init__((LOCALHOST, 0), ReplicaHandler)
        self.name = name
        self.healthy = True

    def handle_error(self, request: object, client_address: object) -> None:
        """Health checks hang up without reading the body; that is no error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]

    @property
    def address(self) -> Address:
        return Address(LOCALHOST, self.server_address[1])


@contextlib.contextmanager
def running_replicas(*names: str) -> Iterator[dict[str, ReplicaServer]]:
    """Start one replica per name in background threads; stop them after."""
    replicas = {name: ReplicaServer(name) for name in names}
    threads = [
        threading.Thread(target=r.serve_forever, kwargs={"poll_interval": 0.05})
        for r in replicas.values()
    ]
    for thread in threads:
        thread.start()
    try:
        yield replicas
    finally:
        for replica in replicas.values():
            replica.shutdown()
            replica.server_close()


def free_ports(count: int) -> list[int]:
    """``count`` distinct ports of 127.0.0.1 that were free a moment ago."""
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind((LOCALHOST, 0))
        return [sock.getsockname()[1] for sock in socks]


@dataclass
class Stack:
    """A driver, two replicas per colour and the ports of one service."""

    driver: HAProxyDriver
    replicas: dict[str, ReplicaServer]
    ports: dict[Endpoint, int]
    client: httpx.Client
    service: str = "web"
    extra: dict[str, ServiceRoutes] = field(default_factory=dict)

    def addresses(self, color: Color) -> tuple[Address | None, ...]:
        """The addresses of a colour's replicas, in slot order."""
        return tuple(
            replica.address
            for name, replica in sorted(self.replicas.items())
            if name.startswith(str(color))
        )

    def routes(
        self,
        live: Color | None = Color.BLUE,
        preview: Color | None = Color.GREEN,
        **changes: object,
    ) -> ServiceRoutes:
        """The service's routes, both colours filled."""
        values: dict[str, object] = {
            "service": self.service,
            "ports": self.ports,
            "slots": 2,
            "servers": {color: self.addresses(color) for color in Color},
            "live": live,
            "preview": preview,
        }
        values.update(changes)
        return ServiceRoutes(**values)  # type: ignore[arg-type]

    def table(self, *services: ServiceRoutes) -> RouteTable:
        """A table of the given routes, or of the default ones."""
        chosen = services or (self.routes(),)
        return RouteTable(services={routes.service: routes for routes in chosen})

    def url(self, endpoint: Endpoint, path: str = "/") -> str:
        """The URL of a frontend of the service on 127.0.0.1."""
        return f"http://{LOCALHOST}:{self.ports[endpoint]}{path}"

    def get(self, endpoint: Endpoint, path: str = "/") -> httpx.Response:
        """One GET to a frontend of the service."""
        return self.client.get(self.url(endpoint, path))

    def answer_of(self, endpoint: Endpoint) -> tuple[str, str]:
        """Which replica answered a GET to ``endpoint``, and its colour header."""
        response = self.get(endpoint)
        response.raise_for_status()
        return response.text.strip(), response.headers["X-Bgctl-Color"]


@contextlib.contextmanager
def request_loops(url: str) -> Iterator[Counter[str]]:
    """GET ``url`` in two loops (one keep-alive) while the block runs.

    Yields a counter of ``"<status> <colour>"`` and ``"error <kind>"``
    filled in when the block ends. Each loop stops at the end of the block,
    after MAX_REQUESTS requests or after MAX_SECONDS, whichever comes first.
    """
    done = threading.Event()
    counts: list[Counter[str]] = [Counter(), Counter()]
    loops = [
        threading.Thread(target=request_loop, args=(url, done, keep_alive, count))
        for keep_alive, count in zip((True, False), counts, strict=True)
    ]
    for loop in loops:
        loop.start()
    total: Counter[str] = Counter()
    try:
        yield total
    finally:
        done.set()
        for loop in loops:
            loop.join(timeout=MAX_SECONDS + 5)
        for count in counts:
            total.update(count)


def request_loop(
    url: str, done: threading.Event, keep_alive: bool, results: Counter[str]
) -> None:
    """GET ``url`` until ``done``, at most MAX_REQUESTS times or MAX_SECONDS."""
    deadline = time.monotonic() + MAX_SECONDS
    limits = httpx.Limits(max_keepalive_connections=1 if keep_alive else 0)
    with httpx.Client(trust_env=False, timeout=5.0, limits=limits) as client:
        for _ in range(MAX_REQUESTS):
            if done.is_set() or time.monotonic() > deadline:
                return
            try:
                response = client.get(url)
            except httpx.HTTPError as exc:
                results[f"error {type(exc).__name__}"] += 1
                continue
            color = response.headers.get("X-Bgctl-Color")
            results[f"{response.status_code} {color}"] += 1


def haproxy_processes(marker: Path) -> list[int]:
    """Pids of live HAProxy processes whose command line names ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if state != "Z" and b"haproxy" in argv and os.fsencode(marker) in argv:
            found.append(int(entry.name))
    return found
