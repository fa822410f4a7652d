"""Detours: the router sends a colour's replicas through a fault proxy and back."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
from pathlib import Path

import httpx
import pytest

from controller.errors import Conflict, OperationFailed
from controller.routing import Router
from controller.spec import ServiceSpec
from controller.store import Store
from proxy.errors import ProxyError
from proxy.haproxy import HAProxyDriver
from proxy.routes import Address, Color, RouteTable
from tests.proxy.haproxy_harness import free_ports, haproxy_processes, running_replicas

BLUE = (Address("127.0.0.1", 4001), Address("127.0.0.1", 4002))
GREEN = (Address("127.0.0.1", 4003), Address("127.0.0.1", 4004))
FAULT = Address("127.0.0.1", 5001)


class RecordingDriver:
    """A proxy driver that keeps every table it is given, or refuses them."""

    def __init__(self) -> None:
        self.tables: list[RouteTable] = []
        self.refuse = False

    def start(self, table: RouteTable) -> None:
        self.tables.append(table)

    def apply(self, table: RouteTable) -> None:
        if self.refuse:
            raise ProxyError("refused for the test")
        self.tables.append(table)

    def servers(self, color: Color, service: str = "web") -> tuple[Address | None, ...]:
        return self.tables[-1].services[service].servers[color]


def make_spec(name: str, ports: list[int], replicas: int = 2) -> ServiceSpec:
    endpoints = dict(zip(("live", "preview", "blue", "green"), ports, strict=True))
    return ServiceSpec.model_validate(
        {
            "name": name,
            "image": "bgctl-sample",
            "port": 8000,
            "replicas": replicas,
            "endpoints": endpoints,
        }
    )


def stored_service(
    store: Store,
    name: str,
    ports: list[int],
    blue: tuple[Address, ...],
    green: tuple[Address, ...] = (),
) -> None:
    """A service with blue live, and replicas on the colours given."""
    store.put_service(make_spec(name, ports, replicas=len(blue)))
    store.set_live(name, Color.BLUE)
    store.set_slot(
        name, Color.BLUE, "r1", tuple((f"b{i}", a) for i, a in enumerate(blue))
    )
    if green:
        entries = tuple((f"g{i}", a) for i, a in enumerate(green))
        store.set_slot(name, Color.GREEN, "r2", entries)


@pytest.fixture
def driver() -> RecordingDriver:
    return RecordingDriver()


@pytest.fixture
def router(tmp_path: Path, driver: RecordingDriver) -> Router:
    store = Store(tmp_path / "bgctl.db")
    stored_service(store, "web", [8080, 8081, 8082, 8083], BLUE, GREEN)
    stored_service(store, "api", [9080, 9081, 9082, 9083], BLUE)
    return Router(store, driver, "127.0.0.1")  # type: ignore[arg-type]


def test_a_detour_replaces_only_that_replica_of_that_colour(
    router: Router, driver: RecordingDriver
) -> None:
    asyncio.run(router.detour("web", Color.BLUE, {BLUE[0]: FAULT}))

    assert driver.servers(Color.BLUE) == (FAULT, BLUE[1])
    assert driver.servers(Color.GREEN) == GREEN
    assert driver.servers(Color.BLUE, service="api") == BLUE
    assert driver.tables[-1].services["web"].preview is Color.GREEN
    assert router.detours("web", Color.BLUE) == {BLUE[0]: FAULT}


def test_undetour_sends_traffic_straight_again_and_may_repeat(
    router: Router, driver: RecordingDriver
) -> None:
    asyncio.run(router.detour("web", Color.BLUE, {BLUE[0]: FAULT}))

    asyncio.run(router.undetour("web", Color.BLUE, {BLUE[0]: FAULT}))
    asyncio.run(router.undetour("web", Color.BLUE, {BLUE[0]: FAULT}))

    assert driver.servers(Color.BLUE) == BLUE
    assert router.detours("web", Color.BLUE) == {}


def test_a_detour_of_an_address_the_colour_does_not_serve_is_refused(
    router: Router, driver: RecordingDriver
) -> None:
    with pytest.raises(Conflict, match=r"127\.0\.0\.1:4003 is not one of its"):
        asyncio.run(router.detour("web", Color.BLUE, {GREEN[0]: FAULT}))

    assert driver.tables == []
    assert router.detours("web", Color.BLUE) == {}


def test_a_refused_table_leaves_the_detours_as_they_were(
    router: Router, driver: RecordingDriver
) -> None:
    driver.refuse = True

    with pytest.raises(OperationFailed, match="refused for the test"):
        asyncio.run(router.detour("web", Color.BLUE, {BLUE[0]: FAULT}))

    assert router.detours("web", Color.BLUE) == {}


def test_a_detour_keeps_a_flip_that_is_applied_but_not_yet_stored(
    router: Router, driver: RecordingDriver
) -> None:
    asyncio.run(router.apply({"web": Color.GREEN}))  # the store still says blue

    asyncio.run(router.detour("web", Color.GREEN, {GREEN[1]: FAULT}))

    assert driver.tables[-1].services["web"].live is Color.GREEN
    assert driver.servers(Color.GREEN) == (GREEN[0], FAULT)


def test_a_new_router_on_the_same_store_starts_without_detours(
    router: Router, tmp_path: Path
) -> None:
    asyncio.run(router.detour("web", Color.BLUE, {BLUE[0]: FAULT}))
    fresh_driver = RecordingDriver()
    store = Store(tmp_path / "bgctl.db")
    restarted = Router(store, fresh_driver, "127.0.0.1")  # type: ignore[arg-type]

    asyncio.run(restarted.start())

    assert fresh_driver.servers(Color.BLUE) == BLUE


def test_a_detour_moves_real_traffic_through_haproxy_without_a_reload(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    binary = shutil.which("haproxy", path=os.environ["PATH"] + ":/usr/sbin:/sbin")
    assert binary, "haproxy is not installed; this test needs the real binary"
    state_dir = tmp_path_factory.mktemp("hx")
    with running_replicas("blue-a", "green-a", "fault") as replicas:
        ports = free_ports(4)
        store = Store(state_dir / "bgctl.db")
        stored_service(
            store,
            "web",
            ports,
            (replicas["blue-a"].address,),
            (replicas["green-a"].address,),
        )
        proxy = HAProxyDriver(state_dir, binary, stop_grace=3.0)
        router = Router(store, proxy, "127.0.0.1")
        live = f"http://127.0.0.1:{ports[0]}/"
        try:
            asyncio.run(router.start())
            worker = proxy.worker_pid()
            assert httpx.get(live, timeout=5).text.strip() == "blue-a"

            detour = {replicas["blue-a"].address: replicas["fault"].address}
            asyncio.run(router.detour("web", Color.BLUE, detour))
            assert httpx.get(live, timeout=5).text.strip() == "fault"

            asyncio.run(router.undetour("web", Color.BLUE, detour))
            assert httpx.get(live, timeout=5).text.strip() == "blue-a"
            assert proxy.worker_pid() == worker
        finally:
            proxy.stop()
            for pid in haproxy_processes(state_dir):
                os.kill(pid, signal.SIGKILL)


def test_a_second_detour_of_one_replica_is_refused_and_undo_is_per_detour(
    router: Router, driver: RecordingDriver
) -> None:
    other = Address("127.0.0.1", FAULT.port + 1)
    asyncio.run(router.detour("web", Color.BLUE, {BLUE[0]: FAULT}))

    with pytest.raises(Conflict, match="do not stack"):
        asyncio.run(router.detour("web", Color.BLUE, {BLUE[0]: other}))
    asyncio.run(router.undetour("web", Color.BLUE, {BLUE[0]: other}))

    assert router.detours("web", Color.BLUE) == {BLUE[0]: FAULT}
