"""Flips through the runtime API on a real HAProxy, with real replicas."""

from __future__ import annotations

import threading
import time

import httpx

from proxy.policies import wait_for
from proxy.routes import Color, Endpoint
from tests.proxy.haproxy_harness import Stack, request_loops


def test_live_answers_blue_with_a_blue_header(stack: Stack) -> None:
    name, header = stack.answer_of(Endpoint.LIVE)

    assert name.startswith("blue-")
    assert header == "blue"
    assert stack.driver.served_colors("web") == {
        Endpoint.LIVE: Color.BLUE,
        Endpoint.PREVIEW: Color.GREEN,
    }


def test_flip_to_green_goes_through_the_runtime_api_without_reload(
    stack: Stack,
) -> None:
    worker = stack.driver.worker_pid()

    stack.driver.apply(stack.table(stack.routes(live=Color.GREEN, preview=Color.BLUE)))

    name, header = stack.answer_of(Endpoint.LIVE)
    assert name.startswith("green-")
    assert header == "green"
    assert stack.driver.worker_pid() == worker
    assert stack.driver.served_colors("web")[Endpoint.LIVE] is Color.GREEN


def test_preview_moves_independently_of_live(stack: Stack) -> None:
    stack.driver.apply(stack.table(stack.routes(live=Color.BLUE, preview=Color.BLUE)))
    assert stack.answer_of(Endpoint.PREVIEW)[1] == "blue"
    assert stack.answer_of(Endpoint.LIVE)[1] == "blue"

    stack.driver.apply(stack.table(stack.routes(live=Color.BLUE, preview=None)))
    assert stack.get(Endpoint.PREVIEW).status_code == 503
    assert stack.answer_of(Endpoint.LIVE)[1] == "blue"
    assert stack.driver.served_colors("web") == {
        Endpoint.LIVE: Color.BLUE,
        Endpoint.PREVIEW: None,
    }


def test_blue_and_green_frontends_answer_their_colour_whatever_live_is(
    stack: Stack,
) -> None:
    for live in (Color.BLUE, Color.GREEN, None):
        stack.driver.apply(stack.table(stack.routes(live=live, preview=None)))

        assert {stack.answer_of(Endpoint.BLUE)[1] for _ in range(4)} == {"blue"}
        assert {stack.answer_of(Endpoint.GREEN)[1] for _ in range(4)} == {"green"}


def test_applying_the_same_table_twice_changes_nothing(stack: Stack) -> None:
    worker = stack.driver.worker_pid()
    before = stack.driver.runtime.servers()

    stack.driver.apply(stack.table())
    stack.driver.apply(stack.table())

    assert stack.driver.runtime.servers() == before
    assert stack.driver.worker_pid() == worker


def test_requests_across_many_flips_all_succeed(stack: Stack) -> None:
    with request_loops(stack.url(Endpoint.LIVE)) as results:
        for flip in range(20):
            live = Color.GREEN if flip % 2 == 0 else Color.BLUE
            routes = stack.routes(live=live, preview=live.other)
            stack.driver.apply(stack.table(routes))
            time.sleep(0.05)

    failures = {key: n for key, n in results.items() if not key.startswith("2")}
    assert failures == {}
    assert {"200 blue", "200 green"} <= set(results)
    assert sum(results.values()) >= 100


def test_a_drained_request_finishes_and_is_counted(stack: Stack) -> None:
    slow: dict[str, httpx.Response] = {}
    request = threading.Thread(
        target=lambda: slow.update(r=stack.get(Endpoint.LIVE, "/slow?seconds=1.5"))
    )
    request.start()
    in_flight = wait_for(
        lambda: True if stack.driver.sessions("web", Color.BLUE) == 1 else None, 2.0
    )

    stack.driver.apply(stack.table(stack.routes(live=Color.GREEN, preview=Color.BLUE)))

    assert in_flight
    assert stack.answer_of(Endpoint.LIVE)[1] == "green"
    assert stack.driver.sessions("web", Color.BLUE) == 1
    request.join(timeout=5)
    assert slow["r"].status_code == 200
    assert slow["r"].headers["X-Bgctl-Color"] == "blue"
    assert stack.driver.sessions("web", Color.BLUE) == 0


def test_a_refused_connection_is_retried_on_another_replica(stack: Stack) -> None:
    dead = stack.replicas["blue-a"]
    dead.shutdown()
    dead.server_close()

    answers = {stack.answer_of(Endpoint.BLUE)[0] for _ in range(10)}

    assert answers == {"blue-b"}
