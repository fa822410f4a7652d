"""Address moves, reloads, refused configurations and the process lifecycle."""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from proxy.errors import ConfigRejected, ProxyUnavailable
from proxy.haproxy import HAProxyDriver
from proxy.haproxy.layout import ServerState
from proxy.policies import wait_for
from proxy.routes import Color, Endpoint, RouteTable, ServiceRoutes
from tests.proxy.haproxy_harness import (
    LOCALHOST,
    Stack,
    free_ports,
    haproxy_processes,
    request_loops,
    running_replicas,
)


def blue_answers(stack: Stack) -> set[str]:
    """The replicas answering a few GETs to the blue frontend."""
    return {stack.answer_of(Endpoint.BLUE)[0] for _ in range(6)}


def second_service(stack: Stack, **changes: object) -> ServiceRoutes:
    """Another service on new ports, served by the same replicas."""
    ports = dict(zip(Endpoint, free_ports(len(Endpoint)), strict=True))
    routes = stack.routes(ports=ports, service="api")
    return dataclasses.replace(routes, **changes)  # type: ignore[arg-type]


def test_a_moved_slot_answers_from_its_new_address_without_reload(
    stack: Stack,
) -> None:
    worker = stack.driver.worker_pid()
    with running_replicas("blue-c") as extra:
        moved = (extra["blue-c"].address, stack.replicas["blue-b"].address)
        servers = {Color.BLUE: moved, Color.GREEN: stack.addresses(Color.GREEN)}

        stack.driver.apply(stack.table(stack.routes(servers=servers)))

        assert blue_answers(stack) == {"blue-c", "blue-b"}
        assert stack.driver.worker_pid() == worker


def test_a_new_slot_count_reloads_and_keeps_the_live_colour(stack: Stack) -> None:
    worker = stack.driver.worker_pid()
    stack.driver.apply(stack.table(stack.routes(live=Color.GREEN, preview=Color.BLUE)))

    stack.driver.apply(
        stack.table(stack.routes(live=Color.GREEN, preview=Color.BLUE, slots=3))
    )

    assert stack.driver.worker_pid() != worker
    assert stack.answer_of(Endpoint.LIVE)[1] == "green"
    assert stack.driver.served_colors("web")[Endpoint.LIVE] is Color.GREEN
    servers = stack.driver.runtime.servers()
    assert servers[("web_live", "blue-1")].state is ServerState.DRAIN
    assert servers[("web_live", "green-3")].state is ServerState.MAINT


def test_a_reload_keeps_addresses_moved_in_the_same_change(stack: Stack) -> None:
    with running_replicas("blue-c") as extra:
        moved = (extra["blue-c"].address, stack.replicas["blue-b"].address)
        servers = {Color.BLUE: moved, Color.GREEN: stack.addresses(Color.GREEN)}

        stack.driver.apply(
            stack.table(stack.routes(servers=servers), second_service(stack))
        )

        assert blue_answers(stack) == {"blue-c", "blue-b"}
        address = stack.driver.runtime.servers()[("web_blue", "blue-1")].address
        assert address == extra["blue-c"].address


def test_a_new_service_is_served_after_its_reload(stack: Stack) -> None:
    api = second_service(stack, live=Color.GREEN)

    stack.driver.apply(stack.table(stack.routes(), api))

    response = stack.client.get(f"http://{LOCALHOST}:{api.ports[Endpoint.LIVE]}/")
    assert response.headers["X-Bgctl-Color"] == "green"
    assert stack.answer_of(Endpoint.LIVE)[1] == "blue"


def test_a_configuration_that_fails_the_check_is_never_loaded(stack: Stack) -> None:
    worker = stack.driver.worker_pid()
    config = stack.driver.files.config.read_text()
    broken = second_service(stack, health_path='/health"z')

    with pytest.raises(ConfigRejected) as refused:
        stack.driver.apply(stack.table(stack.routes(), broken))

    assert "quote" in refused.value.output
    assert stack.driver.worker_pid() == worker
    assert stack.driver.files.config.read_text() == config
    assert stack.answer_of(Endpoint.LIVE)[1] == "blue"


def test_a_reload_that_cannot_bind_keeps_the_old_worker_serving(
    stack: Stack,
) -> None:
    worker = stack.driver.worker_pid()
    api = second_service(stack)
    with socket.socket() as squatter:
        squatter.bind((LOCALHOST, api.ports[Endpoint.LIVE]))
        squatter.listen()

        with pytest.raises(ConfigRejected):
            stack.driver.apply(stack.table(stack.routes(), api))

    assert stack.driver.worker_pid() == worker
    assert stack.answer_of(Endpoint.LIVE)[1] == "blue"
    stack.driver.apply(stack.table(stack.routes(), api))
    assert stack.driver.worker_pid() != worker


def test_stop_leaves_no_haproxy_process(stack: Stack, state_dir: Path) -> None:
    assert haproxy_processes(state_dir)

    stack.driver.stop()

    assert haproxy_processes(state_dir) == []
    assert not stack.driver.is_running()
    with pytest.raises(ProxyUnavailable):
        stack.driver.apply(stack.table())


def test_a_new_driver_adopts_the_running_haproxy_without_dropping_requests(
    stack: Stack, make_driver: Callable[..., HAProxyDriver], state_dir: Path
) -> None:
    worker = stack.driver.worker_pid()
    successor = make_driver()

    with request_loops(stack.url(Endpoint.LIVE)) as results:
        time.sleep(0.1)
        successor.start(stack.table(stack.routes(live=Color.GREEN)))
        time.sleep(0.1)

    assert successor.worker_pid() == worker
    assert set(results) == {"200 blue", "200 green"}
    successor.stop()
    assert haproxy_processes(state_dir) == []


def test_an_adopted_haproxy_of_unknown_shape_is_reloaded(
    stack: Stack, make_driver: Callable[..., HAProxyDriver]
) -> None:
    worker = stack.driver.worker_pid()
    stack.driver.files.shape.unlink()
    successor = make_driver()

    successor.start(stack.table())

    assert successor.worker_pid() != worker
    assert stack.answer_of(Endpoint.LIVE)[1] == "blue"


def test_a_fresh_start_ignores_server_states_of_an_earlier_run(
    stack: Stack, make_driver: Callable[..., HAProxyDriver]
) -> None:
    stack.driver.stop()
    with running_replicas("blue-c") as extra:
        moved = (extra["blue-c"].address, stack.replicas["blue-b"].address)
        servers = {Color.BLUE: moved, Color.GREEN: stack.addresses(Color.GREEN)}
        stack.driver = make_driver()

        stack.driver.start(stack.table(stack.routes(servers=servers)))

        assert blue_answers(stack) == {"blue-c", "blue-b"}


def test_a_start_with_a_refused_configuration_runs_nothing(
    make_driver: Callable[..., HAProxyDriver], state_dir: Path
) -> None:
    ports = dict(zip(Endpoint, free_ports(len(Endpoint)), strict=True))
    routes = ServiceRoutes("web", ports, 1, {}, health_path='/"')
    driver = make_driver()

    with pytest.raises(ConfigRejected):
        driver.start(stack_table(routes))

    assert not driver.is_running()
    assert haproxy_processes(state_dir) == []


def stack_table(*services: ServiceRoutes) -> RouteTable:
    """A table of the given routes."""
    return RouteTable(services={routes.service: routes for routes in services})


def test_a_proxy_started_without_services_serves_one_added_later(
    stack: Stack, make_driver: Callable[..., HAProxyDriver]
) -> None:
    stack.driver.stop()
    stack.driver = make_driver()
    stack.driver.start(RouteTable())

    stack.driver.apply(stack.table())

    assert stack.answer_of(Endpoint.LIVE)[1] == "blue"


def test_a_request_in_flight_across_a_reload_finishes_and_is_counted(
    stack: Stack,
) -> None:
    slow: dict[str, httpx.Response] = {}
    request = threading.Thread(
        target=lambda: slow.update(r=stack.get(Endpoint.LIVE, "/slow?seconds=1.5"))
    )
    request.start()
    in_flight = wait_for(
        lambda: True if stack.driver.sessions("web", Color.BLUE) == 1 else None, 2.0
    )

    stack.driver.apply(stack.table(stack.routes(), second_service(stack)))

    assert in_flight
    assert stack.driver.sessions("web", Color.BLUE) == 1
    request.join(timeout=5)
    assert slow["r"].status_code == 200
    assert stack.driver.sessions("web", Color.BLUE) == 0
