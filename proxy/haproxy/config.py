"""Renders an HAProxy configuration from a route table.

A pure function of the table and a few paths: the same input always gives
the same text. The table must already be normalized (names checked, hosts
resolved to IP addresses). Servers start in the state the table asks for,
except that drained servers start in maintenance: a configuration cannot
say "drain", and the runtime API moves them to drain right after a load.
"""

from __future__ import annotations

import hashlib
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from proxy.haproxy.layout import (
    ServerPlan,
    ServerState,
    backend_plan,
    proxy_name,
    skeleton,
)
from proxy.routes import COLOR_HEADER, Address, Endpoint, RouteTable, ServiceRoutes

SERVER_HEADER = "X-Bgctl-Server"
"""Response header naming the server (colour and slot) that answered."""

HARD_STOP_AFTER = "30s"
"""How long a worker replaced by a reload may finish its requests."""

INDENT = "    "


@dataclass(frozen=True)
class ConfigPaths:
    """Files the configuration names, all inside the driver's state directory."""

    admin_socket: Path
    state_file: Path


def render_config(table: RouteTable, paths: ConfigPaths) -> str:
    """The whole configuration file for ``table``."""
    sections = [header(), global_section(paths), defaults_section()]
    for name in sorted(table.services):
        sections.extend(service_sections(table.services[name], table.bind))
    return "\n".join(sections)


def skeleton_digest(table: RouteTable, paths: ConfigPaths) -> str:
    """A digest of the configuration of ``table`` without replicas or colours.

    It changes exactly when a reload is needed: for a new service, port,
    slot count or health path, and for a new version of this renderer.
    """
    text = render_config(skeleton(table), paths)
    return hashlib.sha256(text.encode()).hexdigest()


def header() -> str:
    """A comment saying where the file comes from."""
    return "# Rendered by bgctl from its route table; edits here are replaced.\n"


def global_section(paths: ConfigPaths) -> str:
    """Process-wide settings: the admin socket and the server-state file."""
    return section(
        "global",
        f"stats socket {paths.admin_socket} mode 600 level admin expose-fd listeners",
        "stats timeout 30s",
        f"server-state-file {paths.state_file}",
        f"hard-stop-after {HARD_STOP_AFTER}",
    )


def defaults_section() -> str:
    """Timeouts, retries and health-check pacing shared by every proxy."""
    return section(
        "defaults",
        "mode http",
        "option forwardfor",
        "option redispatch",
        "retries 3",
        "retry-on conn-failure empty-response",
        "load-server-state-from-file global",
        "timeout connect 2s",
        "timeout client 30s",
        "timeout server 30s",
        "timeout http-request 10s",
        "timeout http-keep-alive 10s",
        "timeout queue 5s",
        "timeout check 2s",
        "default-server inter 1s fastinter 500ms downinter 1s rise 2 fall 2",
    )


def service_sections(routes: ServiceRoutes, bind: str) -> list[str]:
    """The frontends and backends of one service, endpoint by endpoint."""
    sections = []
    for endpoint in Endpoint:
        port = routes.ports.get(endpoint)
        if port is not None:
            sections.append(frontend_section(routes.service, endpoint, bind, port))
        sections.append(backend_section(routes, endpoint))
    return sections


def frontend_section(service: str, endpoint: Endpoint, bind: str, port: int) -> str:
    """One frontend, listening on ``bind:port`` and feeding its backend."""
    name = proxy_name(service, endpoint)
    return section(
        f"frontend {name}",
        f"bind {host_port(Address(bind, port))}",
        f"default_backend {name}",
    )


def backend_section(routes: ServiceRoutes, endpoint: Endpoint) -> str:
    """One backend with health checks, colour headers and its servers."""
    plans = backend_plan(routes, endpoint)
    return section(
        f"backend {proxy_name(routes.service, endpoint)}",
        f"option httpchk GET {routes.health_path}",
        f"http-response set-header {COLOR_HEADER} %[srv_name,field(1,-)]",
        f"http-response set-header {SERVER_HEADER} %[srv_name]",
        *(server_line(plan) for plan in plans),
    )


def server_line(plan: ServerPlan) -> str:
    """A server line; anything not ready starts in maintenance."""
    line = f"server {plan.server} {host_port(plan.target)} check"
    return line if plan.state is ServerState.READY else f"{line} disabled"


def host_port(address: Address) -> str:
    """``host:port``, with an IPv6 host in brackets."""
    if ipaddress.ip_address(address.host).version == 6:
        return f"[{address.host}]:{address.port}"
    return f"{address.host}:{address.port}"


def section(title: str, *lines: str) -> str:
    """A section: its title, then its lines indented, then a blank line."""
    body = "".join(f"{INDENT}{line}\n" for line in lines)
    return f"{title}\n{body}"
