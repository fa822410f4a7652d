"""Chaos's engine on the real one: consent, replicas, and addresses refreshed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import docker  # type: ignore[import-untyped]
import pytest

from chaos.errors import FaultFailed
from controller.chaosbridge import ChaosEngine
from controller.routing import Router
from controller.runtime.base import Replica, ReplicaRequest
from controller.runtime.docker import DockerRuntime
from controller.spec import ServiceSpec
from controller.store import Store
from proxy.routes import Address, Color, RouteTable

pytestmark = pytest.mark.engine

Fetch = Callable[[Address], str]
MakeRequest = Callable[..., ReplicaRequest]
RELEASE = "r-20240101-a"


class RecordingDriver:
    """A proxy driver that keeps the tables it is given."""

    def __init__(self) -> None:
        self.tables: list[RouteTable] = []

    def apply(self, table: RouteTable) -> None:
        self.tables.append(table)


def register(
    store: Store, service: str, replicas: list[Replica], opted_in: bool
) -> None:
    """The service with blue live on ``replicas``, opted in to chaos or not."""
    spec = {
        "name": service,
        "image": "bgctl-sample",
        "port": 8000,
        "replicas": len(replicas),
        "endpoints": {"live": 18080, "preview": 18081, "blue": 18082, "green": 18083},
        "chaos": {"enabled": opted_in, "max_replicas": 1},
    }
    store.put_service(ServiceSpec.model_validate(spec))
    store.set_live(service, Color.BLUE)
    entries = tuple((r.container_id, r.address) for r in replicas if r.address)
    store.set_slot(service, Color.BLUE, RELEASE, entries)
    store.set_standby(service, Color.BLUE, 4_000_000_000.0)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "bgctl.db")


@pytest.fixture
def driver() -> RecordingDriver:
    return RecordingDriver()


@pytest.fixture
def chaos_engine(
    runtime: DockerRuntime, store: Store, driver: RecordingDriver
) -> ChaosEngine:
    router = Router(store, driver, "127.0.0.1")  # type: ignore[arg-type]
    return ChaosEngine(runtime, store, router)


def test_replicas_are_the_slot_release_in_slot_order_with_engine_states(
    chaos_engine: ChaosEngine,
    runtime: DockerRuntime,
    store: Store,
    make_request: MakeRequest,
    service: str,
) -> None:
    second = runtime.start_replica(make_request(index=2))
    first = runtime.start_replica(make_request(index=1))
    runtime.start_replica(make_request(index=3, release="r-20240101-b"))  # displaced
    register(store, service, [first, second], opted_in=True)

    asyncio.run(chaos_engine.kill(second.container_id, "SIGKILL"))
    found = asyncio.run(chaos_engine.replicas(service, Color.BLUE))

    assert [(r.container_id, r.index) for r in found] == [
        (first.container_id, 1),
        (second.container_id, 2),
    ]
    assert [r.state for r in found] == ["running", "exited"]
    assert found[0].address == first.address and found[1].address is None
    assert asyncio.run(chaos_engine.replicas(service, Color.GREEN)) == []


def test_a_started_replica_is_found_at_its_new_address(
    chaos_engine: ChaosEngine,
    runtime: DockerRuntime,
    store: Store,
    driver: RecordingDriver,
    make_request: MakeRequest,
    service: str,
    fetch: Fetch,
) -> None:
    replica = runtime.start_replica(make_request())
    register(store, service, [replica], opted_in=True)

    asyncio.run(chaos_engine.kill(replica.container_id, "SIGKILL"))
    for come_back in (
        lambda: chaos_engine.start(replica.container_id),
        lambda: chaos_engine.restart(replica.container_id, 5),
    ):
        asyncio.run(come_back())

        now = runtime.inspect(replica.container_id).address
        slot = store.slot(service, Color.BLUE)
        assert now is not None and slot.addresses == (now,)
        assert driver.tables[-1].services[service].servers[Color.BLUE] == (now,)
        assert (slot.release_id, slot.standby_until) == (RELEASE, 4_000_000_000.0)
        fetch(now)


def test_a_fault_on_a_service_that_did_not_opt_in_is_refused(
    chaos_engine: ChaosEngine,
    runtime: DockerRuntime,
    engine: docker.DockerClient,
    store: Store,
    make_request: MakeRequest,
    service: str,
) -> None:
    replica = runtime.start_replica(make_request())
    register(store, service, [replica], opted_in=False)

    with pytest.raises(FaultFailed, match="has not opted in to chaos"):
        asyncio.run(chaos_engine.kill(replica.container_id, "SIGKILL"))
    with pytest.raises(FaultFailed, match="has not opted in to chaos"):
        asyncio.run(chaos_engine.pause(replica.container_id))

    assert engine.containers.get(replica.container_id).status == "running"
    asyncio.run(chaos_engine.unpause(replica.container_id))  # undoing is allowed


def test_engine_refusals_reach_chaos_as_fault_failed_with_the_container(
    chaos_engine: ChaosEngine,
    runtime: DockerRuntime,
    store: Store,
    make_request: MakeRequest,
    service: str,
) -> None:
    replica = runtime.start_replica(make_request())
    register(store, service, [replica], opted_in=True)
    asyncio.run(chaos_engine.stop(replica.container_id, 5))

    with pytest.raises(FaultFailed) as refused:
        asyncio.run(chaos_engine.kill(replica.container_id, "SIGKILL"))
    with pytest.raises(FaultFailed, match="no such replica") as missing:
        asyncio.run(chaos_engine.kill("0" * 64, "SIGKILL"))

    assert refused.value.context["container"] == replica.container_id
    assert "is not running" in refused.value.message
    assert missing.value.context["container"] == "0" * 64
