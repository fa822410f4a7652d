"""What every proxy driver promises, checked on HAProxy and nginx alike."""

from __future__ import annotations

import pytest

from proxy.errors import ProxyUnavailable
from proxy.routes import Color, Endpoint
from tests.proxy.haproxy_harness import Stack


def test_start_serves_every_frontend_with_its_colour(any_stack: Stack) -> None:
    answers = {endpoint: any_stack.answer_of(endpoint) for endpoint in Endpoint}

    assert {endpoint: header for endpoint, (_, header) in answers.items()} == {
        Endpoint.LIVE: "blue",
        Endpoint.PREVIEW: "green",
        Endpoint.BLUE: "blue",
        Endpoint.GREEN: "green",
    }
    assert all(name.startswith(header) for name, header in answers.values())
    assert any_stack.driver.served_colors("web") == {
        Endpoint.LIVE: Color.BLUE,
        Endpoint.PREVIEW: Color.GREEN,
    }


def test_a_flip_moves_new_requests_to_the_other_colour(any_stack: Stack) -> None:
    routes = any_stack.routes(live=Color.GREEN, preview=Color.BLUE)

    any_stack.driver.apply(any_stack.table(routes))

    assert {any_stack.answer_of(Endpoint.LIVE)[1] for _ in range(4)} == {"green"}
    assert {any_stack.answer_of(Endpoint.PREVIEW)[1] for _ in range(4)} == {"blue"}
    assert any_stack.driver.served_colors("web") == {
        Endpoint.LIVE: Color.GREEN,
        Endpoint.PREVIEW: Color.BLUE,
    }


def test_a_frontend_with_no_colour_answers_503(any_stack: Stack) -> None:
    any_stack.driver.apply(any_stack.table(any_stack.routes(preview=None)))

    assert any_stack.get(Endpoint.PREVIEW).status_code == 503
    assert any_stack.answer_of(Endpoint.LIVE)[1] == "blue"
    assert any_stack.driver.served_colors("web")[Endpoint.PREVIEW] is None


def test_a_colour_without_replicas_answers_503(any_stack: Stack) -> None:
    servers = {Color.BLUE: any_stack.addresses(Color.BLUE), Color.GREEN: ()}

    any_stack.driver.apply(any_stack.table(any_stack.routes(servers=servers)))

    assert any_stack.get(Endpoint.GREEN).status_code == 503
    assert any_stack.get(Endpoint.PREVIEW).status_code == 503
    assert any_stack.answer_of(Endpoint.BLUE)[1] == "blue"
    assert any_stack.driver.served_colors("web")[Endpoint.PREVIEW] is None


def test_a_stopped_proxy_is_not_running_and_takes_no_table(any_stack: Stack) -> None:
    any_stack.driver.stop()

    assert not any_stack.driver.is_running()
    with pytest.raises(ProxyUnavailable):
        any_stack.driver.apply(any_stack.table())
