"""A short flip under load through the real HAProxy: no request may fail.

The benchmark's own machinery runs here on a small scale: a controller with
the HAProxy driver, Locust keep-alive users at a fixed rate on the live
frontend, two flips (a promotion and a rollback) with quiet gaps between.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from loadtests.bench.figures import around, load_figures
from loadtests.bench.flips import Record, prepare, run_flips
from loadtests.bench.load import Load
from loadtests.bench.stack import Stack, bench_spec
from tests.harness import SAMPLE_IMAGES, TEST_LABEL, engine, require_images

pytestmark = pytest.mark.engine


def test_two_flips_under_load_lose_no_request(tmp_path: Path) -> None:
    require_images(engine(), SAMPLE_IMAGES)
    stack = Stack("haproxy", labels={TEST_LABEL: "true", "bgctl.bench": "true"})
    try:
        prepare(stack, bench_spec())
        record = Record()
        live = stack.status()["endpoints"]["live"]
        load = Load({"haproxy": live}, users=4, rate=20, seconds=60)
        samples = run_flips(
            {"haproxy": stack}, {"haproxy": record}, 2, 1.0, load, tmp_path
        )
    finally:
        stack.close()

    assert record.error is None
    assert [f.action for f in record.flips] == ["promote", "rollback"]
    figures = load_figures(samples, "haproxy")
    assert figures.requests > 200
    assert figures.failures == 0, [s for s in samples if not s.ok][:5]
    for flip in record.flips:
        assert around(samples, "haproxy", [flip.moment]).requests > 0
