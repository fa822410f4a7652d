"""The sample app's routes and knobs, run as a real process on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.compose.conftest import StartSample
from tests.compose.sample_process import APP, sample_env


def eventually(check: Callable[[], bool], timeout: float, every: float = 0.05) -> bool:
    """Whether check() turns true within timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return check()


def test_root_reports_version_and_hostname(start_sample: StartSample) -> None:
    sample = start_sample(APP_VERSION="v7")

    response = httpx.get(sample.url("/"))

    assert response.status_code == 200
    assert response.json() == {"version": "v7", "hostname": socket.gethostname()}
    assert response.headers["X-App-Version"] == "v7"


def test_version_route_answers_the_version_as_text(start_sample: StartSample) -> None:
    sample = start_sample(APP_VERSION="v7")

    response = httpx.get(sample.url("/version"))

    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text.strip() == "v7"


def test_healthz_is_ready_at_once_without_a_startup_delay(
    start_sample: StartSample,
) -> None:
    sample = start_sample()

    response = httpx.get(sample.url("/healthz"))

    assert (response.status_code, response.json()) == (200, {"status": "ready"})


def test_unknown_route_is_404(start_sample: StartSample) -> None:
    sample = start_sample()

    assert httpx.get(sample.url("/nowhere")).status_code == 404


def test_startup_delay_holds_readiness_while_serving(start_sample: StartSample) -> None:
    started = time.monotonic()
    sample = start_sample(SAMPLE_STARTUP_DELAY="1")

    early = httpx.get(sample.url("/healthz"))
    assert (early.status_code, early.json()) == (503, {"status": "starting"})
    assert httpx.get(sample.url("/")).status_code == 200

    assert eventually(lambda: httpx.get(sample.url("/healthz")).is_success, 5)
    assert time.monotonic() - started >= 1.0
    sample.wait_for_output(r"INFO bgctl-sample: ready\n")


def test_health_fail_keeps_readiness_failing(start_sample: StartSample) -> None:
    sample = start_sample(SAMPLE_HEALTH_FAIL="1")

    for _ in range(3):
        response = httpx.get(sample.url("/healthz"))
        assert (response.status_code, response.json()) == (503, {"status": "failing"})
        time.sleep(0.1)
    assert httpx.get(sample.url("/")).status_code == 200
    assert "SAMPLE_HEALTH_FAIL=1" in sample.output


def test_crash_after_exits_with_code_1_and_says_why(start_sample: StartSample) -> None:
    sample = start_sample(SAMPLE_CRASH_AFTER="0.5")

    assert sample.wait(timeout=5) == 1
    assert "crashing on purpose: SAMPLE_CRASH_AFTER=0.5" in sample.output


def test_error_rate_0_answers_every_request(start_sample: StartSample) -> None:
    sample = start_sample(SAMPLE_ERROR_RATE="0")

    with httpx.Client() as client:
        codes = {client.get(sample.url("/")).status_code for _ in range(30)}

    assert codes == {200}


def test_error_rate_1_fails_every_request_but_not_readiness(
    start_sample: StartSample,
) -> None:
    sample = start_sample(SAMPLE_ERROR_RATE="1")

    with httpx.Client() as client:
        codes = {client.get(sample.url("/")).status_code for _ in range(30)}
        health = client.get(sample.url("/healthz")).status_code

    assert codes == {500}
    assert health == 200


def test_latency_is_added_to_root_only(start_sample: StartSample) -> None:
    sample = start_sample(SAMPLE_LATENCY_MS="400")

    with httpx.Client() as client:
        root = client.get(sample.url("/"))
        health = client.get(sample.url("/healthz"))

    assert root.elapsed.total_seconds() >= 0.4
    assert health.elapsed.total_seconds() < 0.4


@pytest.mark.parametrize("seconds", ["soon", "-1", "nan"])
def test_slow_rejects_a_bad_duration(start_sample: StartSample, seconds: str) -> None:
    sample = start_sample()

    response = httpx.get(sample.url("/slow"), params={"seconds": seconds})

    assert response.status_code == 400
    assert f'got "{seconds}"' in response.json()["error"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SAMPLE_STARTUP_DELAY", "soon"),
        ("SAMPLE_STARTUP_DELAY", "-1"),
        ("SAMPLE_HEALTH_FAIL", "maybe"),
        ("SAMPLE_CRASH_AFTER", "nan"),
        ("SAMPLE_ERROR_RATE", "1.5"),
        ("SAMPLE_LATENCY_MS", "fast"),
        ("SAMPLE_DRAIN_TIMEOUT", "inf"),
        ("PORT", "80a"),
        ("PORT", "70000"),
        ("HOST", "localhost"),
        ("APP_VERSION", "v 1"),
    ],
)
def test_bad_knob_exits_2_naming_the_variable_and_value(name: str, value: str) -> None:
    result = subprocess.run(
        [sys.executable, str(APP)],
        env=sample_env(**{name: value}),
        capture_output=True,
        text=True,
        timeout=10,
    )

    assert result.returncode == 2
    assert f"{name} must be " in result.stderr
    assert f'got "{value}"' in result.stderr
    assert "listening" not in result.stdout


def test_sigterm_finishes_the_request_in_flight_then_exits_0(
    start_sample: StartSample,
) -> None:
    sample = start_sample()

    with httpx.Client() as client, ThreadPoolExecutor(1) as pool:
        assert client.get(sample.url("/healthz")).is_success  # opens a keep-alive
        slow = pool.submit(httpx.get, sample.url("/slow?seconds=1.5"), timeout=10)
        time.sleep(0.3)  # lets the slow request reach the app
        sample.terminate()
        sample.wait_for_output(r"for 1 request\(s\) in flight")

        # The listener is closed, but the open connection is still answered.
        draining = client.get(sample.url("/healthz"))
        with pytest.raises(httpx.ConnectError):
            httpx.get(sample.url("/"))
        finished = slow.result(timeout=10)

    assert (draining.status_code, draining.json()) == (503, {"status": "draining"})
    assert draining.headers["Connection"] == "close"
    assert finished.status_code == 200
    assert finished.json()["slept"] == 1.5
    assert sample.wait(timeout=5) == 0
    assert "drained, exiting with code 0" in sample.output


def test_drain_gives_up_after_the_drain_timeout(start_sample: StartSample) -> None:
    sample = start_sample(SAMPLE_DRAIN_TIMEOUT="0.5")

    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(httpx.get, sample.url("/slow?seconds=20"), timeout=30)
        time.sleep(0.3)  # lets the slow request reach the app
        stopping = time.monotonic()
        sample.terminate()
        exit_code = sample.wait(timeout=5)
        stopped_after = time.monotonic() - stopping
        with pytest.raises(httpx.TransportError):
            slow.result(timeout=10)

    assert exit_code == 0
    assert stopped_after < 3
    assert "drain timeout reached with 1 request(s) still in flight" in sample.output
