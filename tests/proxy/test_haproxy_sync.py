"""The runtime commands that take running servers to a plan, and their order."""

from __future__ import annotations

import pytest

from proxy.errors import CommandFailed
from proxy.haproxy.layout import PARKED, ServerPlan, ServerState, service_plan
from proxy.haproxy.runtime import ServerStatus
from proxy.haproxy.sync import mismatches, sync_commands
from proxy.routes import Address, Color, Endpoint, ServiceRoutes

BLUE = Address("10.0.0.1", 80)
GREEN = Address("10.0.0.2", 80)
ADMIN_BITS = {ServerState.READY: 0, ServerState.DRAIN: 0x08, ServerState.MAINT: 0x01}


def routes(live: Color | None, **changes: object) -> ServiceRoutes:
    """One slot per colour, both filled, preview on the other colour."""
    values: dict[str, object] = {
        "service": "web",
        "ports": {Endpoint.LIVE: 8000},
        "slots": 1,
        "servers": {Color.BLUE: (BLUE,), Color.GREEN: (GREEN,)},
        "live": live,
        "preview": live.other if live else None,
    }
    values.update(changes)
    return ServiceRoutes(**values)  # type: ignore[arg-type]


def running(plans: list[ServerPlan]) -> dict[tuple[str, str], ServerStatus]:
    """What ``show servers state`` would say once ``plans`` are applied."""
    return {
        (plan.backend, plan.server): ServerStatus(
            plan.backend, plan.server, plan.target, ADMIN_BITS[plan.state], 2
        )
        for plan in plans
    }


def texts(
    plans: list[ServerPlan], current: dict[tuple[str, str], ServerStatus]
) -> list[str]:
    """The command lines ``sync_commands`` sends."""
    return [command.text for command in sync_commands(plans, current)]


def test_a_plan_already_running_sends_nothing() -> None:
    plans = service_plan(routes(Color.BLUE))

    assert texts(plans, running(plans)) == []


def test_a_flip_readies_the_new_colour_before_draining_the_old() -> None:
    current = running(service_plan(routes(Color.BLUE)))

    sent = texts(service_plan(routes(Color.GREEN)), current)

    assert sent == [
        "set server web_live/green-1 state ready",
        "set server web_preview/blue-1 state ready",
        "set server web_live/blue-1 state drain",
        "set server web_preview/green-1 state drain",
    ]


def test_a_moved_replica_is_addressed_before_it_is_readied() -> None:
    current = running(service_plan(routes(Color.BLUE, servers={Color.BLUE: ()})))
    moved = Address("10.0.0.9", 8080)

    sent = texts(
        service_plan(routes(Color.BLUE, servers={Color.BLUE: (moved,)})), current
    )

    assert sent[0] == "set server web_live/blue-1 addr 10.0.0.9 port 8080"
    assert sent.index("set server web_live/blue-1 state ready") > 0
    assert "set server web_blue/blue-1 addr 10.0.0.9 port 8080" in sent


def test_a_removed_replica_goes_to_maintenance_then_to_the_parked_address() -> None:
    current = running(service_plan(routes(Color.BLUE)))

    sent = texts(
        service_plan(routes(Color.BLUE, servers={Color.GREEN: (GREEN,)})), current
    )

    maint = sent.index("set server web_blue/blue-1 state maint")
    park = sent.index(f"set server web_blue/blue-1 addr {PARKED.host} port 1")
    assert maint < park


def test_a_server_missing_from_the_running_proxy_is_an_error() -> None:
    plans = service_plan(routes(Color.BLUE, slots=2))
    current = running(service_plan(routes(Color.BLUE)))

    with pytest.raises(CommandFailed, match="web_live/blue-2"):
        sync_commands(plans, current)


def test_mismatches_name_the_server_and_both_states() -> None:
    plans = service_plan(routes(Color.BLUE))
    current = running(service_plan(routes(Color.GREEN)))

    found = mismatches(plans, current)

    assert (
        "web_live/blue-1 is drain at 10.0.0.1:80, expected ready at 10.0.0.1:80"
        in found
    )
    assert len(found) == 4
