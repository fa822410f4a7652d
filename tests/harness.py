"""A real controller process for integration tests, and what it needs.

Each test gets its own state directory, API port and proxy ports, and its
own service names, so tests never see each other's containers. Everything a
test starts is stopped and removed by the same test.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest

TEST_LABEL = "bgctl.test"
SAMPLE_IMAGES = ("bgctl-sample:v1", "bgctl-sample:v2", "bgctl-sample:unready")
TOKEN_VARIABLES = {"BGCTL_TOKENS", "BGCTL_TOKENS_FILE", "BGCTL_TOKEN"}
# The name of each role's test token; the admin's is the actor tests expect.
TOKEN_NAMES = {
    "admin": "pytest",
    "deployer": "ci",
    "sre": "oncall",
    "viewer": "grafana",
}


def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on right now."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def engine() -> docker.DockerClient:
    """The Docker engine, or a loud failure saying why the test cannot run."""
    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:  # any failure here means the same: no engine
        pytest.fail(f"this test needs the Docker engine, which did not answer: {exc}")
    return client


def require_images(client: docker.DockerClient, names: tuple[str, ...]) -> None:
    """Fail loudly when the sample images were not built."""
    missing = []
    for name in names:
        try:
            client.images.get(name)
        except docker.errors.ImageNotFound:
            missing.append(name)
    if missing:
        pytest.fail(f"images {missing} are missing: run scripts/build-images first")


def service_spec(name: str, **changes: Any) -> dict[str, Any]:
    """A spec of the sample app on fresh ports."""
    spec: dict[str, Any] = {
        "name": name,
        "image": "bgctl-sample",
        "port": 8000,
        "replicas": 2,
        "readiness": {
            "path": "/healthz",
            "interval": "200ms",
            "timeout": "1s",
            "min_ready": "500ms",
        },
        "deploy_timeout": "20s",
        "drain_timeout": "2s",
        "endpoints": {e: free_port() for e in ("live", "preview", "blue", "green")},
    }
    spec.update(changes)
    return spec


def unique_name(prefix: str = "t") -> str:
    """A service name no other test uses."""
    return f"{prefix}-{secrets.token_hex(3)}"


def write_tokens(path: Path) -> dict[str, str]:
    """A tokens file with one fresh token per role; the secrets by role."""
    secrets_by_role = {role: secrets.token_urlsafe(24) for role in TOKEN_NAMES}
    lines = [
        f"{role} {TOKEN_NAMES[role]} {secret}"
        for role, secret in secrets_by_role.items()
    ]
    path.write_text("# role name token\n" + "\n".join(lines) + "\n")
    path.chmod(0o600)
    return secrets_by_role


@dataclass
class Controller:
    """One ``bgctl serve`` process with its own state directory.

    Unless ``with_tokens`` is off, it reads a tokens file with one token per
    role (``TOKEN_NAMES``), and ``api`` sends the admin's.
    """

    state_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    services: set[str] = field(default_factory=set)
    extra_env: dict[str, str] = field(default_factory=dict)  # BGCTL_* settings
    with_tokens: bool = True
    tokens: dict[str, str] = field(default_factory=dict)  # secrets by role

    def __post_init__(self) -> None:
        if self.with_tokens:
            self.tokens = write_tokens(self.tokens_file)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def tokens_file(self) -> Path:
        return self.state_dir / "tokens"

    def env(self) -> dict[str, str]:
        # Tokens come from this harness only, never from the caller's shell.
        env = {k: v for k, v in os.environ.items() if k not in TOKEN_VARIABLES}
        env.update(
            BGCTL_STATE_DIR=str(self.state_dir),
            BGCTL_API_PORT=str(self.port),
            BGCTL_EXTRA_LABELS=f"{TEST_LABEL}=true",
            BGCTL_STOP_TIMEOUT="5",
        )
        if self.with_tokens:
            env["BGCTL_TOKENS_FILE"] = str(self.tokens_file)
        env.update(self.extra_env)
        return env

    def bearer(self, role: str = "admin") -> dict[str, str]:
        """The Authorization header of this controller's token of ``role``."""
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def start(self, timeout: float = 30.0) -> None:
        """Start the process and wait until it reports ready."""
        log = open(self.state_dir / "controller.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "controller", "serve", "--log-level", "debug"],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"controller exited early:\n{self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        pytest.fail(f"controller not ready after {timeout}s:\n{self.log_tail()}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send a signal and wait for the process to end."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout=30)

    def log_tail(self, lines: int = 40) -> str:
        path = self.state_dir / "controller.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def api(
        self, method: str, path: str, role: str | None = "admin", **kwargs: Any
    ) -> httpx.Response:
        """One request to the API with the token of ``role`` (None: no token)."""
        auth = self.bearer(role) if role and self.tokens else {}
        headers = {**auth, **kwargs.pop("headers", {})}
        return httpx.request(
            method, f"{self.url}{path}", headers=headers, timeout=60, **kwargs
        )

    def cli(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """Run ``bgctl ARGS`` against this controller with only ``env``'s token.

        Unless ``env`` names one, the CLI's state directory is an empty one,
        so it finds no admin token by default.
        """
        clean = {k: v for k, v in os.environ.items() if k not in TOKEN_VARIABLES}
        clean.update(BGCTL_URL=self.url, BGCTL_STATE_DIR=str(self.state_dir / "empty"))
        clean.update(env)
        return subprocess.run(
            [sys.executable, "-m", "controller", *args],
            env=clean,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def register(self, spec: dict[str, Any]) -> dict[str, Any]:
        self.services.add(spec["name"])
        response = self.api("PUT", f"/api/v1/services/{spec['name']}", json=spec)
        assert response.status_code in (200, 201), response.text
        body: dict[str, Any] = response.json()
        return body

    def release(self, service: str, image: str) -> dict[str, Any]:
        response = self.api(
            "POST", f"/api/v1/services/{service}/releases", json={"image": image}
        )
        assert response.status_code == 202, response.text
        body: dict[str, Any] = response.json()
        return body

    def wait_phase(
        self, release: dict[str, Any], phases: set[str], timeout: float = 60.0
    ) -> dict[str, Any]:
        """Poll a release until it reaches one of ``phases``."""
        deadline = time.monotonic() + timeout
        body = release
        while time.monotonic() < deadline:
            body = self.api("GET", release["url"]).json()
            if body["phase"] in phases:
                return body
            time.sleep(0.2)
        pytest.fail(f"release stuck in {body['phase']}: {body}\n{self.log_tail()}")

    def ship(self, service: str, image: str) -> dict[str, Any]:
        """Release an image and wait until it awaits promotion or goes live."""
        release = self.release(service, image)
        done = self.wait_phase(
            release, {"AwaitingPromotion", "Live", "Failed", "Aborted"}
        )
        assert done["phase"] in {"AwaitingPromotion", "Live"}, done
        return done

    def promote(self, service: str) -> dict[str, Any]:
        response = self.api("POST", f"/api/v1/services/{service}/promote")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["phase"] == "PostVerifying":
            body = self.wait_phase(body, {"Live", "RolledBack", "Aborted"})
        assert body["phase"] == "Live", body
        return body

    def live_service(self, **changes: Any) -> str:
        """A new service with v1 live on blue, then its spec changed."""
        name = unique_name()
        self.register(service_spec(name))
        self.ship(name, "v1")
        self.promote(name)
        if changes:
            self.register(self.status(name)["spec"] | changes)
        return name

    def status(self, service: str) -> dict[str, Any]:
        body: dict[str, Any] = self.api("GET", f"/api/v1/services/{service}").json()
        return body


class TrafficLoop:
    """A bounded request loop on one URL in a thread, counting what came back.

    It stops by itself after ``limit`` requests or ``seconds``, whichever
    comes first, and only ever talks to 127.0.0.1.
    """

    def __init__(self, url: str, limit: int = 20_000, seconds: float = 90) -> None:
        assert url.startswith("http://127.0.0.1:"), url
        self.url, self.limit, self.seconds = url, limit, seconds
        self.answers: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TrafficLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        deadline = time.monotonic() + self.seconds
        with httpx.Client(timeout=5) as client:
            for _ in range(self.limit):
                if self._stop.is_set() or time.monotonic() > deadline:
                    return
                try:
                    response = client.get(self.url)
                    key = f"{response.status_code} {response.text.strip()}"
                except httpx.HTTPError as exc:
                    key = type(exc).__name__
                self.answers[key] += 1
                time.sleep(0.005)

    @property
    def failures(self) -> dict[str, int]:
        """Every answer that was not a 2xx, by kind."""
        return {k: n for k, n in self.answers.items() if not k.startswith("2")}


def containers_of(service: str, release: str | None = None) -> list[Any]:
    """The engine's containers of one test service (or one of its releases)."""
    labels = [f"bgctl.service={service}", f"{TEST_LABEL}=true"]
    if release is not None:
        labels.append(f"bgctl.release={release}")
    found: list[Any] = docker.from_env().containers.list(
        all=True, filters={"label": labels}, ignore_removed=True
    )
    return found


def cleanup(controller: Controller, client: docker.DockerClient) -> None:
    """Stop the controller and its proxy; remove the test's containers."""
    controller.kill(signal.SIGTERM)
    stop_proxy(controller.state_dir)
    # Other tests on the engine may remove theirs between list and inspect.
    for container in client.containers.list(
        all=True,
        filters={"label": [f"{TEST_LABEL}=true", "bgctl.managed=true"]},
        ignore_removed=True,
    ):
        if container.labels.get("bgctl.service") in controller.services:
            container.remove(force=True)


def stop_proxy(state_dir: Path) -> None:
    """Stop the proxy a controller left running for its state directory."""
    from proxy.haproxy import HAProxyDriver
    from proxy.nginx import NginxDriver

    HAProxyDriver(state_dir).stop()
    if (state_dir / "nginx").exists():
        NginxDriver(state_dir).stop()


def get(url: str) -> httpx.Response:
    """One bounded GET from the test to 127.0.0.1."""
    return httpx.get(url, timeout=5)


def serving(controller: Controller, service: str, endpoint: str) -> tuple[str, str]:
    """The (version, colour) that one frontend answers with now."""
    status = controller.status(service)
    response = get(status["endpoints"][endpoint] + "/version")
    return response.text.strip(), response.headers.get("x-bgctl-color", "")


def controller_fixture(
    env: Mapping[str, str] | None = None, with_tokens: bool = True
) -> Iterator[Controller]:
    """Start a controller for one test, with extra settings, and clean up after it.

    The state directory is short on purpose: HAProxy's sockets live in it,
    and a unix socket path must stay under about a hundred bytes. Without
    tokens, the controller makes its own admin token there.
    """
    client = engine()
    require_images(client, SAMPLE_IMAGES)
    state_dir = Path(tempfile.mkdtemp(prefix="bgctl-"))
    controller = Controller(
        state_dir, extra_env=dict(env or {}), with_tokens=with_tokens
    )
    try:
        controller.start()
        yield controller
    finally:
        cleanup(controller, client)
        shutil.rmtree(controller.state_dir, ignore_errors=True)
