"""Flips through the runtime API on a real HAProxy, with real replicas."""

from __future__ import annotations

from proxy.routes import Color, Endpoint
from tests.proxy.haproxy_harness import Stack


def test_live_answers_blue_with_a_blue_header(stack: Stack) -> None:
    name, header = stack.answer_of(Endpoint.LIVE)

    assert name.startswith("blue-")
    assert header == "blue"
    assert stack.driver.served_colors("web") == {
        Endpoint.LIVE: Color.BLUE,
        Endpoint.PREVIEW: Color.GREEN,
    }
