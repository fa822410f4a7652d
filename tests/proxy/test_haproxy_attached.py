"""An HAProxy master started outside the driver, as the stack's container
starts it: the driver renders, reloads and flips it, and never stops it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from proxy.errors import ProxyUnavailable
from proxy.haproxy import HAProxyDriver
from proxy.routes import Color, Endpoint
from tests.proxy.haproxy_harness import Stack, free_ports, running_replicas

ENTRYPOINT = Path(__file__).resolve().parents[2] / "compose/image/haproxy-start"


@pytest.fixture
def outside_master(state_dir: Path, haproxy_bin: str) -> Iterator[Path]:
    """The stack's HAProxy entrypoint on ``state_dir``; killed after the test."""
    home = state_dir / "haproxy"
    env = {
        **os.environ,
        "BGCTL_HAPROXY_HOME": str(home),
        "PATH": f"{Path(haproxy_bin).parent}{os.pathsep}{os.environ['PATH']}",
    }
    master = subprocess.Popen(
        [str(ENTRYPOINT)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield home
    finally:
        os.killpg(master.pid, signal.SIGKILL)
        master.wait(timeout=5)


@contextlib.contextmanager
def attached_stack(driver: HAProxyDriver) -> Iterator[Stack]:
    """Two replicas per colour behind ``driver``, started, live blue."""
    names = ("blue-a", "blue-b", "green-a", "green-b")
    with (
        running_replicas(*names) as replicas,
        httpx.Client(trust_env=False, timeout=5.0) as client,
    ):
        ports = dict(zip(Endpoint, free_ports(len(Endpoint)), strict=True))
        stack = Stack(driver, replicas, ports, client)
        stack.driver.start(stack.table())
        try:
            yield stack
        finally:
            stack.driver.stop()


def test_an_attached_driver_serves_and_flips_the_master_it_did_not_start(
    outside_master: Path, state_dir: Path, haproxy_bin: str
) -> None:
    driver = HAProxyDriver(state_dir, haproxy_bin, attached=True)
    with attached_stack(driver) as stack:
        assert stack.answer_of(Endpoint.LIVE)[1] == "blue"
        assert stack.answer_of(Endpoint.PREVIEW)[1] == "green"

        stack.driver.apply(stack.table(stack.routes(live=Color.GREEN)))
        assert stack.answer_of(Endpoint.LIVE)[1] == "green"
        assert (outside_master / "haproxy.cfg").read_text().count("frontend") == 4


def test_stopping_an_attached_driver_leaves_the_master_serving(
    outside_master: Path, state_dir: Path, haproxy_bin: str
) -> None:
    first = HAProxyDriver(state_dir, haproxy_bin, attached=True)
    with attached_stack(first) as stack:
        stack.driver.apply(stack.table(stack.routes(live=Color.GREEN)))
    assert first.process.pid is None

    second = HAProxyDriver(state_dir, haproxy_bin, attached=True)
    assert second.process.adopt() is not None
    assert second.served_colors("web")[Endpoint.LIVE] is Color.GREEN


def test_an_attached_driver_with_no_master_says_so(
    state_dir: Path, haproxy_bin: str
) -> None:
    driver = HAProxyDriver(state_dir, haproxy_bin, attached=True, timeout=0.5)
    refused = pytest.raises(ProxyUnavailable, match="started outside the controller")
    with refused, attached_stack(driver):
        pass
