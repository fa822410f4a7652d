"""Rendering nginx configurations and reading nginx's processes and logs."""

from __future__ import annotations

from pathlib import Path

from proxy.nginx.config import WorkerUser, render_config
from proxy.nginx.files import NginxFiles
from proxy.nginx.process import has_given_up, summary
from proxy.nginx.procfs import decode_address
from proxy.nginx.status import parse_stub_status
from proxy.routes import Address, Color, Endpoint, RouteTable, ServiceRoutes

FILES = NginxFiles.under(Path("/state/nginx"))
PORTS = {Endpoint.LIVE: 8000, Endpoint.PREVIEW: 8001}
REPLICA = Address("127.0.0.1", 9000)


def table(**changes: object) -> RouteTable:
    """One service with a blue replica, live blue and preview green."""
    values: dict[str, object] = {
        "service": "web",
        "ports": PORTS,
        "slots": 2,
        "servers": {Color.BLUE: (REPLICA, None)},
        "live": Color.BLUE,
        "preview": Color.GREEN,
    }
    values.update(changes)
    routes = ServiceRoutes(**values)  # type: ignore[arg-type]
    return RouteTable(services={"web": routes})


def test_rendering_the_same_table_gives_the_same_text() -> None:
    assert render_config(table(), FILES) == render_config(table(), FILES)


def test_live_names_the_colour_it_sends_to() -> None:
    text = render_config(table(), FILES)

    live = text.split("# web live")[1].split("# web preview")[0]
    assert "proxy_pass http://web_blue;" in live
    assert "add_header X-Bgctl-Color blue always;" in live


def test_a_colour_without_replicas_has_no_upstream_and_answers_503() -> None:
    text = render_config(table(), FILES)

    assert "upstream web_green" not in text
    assert "return 503;" in text.split("# web preview")[1]
    assert "server 127.0.0.1:9000 max_fails=1" in text
    assert text.count("server 127.0.0.1:") == 1


def test_every_path_stays_in_the_state_directory() -> None:
    text = render_config(table(), FILES)

    words = [word for word in text.split() if word.endswith(";")]
    paths = [word for word in words if word.startswith(("/", "unix:/"))]
    assert paths
    assert all("/state/nginx/" in path for path in paths)


def test_the_worker_user_is_named_only_when_given() -> None:
    assert "user " not in render_config(table(), FILES)
    named = render_config(table(), FILES, WorkerUser("bgctl", "staff"))
    assert "user bgctl staff;" in named


def test_an_ipv6_bind_is_bracketed() -> None:
    routes = table().services["web"]
    text = render_config(RouteTable(services={"web": routes}, bind="::1"), FILES)

    assert "listen [::1]:8000;" in text


def test_proc_net_addresses_are_decoded() -> None:
    assert decode_address("0100007F:2328") == Address("127.0.0.1", 9000)
    mapped = "0000000000000000FFFF00000100007F:2328"
    assert decode_address(mapped) == Address("127.0.0.1", 9000)


def test_a_refused_bind_is_retried_before_nginx_gives_up() -> None:
    retrying = "[emerg] 1#1: bind() to 127.0.0.1:80 failed (98: Address in use)"
    given_up = "[emerg] 1#1: still could not bind()"

    assert not has_given_up(retrying)
    assert has_given_up(f"{retrying}\n{given_up}")
    assert has_given_up('[emerg] 1#1: unknown directive "x"')
    assert summary(f"{retrying}\n{given_up}\n") == given_up


def test_stub_status_counts_are_read() -> None:
    page = (
        "Active connections: 3 \nserver accepts handled requests\n 9 9 12 \n"
        "Reading: 0 Writing: 1 Waiting: 2 \n"
    )

    status = parse_stub_status(page)

    assert (status.active, status.writing, status.waiting) == (3, 1, 2)
