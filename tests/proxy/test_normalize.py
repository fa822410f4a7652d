"""Checking route tables before they become configuration or commands."""

from __future__ import annotations

import pytest

from proxy.errors import InvalidRoutes
from proxy.normalize import normalize_table
from proxy.routes import Address, Color, Endpoint, RouteTable, ServiceRoutes


def table(bind: str = "127.0.0.1", **changes: object) -> RouteTable:
    """One service "web", changed as asked."""
    values: dict[str, object] = {
        "service": "web",
        "ports": {Endpoint.LIVE: 8000, Endpoint.PREVIEW: 8001},
        "slots": 1,
        "servers": {Color.BLUE: (Address("127.0.0.1", 9000),)},
    }
    values.update(changes)
    routes = ServiceRoutes(**values)  # type: ignore[arg-type]
    return RouteTable(services={"web": routes}, bind=bind)


def test_a_hostname_becomes_an_ip_address() -> None:
    normal = normalize_table(table(servers={Color.BLUE: (Address("localhost", 80),)}))

    assert normal.services["web"].addresses(Color.BLUE)[0] in (
        Address("127.0.0.1", 80),
        Address("::1", 80),
    )


def test_missing_slots_are_padded_with_nothing() -> None:
    normal = normalize_table(table(slots=2))

    assert normal.services["web"].servers[Color.GREEN] == (None, None)


@pytest.mark.parametrize(
    ("changes", "quoted"),
    [
        ({"health_path": "healthz"}, "'healthz'"),
        ({"health_path": "/health z"}, "'/health z'"),
        ({"health_path": "/a#b"}, "'/a#b'"),
        ({"service": "other"}, "'other'"),
        ({"slots": 0}, "1 replicas for 0 slots"),
        ({"ports": {Endpoint.LIVE: 70000}}, "got 70000"),
        ({"servers": {Color.BLUE: (Address("127.0.0.1", 99999),)}}, "got 99999"),
        ({"ports": {Endpoint.LIVE: 8000, Endpoint.BLUE: 8000}}, "port 8000"),
    ],
)
def test_a_bad_value_is_refused_and_quoted(
    changes: dict[str, object], quoted: str
) -> None:
    with pytest.raises(InvalidRoutes) as refused:
        normalize_table(table(**changes))

    assert quoted in str(refused.value)


def test_a_service_name_that_would_break_a_proxy_name_is_refused() -> None:
    routes = table().services["web"]
    bad = RouteTable(services={"web app": routes})

    with pytest.raises(InvalidRoutes, match="'web app'"):
        normalize_table(bad)


def test_the_bind_address_must_be_an_ip() -> None:
    with pytest.raises(InvalidRoutes, match="'localhost'"):
        normalize_table(table(bind="localhost"))
