"""A controller for the benchmarks: its own process, proxy, state and service.

Each stack runs ``bgctl serve`` with one proxy driver in a fresh state
directory, registers one sample service on free ports of 127.0.0.1 and
labels every container it starts with ``bgctl.bench``. ``close`` stops the
controller, then ``bgctl down`` stops its proxy and removes its replicas,
so a benchmark leaves nothing behind, whatever happened in it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

BENCH_LABEL = "bgctl.bench"
SERVICE = "bench"
IMAGE = "bgctl-sample"
STARTUP_DELAY = 1.0  # the sample app's own slow start, in seconds
MIN_READY = 0.5  # how long every replica must stay ready before Verifying ends
FRONTENDS = ("live", "preview", "blue", "green")
# A release's phases after which nothing more happens by itself.
SETTLED = {"AwaitingPromotion", "Live", "Failed", "Aborted", "RolledBack"}


class StackError(Exception):
    """The controller did not start, or refused what the benchmark asked."""


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def bench_spec(replicas: int = 2) -> dict[str, Any]:
    """The sample service as the benchmarks run it, on fresh ports."""
    return {
        "name": SERVICE,
        "image": IMAGE,
        "port": 8000,
        "replicas": replicas,
        "env": {"SAMPLE_STARTUP_DELAY": f"{STARTUP_DELAY:g}"},
        "readiness": {
            "path": "/healthz",
            "interval": "100ms",
            "timeout": "1s",
            "min_ready": f"{MIN_READY:g}s",
        },
        "deploy_timeout": "30s",
        "drain_timeout": "2s",
        "analysis": {"duration": 0},
        "post_verify": {"duration": "1s", "interval": "100ms", "min_samples": 5},
        "standby_ttl": "1h",
        "endpoints": {name: free_port() for name in FRONTENDS},
    }


@dataclass
class Stack:
    """One ``bgctl serve`` with the ``driver`` proxy and the bench service."""

    driver: str  # haproxy or nginx
    state_dir: Path = field(
        default_factory=lambda: Path(tempfile.mkdtemp(prefix="bgctl-bench-"))
    )
    port: int = field(default_factory=free_port)
    labels: dict[str, str] = field(default_factory=lambda: {BENCH_LABEL: "true"})
    process: subprocess.Popen[bytes] | None = None
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}")

    def start(self, timeout: float = 60.0) -> None:
        """Start the controller and wait until it answers ready."""
        env = self._env(
            BGCTL_API_PORT=str(self.port),
            BGCTL_PROXY=self.driver,
            BGCTL_EXTRA_LABELS=",".join(f"{k}={v}" for k, v in self.labels.items()),
            BGCTL_STOP_TIMEOUT="5",
        )
        log = open(self.state_dir / "controller.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "controller", "serve"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self._wait_ready(timeout)
        token = (self.state_dir / "admin.token").read_text().strip()
        self.client.headers["Authorization"] = f"Bearer {token}"

    def _env(self, **settings: str) -> dict[str, str]:
        # Only this stack's settings apply: no token or port from the shell.
        env = {k: v for k, v in os.environ.items() if not k.startswith("BGCTL_")}
        env.update(BGCTL_STATE_DIR=str(self.state_dir), **settings)
        return env

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise StackError(f"{self.driver} controller exited:\n{self.log_tail()}")
            try:
                if self.client.get("/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise StackError(f"{self.driver} controller not ready:\n{self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        """The end of the controller's log."""
        path = self.state_dir / "controller.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """One API request; StackError unless it succeeded."""
        response = self.client.request(method, path, timeout=60, **kwargs)
        if response.status_code >= 300:
            raise StackError(
                f"{self.driver}: {method} {path} -> {response.status_code} "
                f"{response.text[:300]}"
            )
        return response.json()

    def register(self, spec: dict[str, Any]) -> None:
        """Register (or update) the bench service."""
        self.call("PUT", f"/api/v1/services/{spec['name']}", json=spec)

    def deploy(self, tag: str, timeout: float = 90.0) -> dict[str, Any]:
        """Release ``tag`` and wait until it settles; the release as it ended."""
        path = f"/api/v1/services/{SERVICE}/releases"
        release = self.call("POST", path, json={"image": f"{IMAGE}:{tag}"})
        return self.wait_settled(release["url"], timeout)

    def wait_settled(self, url: str, timeout: float = 90.0) -> dict[str, Any]:
        """Poll a release until its phase is one of SETTLED."""
        deadline = time.monotonic() + timeout
        while True:
            release: dict[str, Any] = self.call("GET", url)
            if release["phase"] in SETTLED:
                return release
            if time.monotonic() > deadline:
                raise StackError(f"{self.driver}: release stuck in {release['phase']}")
            time.sleep(0.1)

    def flip(self, action: str) -> tuple[float, float, dict[str, Any]]:
        """Promote or roll back: (unix time asked, seconds to answer, release)."""
        asked, started = time.time(), time.perf_counter()
        release = self.call("POST", f"/api/v1/services/{SERVICE}/{action}")
        return asked, time.perf_counter() - started, release

    def status(self) -> dict[str, Any]:
        """The service's status: live colour, colours, replicas, endpoints."""
        body: dict[str, Any] = self.call("GET", f"/api/v1/services/{SERVICE}")
        return body

    def rss_mb(self) -> float | None:
        """The controller's resident memory in MB, None once it has exited."""
        if self.process is None:
            return None
        try:
            text = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        for line in text.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return None

    def close(self) -> None:
        """Stop the controller, its proxy and its replicas; forget its state."""
        self.client.close()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if (self.state_dir / "bgctl.db").exists():
            subprocess.run(
                [sys.executable, "-m", "controller", "down"],
                env=self._env(),
                capture_output=True,
                start_new_session=True,  # out of reach of a terminal's Ctrl-C
                timeout=120,
                check=False,
            )
        shutil.rmtree(self.state_dir, ignore_errors=True)
