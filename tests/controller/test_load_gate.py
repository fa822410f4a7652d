"""The load gate's judge, its spec, and a Locust run that an abort stops."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from controller.api.errors import describe_validation
from controller.load_gate import judge_load, load
from controller.loadtest import LoadPlan, LoadTestStopped
from controller.loadtest_results import TargetStats
from controller.spec import LoadGate, ServiceSpec

GATE = LoadGate(duration=4.0, max_p95=0.2, min_requests=20)


def stats(
    target: str, requests: int = 400, failures: int = 0, p95: float | None = 0.038
) -> TargetStats:
    return TargetStats(target, requests, failures, 0.01, p95, p95)


def test_a_healthy_preview_passes_with_both_targets_figures() -> None:
    judgement = judge_load(
        GATE, stats("preview", 412, p95=0.038), stats("live", 409, p95=0.035)
    )
    assert judgement.passed
    assert judgement.summary == (
        "load gate: preview 412 requests, 0.0% failed, p95 38 ms; "
        "live 409, 0.0%, p95 35 ms: passed"
    )


def test_failures_above_the_absolute_share_fail() -> None:
    judgement = judge_load(GATE, stats("preview", 200, 100), stats("live"))
    assert not judgement.passed
    assert "preview 200 requests, 50.0% failed" in judgement.summary
    assert judgement.summary.endswith(
        "failed, failure share 50.0% above max_failure_share 1.0%"
    )


def test_a_p95_above_the_absolute_limit_fails() -> None:
    judgement = judge_load(GATE, stats("preview", p95=0.51), stats("live"))
    assert not judgement.passed
    assert "p95 510 ms above max_p95 200 ms" in judgement.summary


def test_failures_far_above_lives_fail_the_relative_limit() -> None:
    gate = GATE.model_copy(
        update={"max_failure_share": 0.5, "max_failure_share_increase": 0.05}
    )
    judgement = judge_load(gate, stats("preview", 100, 20), stats("live", 100, 5))
    assert not judgement.passed
    assert judgement.summary.endswith(
        "failure share 20.0% is 15.0% above live's 5.0%, more than "
        "max_failure_share_increase 5.0%"
    )
    assert judge_load(gate, stats("preview", 100, 8), stats("live", 100, 5)).passed


def test_a_p95_beyond_the_ratio_to_lives_fails() -> None:
    gate = GATE.model_copy(update={"max_p95_ratio": 2.0})
    judgement = judge_load(gate, stats("preview", p95=0.09), stats("live", p95=0.04))
    assert not judgement.passed
    assert "p95 90 ms above 2 x live's 40 ms" in judgement.summary
    assert judge_load(gate, stats("preview", p95=0.07), stats("live", p95=0.04)).passed


def test_a_ratio_to_a_live_p95_below_locusts_resolution_counts_one_ms() -> None:
    gate = GATE.model_copy(update={"max_p95_ratio": 2.0})
    fast = stats("live", p95=0.0)
    assert judge_load(gate, stats("preview", p95=0.002), fast).passed
    assert not judge_load(gate, stats("preview", p95=0.003), fast).passed


def test_too_few_requests_fail_however_good_they_look() -> None:
    judgement = judge_load(GATE, stats("preview", 12), stats("live"))
    assert not judgement.passed
    assert "only 12 requests measured on preview, min_requests is 20" in (
        judgement.summary
    )
    nothing = judge_load(GATE, stats("preview", 0, p95=None), None)
    assert not nothing.passed
    assert "p95 n/a" in nothing.summary


def test_without_a_live_colour_only_absolute_limits_apply_and_it_says_so() -> None:
    gate = GATE.model_copy(
        update={"max_p95_ratio": 1.0, "max_failure_share_increase": 0.0}
    )
    judgement = judge_load(gate, stats("preview", 300), None)
    assert judgement.passed
    assert judgement.summary == (
        "load gate: preview 300 requests, 0.0% failed, p95 38 ms; "
        "no live colour yet, so absolute limits only: passed"
    )
    broken = judge_load(gate, stats("preview", 300, 30), None)
    assert not broken.passed


def test_a_live_that_measured_nothing_leaves_absolute_limits_only() -> None:
    gate = GATE.model_copy(update={"max_p95_ratio": 1.0})
    judgement = judge_load(gate, stats("preview"), stats("live", 0, p95=None))
    assert judgement.passed
    assert "live 0, 0.0%, p95 n/a, so absolute limits only" in judgement.summary


# The spec -------------------------------------------------------------------


def spec(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "web",
        "image": "bgctl-sample",
        "port": 8000,
        "endpoints": {"live": 8080, "preview": 8081, "blue": 8082, "green": 8083},
    }
    return body | changes


def test_a_spec_has_no_load_gate_unless_it_asks() -> None:
    assert ServiceSpec.model_validate(spec()).load_gate is None
    gate = ServiceSpec.model_validate(spec(load_gate={})).load_gate
    assert gate == LoadGate()
    assert (gate.users, gate.rate, gate.duration, gate.path) == (5, 20.0, 20.0, "/")
    assert (gate.max_failure_share, gate.max_p95, gate.min_requests) == (
        0.01,
        1.0,
        20,
    )


def test_durations_in_a_load_gate_take_units() -> None:
    body = spec(load_gate={"duration": "3s", "max_p95": "250ms", "min_requests": 5})
    gate = ServiceSpec.model_validate(body).load_gate
    assert gate is not None
    assert (gate.duration, gate.max_p95) == (3.0, 0.25)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"users": 0}, "load_gate.users", "got 0"),
        ({"users": 101}, "load_gate.users", "got 101"),
        ({"rate": 0}, "load_gate.rate", "got 0"),
        ({"rate": 1001}, "load_gate.rate", "got 1001"),
        ({"duration": "1s"}, "load_gate.duration", "got 1.0"),
        ({"duration": "11m"}, "load_gate.duration", "got 660.0"),
        ({"path": "health"}, "load_gate.path", "got 'health'"),
        ({"max_failure_share": 1.5}, "load_gate.max_failure_share", "got 1.5"),
        ({"max_p95": 0}, "load_gate.max_p95", "got 0"),
        ({"max_p95_ratio": -1}, "load_gate.max_p95_ratio", "got -1"),
        (
            {"max_failure_share_increase": 2},
            "load_gate.max_failure_share_increase",
            "got 2",
        ),
        ({"min_requests": 0}, "load_gate.min_requests", "got 0"),
        ({"users": "5"}, "load_gate.users", "got '5'"),
        ({"workers": 3}, "load_gate.workers", "got 3"),
    ],
)
def test_a_bad_load_gate_names_the_field_and_value(
    changes: dict[str, Any], field: str, words: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        ServiceSpec.model_validate(spec(load_gate=changes))
    named, message, _ = describe_validation(caught.value.errors())
    assert named == field
    assert words in message, message


def test_a_minimum_the_load_cannot_reach_is_refused() -> None:
    body = spec(load_gate={"rate": 5, "duration": "3s", "min_requests": 20})
    with pytest.raises(ValidationError) as caught:
        ServiceSpec.model_validate(body)
    named, message, _ = describe_validation(caught.value.errors())
    assert named == "load_gate.min_requests"
    assert "at most the 15 requests that rate 5/s sends in 3s, got 20" in message


def test_the_default_minimum_is_checked_against_the_load_too() -> None:
    with pytest.raises(ValidationError) as caught:
        ServiceSpec.model_validate(spec(load_gate={"rate": 0.5}))
    named, message, _ = describe_validation(caught.value.errors())
    assert named == "load_gate.min_requests"
    assert "the 10 requests that rate 0.5/s sends in 20s, got 20" in message


# Stopping ------------------------------------------------------------------


def test_an_abort_kills_locust_well_before_its_run_ends(tmp_path: Path) -> None:
    plan = LoadPlan(users=1, rate=1.0, duration=30.0)
    asked = time.monotonic() + 1.0

    async def run() -> None:
        await load(
            {"preview": "http://127.0.0.1:9"},
            plan,
            tmp_path,
            lambda: time.monotonic() > asked,
        )

    started = time.monotonic()
    with pytest.raises(LoadTestStopped):
        asyncio.run(run())
    assert time.monotonic() - started < 5.0
