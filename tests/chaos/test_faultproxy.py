"""The fault proxy process on its own, in front of real replicas."""

from __future__ import annotations

import json
import signal
import socket
import statistics
import subprocess
import time
from collections.abc import Callable

import httpx
import pytest

from tests.chaos.conftest import StartProxy, first_line
from tests.proxy.haproxy_harness import LOCALHOST

REQUEST = b"GET / HTTP/1.1\r\nHost: replica\r\n\r\n"


def timed_get(client: httpx.Client, url: str) -> tuple[httpx.Response, float]:
    """One GET and how long it took."""
    began = time.perf_counter()
    response = client.get(url)
    return response, time.perf_counter() - began


def error_share(url: str, count: int) -> float:
    """The share of ``count`` sequential GETs answered by the error fault."""
    faulted = 0
    with httpx.Client(trust_env=False, timeout=5.0) as client:
        for _ in range(count):
            response = client.get(url)
            faulted += response.headers.get("X-Bgctl-Fault") == "error"
    return faulted / count


def test_requests_pass_through_whole_one_per_connection(
    start_proxy: StartProxy,
) -> None:
    proxy = start_proxy({"kind": "error", "probability": 0.0})

    with httpx.Client(trust_env=False, timeout=5.0) as client:
        first = client.get(proxy.url("/", upstream=0))
        second = client.get(proxy.url("/", upstream=1))
        bulk = client.get(proxy.url("/bulk?bytes=3000000"))

    assert (first.status_code, first.text) == (200, "solo-a\n")
    assert (second.status_code, second.text) == (200, "solo-b\n")
    assert first.headers["Connection"] == "close"
    assert bulk.content == b"x" * 3_000_000


def test_latency_fault_holds_each_request_for_its_latency(
    start_proxy: StartProxy,
) -> None:
    proxy = start_proxy({"kind": "latency", "latency": 0.1})

    with httpx.Client(trust_env=False, timeout=5.0) as client:
        times = [timed_get(client, proxy.url())[1] for _ in range(10)]

    assert min(times) >= 0.1
    assert statistics.median(times) < 0.1 + 0.01


def test_latency_jitter_spreads_requests_within_its_bounds(
    start_proxy: StartProxy,
) -> None:
    proxy = start_proxy({"kind": "latency", "latency": 0.1, "jitter": 0.05})

    with httpx.Client(trust_env=False, timeout=5.0) as client:
        times = [timed_get(client, proxy.url())[1] for _ in range(20)]

    assert min(times) >= 0.05
    assert max(times) < 0.15 + 0.02
    assert max(times) - min(times) > 0.03


def test_error_fault_answers_with_its_status_body_and_fault_header(
    start_proxy: StartProxy,
) -> None:
    proxy = start_proxy({"kind": "error", "status": 500, "body": "broken\n"})

    response = httpx.get(proxy.url(), trust_env=False)

    assert (response.status_code, response.text) == (500, "broken\n")
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.headers["Connection"] == "close"
    assert response.headers["X-Bgctl-Fault"] == "error"


def test_error_fault_at_probability_zero_fails_no_request(
    start_proxy: StartProxy,
) -> None:
    proxy = start_proxy({"kind": "error", "probability": 0.0})

    assert error_share(proxy.url(), 300) == 0.0


def test_error_fault_at_probability_one_fails_every_request(
    start_proxy: StartProxy,
) -> None:
    proxy = start_proxy({"kind": "error", "probability": 1.0})

    assert error_share(proxy.url(), 300) == 1.0


def test_error_fault_at_probability_0_3_fails_about_30_percent_of_1000(
    start_proxy: StartProxy,
) -> None:
    proxy = start_proxy({"kind": "error", "probability": 0.3}, seed=7)

    assert error_share(proxy.url(), 1000) == pytest.approx(0.3, abs=0.05)


def test_reset_fault_resets_the_connection_after_reading_the_request(
    start_proxy: StartProxy,
) -> None:
    proxy = start_proxy({"kind": "reset"})

    with socket.create_connection((LOCALHOST, proxy.ports[0]), timeout=5) as sock:
        sock.sendall(REQUEST)
        with pytest.raises(ConnectionResetError):
            sock.recv(1024)


def test_blackhole_fault_leaves_the_client_waiting_until_its_timeout(
    start_proxy: StartProxy,
) -> None:
    proxy = start_proxy({"kind": "blackhole"})

    began = time.perf_counter()
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(proxy.url(), trust_env=False, timeout=0.5)

    assert 0.5 <= time.perf_counter() - began < 1.0


def test_bandwidth_fault_slows_a_large_response_to_its_rate(
    start_proxy: StartProxy,
) -> None:
    proxy = start_proxy({"kind": "bandwidth", "rate": 200_000})

    with httpx.Client(trust_env=False, timeout=10.0) as client:
        response, took = timed_get(client, proxy.url("/bulk?bytes=300000"))

    assert len(response.content) == 300_000
    assert 300_000 / took == pytest.approx(200_000, rel=0.15)


def test_health_path_passes_every_fault_untouched(start_proxy: StartProxy) -> None:
    proxy = start_proxy({"kind": "error", "probability": 1.0})

    with httpx.Client(trust_env=False, timeout=5.0) as client:
        health = [client.get(proxy.url(path)) for path in ("/healthz", "/healthz?x=1")]
        other = client.get(proxy.url("/"))

    assert [(r.status_code, r.text) for r in health] == [(200, "ok\n")] * 2
    assert all("X-Bgctl-Fault" not in r.headers for r in health)
    assert other.headers["X-Bgctl-Fault"] == "error"


def test_sigterm_closes_connections_and_exits_zero_promptly(
    start_proxy: StartProxy,
) -> None:
    proxy = start_proxy({"kind": "blackhole"})
    held = socket.create_connection((LOCALHOST, proxy.ports[0]), timeout=5)
    held.sendall(REQUEST)
    time.sleep(0.2)

    began = time.perf_counter()
    proxy.process.send_signal(signal.SIGTERM)

    assert proxy.process.wait(timeout=5) == 0
    assert time.perf_counter() - began < 1.0
    assert held.recv(1024) == b""
    held.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((LOCALHOST, proxy.ports[0]), timeout=5)


def test_a_bad_configuration_is_refused_on_the_ready_line(
    spawn_proxy: Callable[[str], subprocess.Popen[bytes]],
) -> None:
    config = {
        "marker": "bgctl-test-bad-config",
        "upstreams": [{"host": LOCALHOST, "port": 1}],
        "fault": {"kind": "error", "probability": 1.5},
    }
    process = spawn_proxy(json.dumps(config))

    line = first_line(process, 10.0)

    assert line.startswith("failed fault.probability: ")
    assert "1.5" in line
    assert process.wait(timeout=5) == 2
