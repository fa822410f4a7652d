"""The nginx driver's reloads, refusals, adoption and stop, on a real nginx."""

from __future__ import annotations

import dataclasses
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from proxy.errors import ConfigRejected, ProxyUnavailable
from proxy.nginx import NginxDriver, driver
from proxy.policies import wait_for
from proxy.routes import Color, Endpoint, RouteTable, ServiceRoutes
from tests.proxy.haproxy_harness import LOCALHOST, Stack, free_ports
from tests.proxy.nginx_harness import nginx_processes


def second_service(stack: Stack) -> ServiceRoutes:
    """Another service on new ports, served by the same replicas."""
    ports = dict(zip(Endpoint, free_ports(len(Endpoint)), strict=True))
    return dataclasses.replace(stack.routes(), service="api", ports=ports)


def test_a_flip_reloads_into_new_workers(nginx_stack: Stack) -> None:
    workers = nginx_stack.driver.worker_pids()
    routes = nginx_stack.routes(live=Color.GREEN, preview=Color.BLUE)

    nginx_stack.driver.apply(nginx_stack.table(routes))

    assert set(nginx_stack.driver.worker_pids()).isdisjoint(workers)
    assert nginx_stack.answer_of(Endpoint.LIVE)[1] == "green"


def test_applying_the_same_table_again_does_not_reload(nginx_stack: Stack) -> None:
    workers = nginx_stack.driver.worker_pids()

    nginx_stack.driver.apply(nginx_stack.table())

    assert nginx_stack.driver.worker_pids() == workers


def test_a_configuration_nginx_refuses_is_never_loaded(
    nginx_stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    workers = nginx_stack.driver.worker_pids()
    config = nginx_stack.driver.files.config.read_text()
    render = driver.render_config
    monkeypatch.setattr(
        driver, "render_config", lambda *a: render(*a) + "no_such_directive on;\n"
    )

    with pytest.raises(ConfigRejected) as refused:
        nginx_stack.driver.apply(nginx_stack.table(nginx_stack.routes(live=None)))

    assert "no_such_directive" in refused.value.output
    assert nginx_stack.driver.worker_pids() == workers
    assert nginx_stack.driver.files.config.read_text() == config
    assert not nginx_stack.driver.files.candidate.exists()
    assert nginx_stack.answer_of(Endpoint.LIVE)[1] == "blue"
    assert nginx_stack.driver.served_colors("web")[Endpoint.LIVE] is Color.BLUE


def test_a_reload_that_cannot_bind_keeps_the_old_workers_serving(
    nginx_stack: Stack,
) -> None:
    workers = nginx_stack.driver.worker_pids()
    config = nginx_stack.driver.files.config.read_text()
    api = second_service(nginx_stack)
    with socket.socket() as squatter:
        squatter.bind((LOCALHOST, api.ports[Endpoint.LIVE]))
        squatter.listen()

        with pytest.raises(ConfigRejected, match="bind"):
            nginx_stack.driver.apply(nginx_stack.table(nginx_stack.routes(), api))

    assert nginx_stack.driver.worker_pids() == workers
    assert nginx_stack.driver.files.config.read_text() == config
    assert nginx_stack.answer_of(Endpoint.LIVE)[1] == "blue"
    nginx_stack.driver.apply(nginx_stack.table(nginx_stack.routes(), api))
    assert set(nginx_stack.driver.worker_pids()).isdisjoint(workers)


def test_stop_leaves_no_nginx_process(nginx_stack: Stack, state_dir: Path) -> None:
    assert nginx_processes(state_dir)

    nginx_stack.driver.stop()

    assert nginx_processes(state_dir) == []
    assert not nginx_stack.driver.files.status_socket.exists()


def test_a_new_driver_adopts_the_running_nginx(
    nginx_stack: Stack,
    make_nginx_driver: Callable[..., NginxDriver],
    state_dir: Path,
) -> None:
    workers = nginx_stack.driver.worker_pids()
    successor = make_nginx_driver()
    assert successor.is_running()

    successor.start(nginx_stack.table())
    assert successor.worker_pids() == workers
    successor.start(nginx_stack.table(nginx_stack.routes(live=Color.GREEN)))

    assert nginx_stack.answer_of(Endpoint.LIVE)[1] == "green"
    assert successor.served_colors("web")[Endpoint.LIVE] is Color.GREEN
    with pytest.raises(ProxyUnavailable, match="not"):
        nginx_stack.driver.served_colors("web")
    successor.stop()
    assert nginx_processes(state_dir) == []


def test_a_killed_nginx_is_started_anew(
    nginx_stack: Stack, make_nginx_driver: Callable[..., NginxDriver]
) -> None:
    nginx_stack.driver.process.kill()
    successor = make_nginx_driver()
    assert not successor.is_running()

    successor.start(nginx_stack.table())

    assert nginx_stack.answer_of(Endpoint.LIVE)[1] == "blue"
    nginx_stack.driver = successor  # type: ignore[assignment]


def test_a_missing_binary_is_reported_with_its_name(state_dir: Path) -> None:
    missing = NginxDriver(state_dir, "/nonexistent/nginx")

    with pytest.raises(ProxyUnavailable, match="/nonexistent/nginx"):
        missing.start(RouteTable())


def test_a_request_in_flight_across_a_flip_finishes_and_is_counted(
    nginx_stack: Stack,
) -> None:
    slow: dict[str, httpx.Response] = {}
    request = threading.Thread(
        target=lambda: slow.update(
            r=nginx_stack.get(Endpoint.LIVE, "/slow?seconds=1.5")
        )
    )
    request.start()
    sessions = nginx_stack.driver.sessions
    in_flight = wait_for(lambda: True if sessions("web", Color.BLUE) == 1 else None, 2)

    routes = nginx_stack.routes(live=Color.GREEN, preview=None)
    nginx_stack.driver.apply(nginx_stack.table(routes))

    assert in_flight
    assert nginx_stack.answer_of(Endpoint.LIVE)[1] == "green"
    assert sessions("web", Color.BLUE) == 1
    request.join(timeout=5)
    assert slow["r"].status_code == 200
    assert slow["r"].headers["X-Bgctl-Color"] == "blue"
    drained = wait_for(lambda: True if sessions("web", Color.BLUE) == 0 else None, 2)
    assert drained
