"""Traffic faults spliced into green's route on a real HAProxy, and taken back."""

from __future__ import annotations

import dataclasses
import statistics
import time

import httpx
import pytest

from chaos.errors import FaultFailed
from chaos.fault_spec import (
    BlackholeFault,
    ColorChoice,
    ErrorFault,
    LatencyFault,
    ResetFault,
)
from chaos.faultproxy.launch import is_ours
from chaos.faults.traffic import TrafficFaults
from chaos.ledger import FaultRecord, Ledger
from proxy.routes import Color, Endpoint
from tests.chaos.conftest import Faults, StackRoutes, green_targets
from tests.proxy.haproxy_harness import Stack

pytestmark = pytest.mark.anyio

GREEN = ColorChoice.GREEN
LATENCY = 0.1
SAMPLES = 100


def latencies(url: str, count: int) -> list[float]:
    """How long each of ``count`` sequential GETs took; each must answer 200."""
    times = []
    with httpx.Client(trust_env=False, timeout=5.0) as client:
        for _ in range(count):
            began = time.perf_counter()
            client.get(url).raise_for_status()
            times.append(time.perf_counter() - began)
    return times


def statuses(url: str, seconds: float, limit: int = 2000) -> dict[int, int]:
    """Status codes of sequential GETs for ``seconds``, at most ``limit``.

    Each GET has a connection of its own: HAProxy closes a client's
    connection after a 502 of its own making.
    """
    seen: dict[int, int] = {}
    deadline = time.monotonic() + seconds
    limits = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(trust_env=False, timeout=5.0, limits=limits) as client:
        for _ in range(limit):
            if time.monotonic() > deadline:
                break
            status = client.get(url).status_code
            seen[status] = seen.get(status, 0) + 1
    return seen


def is_running(record: FaultRecord) -> bool:
    """Whether the record's proxy process is still alive."""
    return is_ours(record.undo["pid"], record.undo["marker"])


def goes_straight(stack: Stack) -> bool:
    """Whether green's servers in every backend hold the replicas' addresses."""
    replicas = set(stack.addresses(Color.GREEN))
    return all(
        status.address in replicas
        for (_, server), status in stack.driver.runtime.servers().items()
        if server.startswith("green")
    )


async def test_latency_fault_raises_green_median_by_its_latency(
    stack: Stack, traffic: Faults
) -> None:
    url = stack.url(Endpoint.GREEN)
    before = latencies(url, SAMPLES)

    await traffic.inject(
        LatencyFault(kind="latency", color=GREEN, latency=LATENCY),
        green_targets(stack),
    )
    during = latencies(url, SAMPLES)

    added = statistics.median(during) - statistics.median(before)
    assert added == pytest.approx(LATENCY, abs=max(0.03 * LATENCY, 0.002))
    assert min(during) >= LATENCY


async def test_error_fault_answers_every_request_while_servers_stay_up(
    stack: Stack, traffic: Faults
) -> None:
    fault = ErrorFault(kind="error", color=GREEN, status=500, probability=1.0)
    await traffic.inject(fault, green_targets(stack))

    seen = statuses(stack.url(Endpoint.GREEN), seconds=3.0, limit=10_000)
    response = stack.get(Endpoint.GREEN)

    assert set(seen) == {500}
    assert response.text == fault.body
    assert response.headers["X-Bgctl-Fault"] == "error"
    assert all(
        status.is_up
        for (_, server), status in stack.driver.runtime.servers().items()
        if server.startswith("green")
    )


async def test_reset_fault_on_every_replica_gives_a_502_after_haproxy_retries(
    stack: Stack, traffic: Faults
) -> None:
    await traffic.inject(ResetFault(kind="reset", color=GREEN), green_targets(stack))

    assert statuses(stack.url(Endpoint.GREEN), seconds=0.5, limit=50) == {502: 50}


async def test_reset_fault_on_one_replica_is_hidden_by_haproxy_retries(
    stack: Stack, traffic: Faults
) -> None:
    targets = green_targets(stack)[:1]
    await traffic.inject(ResetFault(kind="reset", color=GREEN), targets)

    assert statuses(stack.url(Endpoint.GREEN), seconds=0.5, limit=50) == {200: 50}


async def test_blackhole_fault_leaves_the_client_to_its_own_timeout(
    stack: Stack, traffic: Faults
) -> None:
    await traffic.inject(
        BlackholeFault(kind="blackhole", color=GREEN), green_targets(stack)
    )

    with pytest.raises(httpx.ReadTimeout):
        httpx.get(stack.url(Endpoint.GREEN), trust_env=False, timeout=0.5)


async def test_undo_routes_green_straight_again_and_stops_the_proxy(
    stack: Stack, traffic: Faults
) -> None:
    fault = LatencyFault(kind="latency", color=GREEN, latency=LATENCY)
    record = await traffic.inject(fault, green_targets(stack))
    assert is_running(record) and not goes_straight(stack)

    await traffic.mechanism.undo(record)

    assert goes_straight(stack)
    assert not is_running(record)
    assert max(latencies(stack.url(Endpoint.GREEN), 20)) < LATENCY / 2


async def test_undo_from_the_ledger_works_in_a_fresh_mechanism(
    stack: Stack, traffic: Faults
) -> None:
    fault = ErrorFault(kind="error", color=GREEN)
    injected = await traffic.inject(fault, green_targets(stack))

    reopened = Ledger(traffic.ledger_path)
    record = next(r for r in reopened.open_faults() if r.id == injected.id)
    await traffic.fresh().undo(record)
    reopened.shutdown()

    assert goes_straight(stack)
    assert not is_running(record)
    assert statuses(stack.url(Endpoint.GREEN), seconds=0.2, limit=20) == {200: 20}


async def test_undo_twice_is_harmless(stack: Stack, traffic: Faults) -> None:
    fault = LatencyFault(kind="latency", color=GREEN, latency=LATENCY)
    record = await traffic.inject(fault, green_targets(stack))

    await traffic.mechanism.undo(record)
    await traffic.mechanism.undo(record)
    await traffic.fresh().undo(record)

    assert goes_straight(stack)
    assert not is_running(record)


async def test_a_failed_splice_fails_the_fault_and_leaves_it_undoable(
    stack: Stack, traffic: Faults
) -> None:
    traffic.mechanism = TrafficFaults(RefusingRoutes(stack), log_dir=traffic.log_dir)

    with pytest.raises(
        FaultFailed, match=r"cannot detour web green .*: no route today"
    ):
        await traffic.inject(
            ErrorFault(kind="error", color=GREEN), green_targets(stack)
        )

    record = traffic.record(traffic.records[-1])
    assert is_running(record)
    assert len(record.undo["detours"]) == 2
    await traffic.fresh().undo(record)
    assert not is_running(record)
    assert goes_straight(stack)


async def test_a_proxy_that_cannot_listen_fails_the_fault_with_its_reason(
    stack: Stack, traffic: Faults
) -> None:
    unbindable = "192.0.2.1"  # documentation range, on no interface of this host
    traffic.mechanism = TrafficFaults(
        StackRoutes(stack), host=unbindable, log_dir=traffic.log_dir
    )

    with pytest.raises(FaultFailed, match=f"cannot listen on '{unbindable}'"):
        await traffic.inject(
            ErrorFault(kind="error", color=GREEN), green_targets(stack)
        )

    record = traffic.record(traffic.records[-1])
    assert set(record.undo) == {"marker"}
    assert goes_straight(stack)


async def test_a_proxy_that_exits_at_once_fails_the_fault_with_its_exit_code(
    stack: Stack, traffic: Faults
) -> None:
    traffic.mechanism = TrafficFaults(
        StackRoutes(stack), python="false", log_dir=traffic.log_dir
    )

    with pytest.raises(FaultFailed, match="exited with code 1 before saying ready"):
        await traffic.inject(
            ErrorFault(kind="error", color=GREEN), green_targets(stack)
        )

    assert goes_straight(stack)


async def test_a_replica_without_an_address_fails_the_fault_naming_it(
    stack: Stack, traffic: Faults
) -> None:
    targets = green_targets(stack)
    stopped = dataclasses.replace(targets[1], state="exited", address=None)

    with pytest.raises(
        FaultFailed,
        match=r"replica green-b .*has no address to detour; it is exited",
    ):
        await traffic.inject(
            ErrorFault(kind="error", color=GREEN), [targets[0], stopped]
        )

    assert traffic.record(traffic.records[-1]).undo == {}


class RefusingRoutes(StackRoutes):
    """Routes that refuse every detour, as a router might."""

    async def splice(self, *args: object, **kwargs: object) -> None:
        """Refuse."""
        raise RuntimeError("no route today")
