"""Flips under load on a real nginx: every flip is a reload.

HAProxy flips through its runtime API and drops nothing. An nginx reload
closes the idle keep-alive connections of the old worker, and a client
that sends on one at that moment sees a read error, so a few failures
are expected here. What must hold is correctness: every answer names a
colour that was live at the time, and once a flip has returned, a new
connection is answered by the new colour.
"""

from __future__ import annotations

import logging
import time

import httpx
import pytest

from proxy.routes import Color, Endpoint
from tests.proxy.haproxy_harness import Stack, request_loops

log = logging.getLogger(__name__)

FLIPS = 10
PAUSE = 0.1
PROBES_AFTER_FLIP = 3


def fresh_colors(stack: Stack, count: int) -> set[str | None]:
    """The colour headers of ``count`` GETs to live, each on a new connection."""
    colors = set()
    for _ in range(count):
        with httpx.Client(trust_env=False, timeout=5.0) as client:
            colors.add(
                client.get(stack.url(Endpoint.LIVE)).headers.get("X-Bgctl-Color")
            )
    return colors


def test_flips_under_load_answer_only_live_colours(
    nginx_stack: Stack, record_property: pytest.RecordProperty
) -> None:
    after_flip: list[set[str | None]] = []
    with request_loops(nginx_stack.url(Endpoint.LIVE)) as results:
        for flip in range(FLIPS):
            live = Color.GREEN if flip % 2 == 0 else Color.BLUE
            routes = nginx_stack.routes(live=live, preview=live.other)
            nginx_stack.driver.apply(nginx_stack.table(routes))
            after_flip.append(fresh_colors(nginx_stack, PROBES_AFTER_FLIP) - {live})
            time.sleep(PAUSE)

    failed = {key: n for key, n in results.items() if not key.startswith("200 ")}
    record_property("nginx_flip_results", dict(results))
    log.warning("nginx flips under load: %s", dict(results))

    assert after_flip == [set()] * FLIPS
    assert set(results) - set(failed) <= {"200 blue", "200 green"}
    assert all(key.startswith("error ") for key in failed)
    assert sum(failed.values()) <= FLIPS * 2
    assert sum(results.values()) >= 100
