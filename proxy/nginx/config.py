"""Renders an nginx configuration from a route table.

A pure function of the table, the driver's files and the worker user: the
same input always gives the same text. The table must already be
normalized (names checked, hosts resolved to IP addresses).

Per service there is one ``server`` block per endpoint, listening on
``bind:port``, and one ``upstream`` per colour that has a replica, with a
server per filled slot. The live and preview blocks send to the upstream
of the colour the table names, so every block knows at render time which
colour it reaches and names it in a response header. A block whose colour
is None, or has no replica, answers 503 itself. nginx has no runtime API,
so every change of colours is a new file and a reload.

Open-source nginx has no active health checks: a replica that refuses or
times out is retried on the next one (``proxy_next_upstream``) and left
alone for a while, which is all the health checking this driver does.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass

from proxy.nginx.files import TEMP_KINDS, NginxFiles
from proxy.routes import (
    COLOR_HEADER,
    Address,
    Color,
    Endpoint,
    RouteTable,
    ServiceRoutes,
)

WORKER_PROCESSES = 1
"""One worker keeps reloads easy to follow; it serves thousands of connections."""

WORKER_CONNECTIONS = 1024
"""Connections one worker holds at once, clients and upstreams together."""

WORKER_SHUTDOWN_TIMEOUT = "30s"
"""How long a worker replaced by a reload may finish its requests."""

UPSTREAM_KEEPALIVE = 16
"""Idle connections each worker keeps open to one colour's replicas."""

UPSTREAM_IDLE_TIMEOUT = "5s"
"""How long an idle upstream connection stays open (and counts as a session)."""

INDENT = "    "


@dataclass(frozen=True)
class WorkerUser:
    """The user and group workers run as; only a root master can switch."""

    user: str
    group: str


def render_config(
    table: RouteTable, files: NginxFiles, user: WorkerUser | None = None
) -> str:
    """The whole configuration file for ``table``."""
    return "".join(
        [
            header(),
            *main_lines(files, user),
            block("events", f"worker_connections {WORKER_CONNECTIONS};"),
            http_block(table, files),
        ]
    )


def config_digest(text: str) -> str:
    """The digest by which a loaded configuration is recognised."""
    return hashlib.sha256(text.encode()).hexdigest()


def header() -> str:
    """A comment saying where the file comes from."""
    return "# Rendered by bgctl from its route table; edits here are replaced.\n"


def main_lines(files: NginxFiles, user: WorkerUser | None) -> list[str]:
    """Process-wide settings: a foreground master, its pid file and log."""
    lines = [
        "daemon off;",
        "master_process on;",
        f"worker_processes {WORKER_PROCESSES};",
        f"worker_shutdown_timeout {WORKER_SHUTDOWN_TIMEOUT};",
        f"pid {files.pidfile};",
        f"error_log {files.error_log} notice;",
    ]
    if user is not None:
        lines.append(f"user {user.user} {user.group};")
    return [f"{line}\n" for line in lines]


def http_block(table: RouteTable, files: NginxFiles) -> str:
    """The ``http`` block: shared proxy settings, status, every service."""
    parts = [*http_settings(files), status_server(files)]
    for name in sorted(table.services):
        parts.extend(service_blocks(table.services[name], table.bind))
    return block("http", *parts)


def http_settings(files: NginxFiles) -> list[str]:
    """Temp paths, keep-alive to upstreams, retries and timeouts."""
    temp = [f"{kind}_temp_path {files.temp_path(kind)};" for kind in TEMP_KINDS]
    return [
        "access_log off;",
        *temp,
        "proxy_http_version 1.1;",
        'proxy_set_header Connection "";',
        "proxy_set_header Host $http_host;",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
        f"proxy_hide_header {COLOR_HEADER};",
        "proxy_next_upstream error timeout;",
        "proxy_next_upstream_tries 3;",
        "proxy_connect_timeout 2s;",
        "proxy_send_timeout 30s;",
        "proxy_read_timeout 30s;",
        "client_header_timeout 10s;",
        "keepalive_timeout 10s;",
    ]


def status_server(files: NginxFiles) -> str:
    """``stub_status`` on a unix socket in the state directory, nowhere else."""
    return block(
        "server",
        f"listen unix:{files.status_socket};",
        block("location = /status", "stub_status;"),
    )


def service_blocks(routes: ServiceRoutes, bind: str) -> list[str]:
    """The upstreams, then the server blocks, of one service."""
    upstreams = [upstream_block(routes, color) for color in Color]
    servers = [
        server_block(routes, endpoint, Address(bind, port))
        for endpoint, port in sorted(routes.ports.items())
    ]
    return [text for text in upstreams if text] + servers


def upstream_name(service: str, color: Color) -> str:
    """The name of the upstream holding a service's replicas of ``color``."""
    return f"{service}_{color}"


def upstream_block(routes: ServiceRoutes, color: Color) -> str | None:
    """One colour's replicas with keep-alive, or None if it has none."""
    servers = [
        f"server {host_port(address)} max_fails=1 fail_timeout=2s;"
        for address in routes.addresses(color)
        if address is not None
    ]
    if not servers:
        return None
    return block(
        f"upstream {upstream_name(routes.service, color)}",
        *servers,
        f"keepalive {UPSTREAM_KEEPALIVE};",
        f"keepalive_timeout {UPSTREAM_IDLE_TIMEOUT};",
    )


def target_color(routes: ServiceRoutes, endpoint: Endpoint) -> Color | None:
    """The colour a frontend sends to, None when that colour has no replica."""
    color = routes.served(endpoint)
    if color is None or not any(routes.addresses(color)):
        return None
    return color


def server_block(routes: ServiceRoutes, endpoint: Endpoint, address: Address) -> str:
    """One frontend: proxy to its colour and name it, or answer 503."""
    color = target_color(routes, endpoint)
    if color is None:
        location = block("location /", "return 503;")
    else:
        location = block(
            "location /",
            f"proxy_pass http://{upstream_name(routes.service, color)};",
            f"add_header {COLOR_HEADER} {color} always;",
        )
    return block(
        "server",
        f"# {routes.service} {endpoint}",
        f"listen {host_port(address)};",
        location,
    )


def host_port(address: Address) -> str:
    """``host:port``, with an IPv6 host in brackets."""
    if ipaddress.ip_address(address.host).version == 6:
        return f"[{address.host}]:{address.port}"
    return f"{address.host}:{address.port}"


def block(title: str, *parts: str) -> str:
    """``title { ... }`` with every line of ``parts`` indented one level."""
    body = "".join(f"{INDENT}{line}\n" for part in parts for line in part.splitlines())
    return f"{title} {{\n{body}}}\n"
