"""Guard rails and target resolution (pure units on fakes)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from chaos.errors import TargetRefused
from chaos.experiment import parse_experiment
from chaos.plan import Step, make_plan
from chaos.ports import ChaosPolicy
from tests.chaos.fakes import FakeEngine, FakeServices


def plan(
    fault: dict[str, Any], services: FakeServices | None = None, **changes: Any
) -> list[Step]:
    data: dict[str, Any] = {
        "title": "t",
        "service": "web",
        "method": [{"type": "fault", "fault": fault}],
        **changes,
    }
    exp = parse_experiment(data)
    found = services or FakeServices()
    return asyncio.run(make_plan(exp, found, FakeEngine()))[1]


def test_a_plan_names_exact_containers_in_slot_order() -> None:
    steps = plan({"kind": "kill", "color": "green", "count": 2})

    ids = [c["id"] for c in steps[0].to_dict()["containers"]]
    assert ids == ["green1" + "0" * 20, "green2" + "0" * 20]


def test_live_and_idle_resolve_to_the_colours_of_the_moment() -> None:
    assert plan({"kind": "pause", "color": "live"})[0].color.value == "blue"
    assert plan({"kind": "pause", "color": "idle"})[0].color.value == "green"


def test_traffic_faults_take_every_replica_of_the_route_by_default() -> None:
    steps = plan({"kind": "latency", "color": "green", "latency": "100ms"})

    assert len(steps[0].targets) == 2
    assert steps[0].to_dict()["route"] == "green"


def test_a_service_that_did_not_opt_in_is_refused() -> None:
    services = FakeServices(policy=ChaosPolicy())
    with pytest.raises(TargetRefused, match="not opted in"):
        plan({"kind": "kill", "color": "green"}, services)


def test_an_unknown_service_is_refused() -> None:
    with pytest.raises(TargetRefused, match="not registered"):
        plan({"kind": "kill", "color": "green"}, service="api")


def test_a_release_in_flight_refuses_unless_allowed() -> None:
    services = FakeServices(in_flight="r-7")
    with pytest.raises(TargetRefused, match="r-7"):
        plan({"kind": "kill", "color": "green"}, services)

    allowed = plan(
        {"kind": "kill", "color": "green"},
        services,
        guards={"allow_during_release": True},
    )
    assert allowed


def test_more_replicas_than_the_cap_is_refused() -> None:
    services = FakeServices(policy=ChaosPolicy(enabled=True, max_replicas=1))
    with pytest.raises(TargetRefused, match="max_replicas"):
        plan({"kind": "kill", "color": "green", "count": 2}, services)


def test_both_colours_need_an_explicit_guard() -> None:
    data = {
        "title": "t",
        "service": "web",
        "method": [
            {"type": "fault", "fault": {"kind": "pause", "color": "blue"}},
            {"type": "fault", "fault": {"kind": "pause", "color": "green"}},
        ],
    }
    with pytest.raises(TargetRefused, match="both colours"):
        asyncio.run(make_plan(parse_experiment(data), FakeServices(), FakeEngine()))


def test_asking_for_more_replicas_than_exist_is_refused() -> None:
    with pytest.raises(TargetRefused, match="it has 2"):
        plan({"kind": "latency", "color": "green", "latency": 0.1, "count": 3})
