"""The configuration renderer, alone and as judged by ``haproxy -c``."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxy.haproxy.config import ConfigPaths, render_config
from proxy.haproxy.layout import skeleton
from proxy.haproxy.process import check_config
from proxy.routes import Address, Color, Endpoint, RouteTable, ServiceRoutes

PORTS = {
    Endpoint.LIVE: 8000,
    Endpoint.PREVIEW: 8001,
    Endpoint.BLUE: 8002,
    Endpoint.GREEN: 8003,
}
PATHS = ConfigPaths(Path("/run/bgctl/admin.sock"), Path("/run/bgctl/server-state"))


def web(**changes: object) -> ServiceRoutes:
    """A two-slot service with both colours filled, live blue, preview green."""
    values: dict[str, object] = {
        "service": "web",
        "ports": PORTS,
        "slots": 2,
        "servers": {
            Color.BLUE: (Address("10.0.0.1", 80), Address("10.0.0.2", 80)),
            Color.GREEN: (Address("10.0.0.3", 80), None),
        },
        "live": Color.BLUE,
        "preview": Color.GREEN,
    }
    values.update(changes)
    return ServiceRoutes(**values)  # type: ignore[arg-type]


def table(*services: ServiceRoutes) -> RouteTable:
    """A table holding ``services``."""
    return RouteTable(services={routes.service: routes for routes in services})


def section(config: str, title: str) -> list[str]:
    """The stripped lines of one section of a rendered configuration."""
    blocks = config.split("\n\n")
    found = [b for b in blocks if b.strip().splitlines()[0] == title]
    assert found, f"no section {title!r}"
    return [line.strip() for line in found[0].strip().splitlines()[1:]]


def test_every_endpoint_gets_a_frontend_on_its_port() -> None:
    config = render_config(table(web()), PATHS)

    assert section(config, "frontend web_live") == [
        "bind 127.0.0.1:8000",
        "default_backend web_live",
    ]
    assert "bind 127.0.0.1:8003" in section(config, "frontend web_green")


def test_live_holds_both_colours_with_only_the_live_one_enabled() -> None:
    servers = [
        line for line in section(render_config(table(web()), PATHS), "backend web_live")
    ]

    assert servers[-4:] == [
        "server blue-1 10.0.0.1:80 check",
        "server blue-2 10.0.0.2:80 check",
        "server green-1 10.0.0.3:80 check disabled",
        "server green-2 127.0.0.1:1 check disabled",
    ]


def test_colour_backends_hold_their_own_colour_and_park_empty_slots() -> None:
    config = render_config(table(web()), PATHS)

    assert section(config, "backend web_green")[-2:] == [
        "server green-1 10.0.0.3:80 check",
        "server green-2 127.0.0.1:1 check disabled",
    ]
    assert not [line for line in section(config, "backend web_blue") if "green" in line]


def test_no_live_colour_disables_every_live_server() -> None:
    lines = section(render_config(table(web(live=None)), PATHS), "backend web_live")

    servers = [line for line in lines if line.startswith("server ")]
    assert all(line.endswith(" disabled") for line in servers)


def test_backends_check_health_and_name_the_answering_colour() -> None:
    lines = section(render_config(table(web()), PATHS), "backend web_preview")

    assert "option httpchk GET /healthz" in lines
    assert "http-response set-header X-Bgctl-Color %[srv_name,field(1,-)]" in lines


def test_the_admin_socket_and_state_file_come_from_the_paths() -> None:
    lines = section(render_config(table(web()), PATHS), "global")

    assert (
        "stats socket /run/bgctl/admin.sock mode 600 level admin expose-fd listeners"
        in lines
    )
    assert "server-state-file /run/bgctl/server-state" in lines


def test_failed_connections_are_retried_elsewhere() -> None:
    lines = section(render_config(table(web()), PATHS), "defaults")

    assert "option redispatch" in lines
    assert "retry-on conn-failure empty-response" in lines
    assert "load-server-state-from-file global" in lines


def test_an_ipv6_replica_is_bracketed() -> None:
    routes = web(servers={Color.BLUE: (Address("::1", 8080),)})

    config = render_config(table(routes), PATHS)

    assert "server blue-1 [::1]:8080 check" in section(config, "backend web_blue")


def test_rendering_is_the_same_whatever_the_order_of_services() -> None:
    api = web(service="api", ports={Endpoint.LIVE: 9000})
    one = RouteTable(services={"web": web(), "api": api})
    other = RouteTable(services={"api": api, "web": web()})

    assert render_config(one, PATHS) == render_config(other, PATHS)


def test_the_skeleton_ignores_addresses_and_colours_but_not_slots() -> None:
    flipped = web(live=Color.GREEN, servers={Color.GREEN: (Address("10.1.1.1", 1),)})

    same = render_config(skeleton(table(flipped)), PATHS)
    assert same == render_config(skeleton(table(web())), PATHS)
    wider = render_config(skeleton(table(web(slots=3))), PATHS)
    assert wider != same


@pytest.mark.parametrize(
    "routes",
    [
        (),
        (web(),),
        (web(live=None, preview=None),),
        (web(slots=0, servers={}),),
        (web(preview=Color.BLUE), web(service="api", ports={Endpoint.LIVE: 9000})),
        (web(servers={Color.BLUE: (Address("::1", 8080),)}, health_path="/ready"),),
    ],
    ids=["empty", "filled", "nothing-live", "no-slots", "two-services", "ipv6"],
)
def test_haproxy_accepts_the_rendered_configuration(
    routes: tuple[ServiceRoutes, ...], tmp_path: Path, haproxy_bin: str
) -> None:
    paths = ConfigPaths(tmp_path / "admin.sock", tmp_path / "server-state")
    config = tmp_path / "haproxy.cfg"
    config.write_text(render_config(table(*routes), paths))

    check_config(haproxy_bin, config)
