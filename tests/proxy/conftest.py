"""Fixtures for the proxy tests: the proxy binaries and running stacks."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from proxy.haproxy import HAProxyDriver
from proxy.nginx import NginxDriver
from proxy.routes import Endpoint
from tests.proxy.haproxy_harness import (
    Stack,
    free_ports,
    haproxy_processes,
    running_replicas,
)
from tests.proxy.nginx_harness import find_binary, nginx_processes

SYSTEM_SBIN = os.pathsep.join(["/usr/local/sbin", "/usr/sbin", "/sbin"])


@pytest.fixture(scope="session")
def haproxy_bin() -> str:
    """The HAProxy binary; the proxy tests fail, never skip, without it."""
    search = os.environ.get("PATH", "") + os.pathsep + SYSTEM_SBIN
    found = shutil.which("haproxy", path=search)
    if found is None:
        pytest.fail("haproxy is not installed; the proxy tests need the real binary")
    return found


@pytest.fixture
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short state directory, so socket paths stay within the kernel's limit."""
    return tmp_path_factory.mktemp("hx")


@pytest.fixture
def make_driver(
    state_dir: Path, haproxy_bin: str
) -> Iterator[Callable[..., HAProxyDriver]]:
    """Builds drivers on ``state_dir``; kills whatever HAProxy is left after."""

    def build(**options: float) -> HAProxyDriver:
        return HAProxyDriver(state_dir, haproxy_bin, stop_grace=3.0, **options)

    yield build
    for pid in haproxy_processes(state_dir):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def stack(make_driver: Callable[..., HAProxyDriver]) -> Iterator[Stack]:
    """Two replicas per colour behind a started driver, live blue."""
    yield from started_stack(make_driver())


@pytest.fixture(scope="session")
def nginx_bin() -> str:
    """The nginx binary; the nginx tests fail, never skip, without it."""
    found = find_binary("nginx")
    if found is None:
        pytest.fail(
            "nginx is not installed; the nginx driver tests need the real binary "
            "(scripts/setup installs nginx-light)"
        )
    return found


@pytest.fixture
def make_nginx_driver(
    state_dir: Path, nginx_bin: str
) -> Iterator[Callable[..., NginxDriver]]:
    """Builds nginx drivers on ``state_dir``; kills whatever nginx is left after."""

    def build(**options: float) -> NginxDriver:
        return NginxDriver(state_dir, nginx_bin, stop_grace=3.0, **options)

    yield build
    for pid in nginx_processes(state_dir):
        os.kill(pid, signal.SIGKILL)


@pytest.fixture
def nginx_stack(make_nginx_driver: Callable[..., NginxDriver]) -> Iterator[Stack]:
    """Two replicas per colour behind a started nginx driver, live blue."""
    yield from started_stack(make_nginx_driver())


@pytest.fixture(params=["haproxy", "nginx"])
def any_stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    """The same started stack behind each driver in turn."""
    factory = "make_driver" if request.param == "haproxy" else "make_nginx_driver"
    yield from started_stack(request.getfixturevalue(factory)())


def started_stack(driver: HAProxyDriver | NginxDriver) -> Iterator[Stack]:
    """Start ``driver`` in front of two replicas per colour; stop it after."""
    names = ("blue-a", "blue-b", "green-a", "green-b")
    with (
        running_replicas(*names) as replicas,
        httpx.Client(trust_env=False, timeout=5.0) as client,
    ):
        ports = dict(zip(Endpoint, free_ports(len(Endpoint)), strict=True))
        built = Stack(driver, replicas, ports, client)  # type: ignore[arg-type]
        built.driver.start(built.table())
        try:
            yield built
        finally:
            client.close()
            built.driver.stop()
