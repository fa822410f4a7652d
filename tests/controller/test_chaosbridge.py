"""Chaos's view of services, its timeline notes, and its routes' URLs and detours."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from chaos.errors import FaultFailed, TargetRefused
from chaos.ports import ChaosPolicy
from controller.chaosbridge import ChaosRoutes, ChaosServices
from controller.phases import Phase
from controller.routing import Router
from controller.spec import ServiceSpec
from controller.store import Store
from proxy.errors import ProxyError
from proxy.routes import Address, Color, Endpoint, RouteTable

PORTS = {"live": 8080, "preview": 8081, "blue": 8082, "green": 8083}
REPLICA = Address("127.0.0.1", 4001)
DETOUR = Address("127.0.0.1", 5001)


class RefusingDriver:
    """A proxy driver that accepts tables until told to refuse them."""

    def __init__(self) -> None:
        self.refuse = False

    def apply(self, table: RouteTable) -> None:
        if self.refuse:
            raise ProxyError("the proxy is down")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    store = Store(tmp_path / "bgctl.db")
    spec = {"name": "web", "image": "bgctl-sample", "port": 8000, "endpoints": PORTS}
    spec["chaos"] = {"enabled": True, "max_replicas": 2}
    store.put_service(ServiceSpec.model_validate(spec))
    store.set_live("web", Color.BLUE)
    store.set_slot("web", Color.BLUE, "r1", (("c1", REPLICA),))
    return store


def test_facts_carry_the_policy_live_colour_and_health_path(store: Store) -> None:
    facts = ChaosServices(store).facts("web")

    assert facts is not None
    assert facts.policy == ChaosPolicy(enabled=True, max_replicas=2)
    assert (facts.live, facts.health_path, facts.release_in_flight) == (
        Color.BLUE,
        "/healthz",
        None,
    )
    assert ChaosServices(store).facts("api") is None


def test_a_note_goes_to_the_release_in_flight_as_chaos(store: Store) -> None:
    services = ChaosServices(store)
    services.note("web", "nobody listens")  # no release in flight: dropped
    record = store.service("web")
    assert record is not None
    release = store.create_release(
        record.spec, "bgctl-sample:v2", "sha256:2", Color.GREEN, "ci", "ship v2"
    )
    store.transition(release.id, Phase.DEPLOYING, "bgctl", "starting")

    services.note("web", "latency fault on green applied")

    facts = services.facts("web")
    assert facts is not None and facts.release_in_flight == release.id
    last = store.timeline(release.id)[-1]
    assert (last.actor, last.reason, last.phase) == (
        "chaos",
        "latency fault on green applied",
        Phase.DEPLOYING,
    )


def test_url_names_the_frontend_port_on_the_proxy_host(store: Store) -> None:
    router = Router(store, RefusingDriver(), "0.0.0.0")  # type: ignore[arg-type]
    routes = ChaosRoutes(router, store, "127.0.0.1")

    assert routes.url("web", Endpoint.LIVE) == "http://127.0.0.1:8080"
    assert routes.url("web", Endpoint.GREEN) == "http://127.0.0.1:8083"
    with pytest.raises(TargetRefused, match='"api" is not registered'):
        routes.url("api", Endpoint.LIVE)


def test_splice_failures_reach_chaos_as_fault_failed(store: Store) -> None:
    driver = RefusingDriver()
    router = Router(store, driver, "127.0.0.1")  # type: ignore[arg-type]
    routes = ChaosRoutes(router, store, "127.0.0.1")

    with pytest.raises(FaultFailed, match="not one of its servers"):
        asyncio.run(routes.splice("web", Color.GREEN, {REPLICA: DETOUR}))
    driver.refuse = True
    with pytest.raises(FaultFailed, match="the proxy is down"):
        asyncio.run(routes.splice("web", Color.BLUE, {REPLICA: DETOUR}))
    driver.refuse = False
    asyncio.run(routes.splice("web", Color.BLUE, {REPLICA: DETOUR}))
    driver.refuse = True
    with pytest.raises(FaultFailed, match="removing the detours of web blue"):
        asyncio.run(routes.unsplice("web", Color.BLUE, {REPLICA: DETOUR}))

    assert router.detours("web", Color.BLUE) == {REPLICA: DETOUR}
