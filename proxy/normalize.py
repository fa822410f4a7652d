"""Checks a route table and turns it into one a proxy can take verbatim.

Service names become parts of proxy names and health paths become words of
the configuration file (HAProxy's and nginx's alike), so anything that could
change the file's structure (spaces, control characters, comment marks) is
refused here; whatever else a proxy dislikes, its own check refuses. Hosts
become IP addresses because HAProxy's runtime API takes nothing else, and
ports are range-checked here because that API silently wraps a port above
65535 instead of refusing it.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
import socket

from proxy.errors import InvalidRoutes
from proxy.routes import Address, Color, RouteTable, ServiceRoutes

_SERVICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
_UNSAFE_IN_PATH = re.compile(r"[\s#\\\x00-\x1f\x7f]")


def normalize_table(table: RouteTable) -> RouteTable:
    """Check ``table`` and return it with every host resolved to an IP."""
    check_ip("bind address", table.bind)
    check_unique_ports(table)
    services = {
        name: normalize_service(name, routes) for name, routes in table.services.items()
    }
    return RouteTable(services=services, bind=table.bind)


def normalize_service(name: str, routes: ServiceRoutes) -> ServiceRoutes:
    """Check one service and resolve the hosts of its replicas."""
    check_service_name(name, routes)
    check_slots(routes)
    check_health_path(routes)
    for endpoint, port in routes.ports.items():
        check_port(f'service "{name}": {endpoint} port', port)
    servers = {
        color: tuple(resolve_replica(name, a) for a in routes.addresses(color))
        for color in Color
    }
    return dataclasses.replace(routes, servers=servers)


def check_service_name(name: str, routes: ServiceRoutes) -> None:
    """A service name must be a safe proxy-name part and match its key."""
    if not _SERVICE_NAME.fullmatch(name):
        raise InvalidRoutes(
            f'service name must be letters, digits, ".", "_" or "-" '
            f"(at most 63), got {name!r}"
        )
    if routes.service != name:
        raise InvalidRoutes(
            f'service "{name}" is filed under its own name, got {routes.service!r}'
        )


def check_slots(routes: ServiceRoutes) -> None:
    """Slots are not negative and hold every replica given."""
    if routes.slots < 0:
        raise InvalidRoutes(
            f'service "{routes.service}": slots must be 0 or more, got {routes.slots}'
        )
    for color, addresses in routes.servers.items():
        if len(addresses) > routes.slots:
            raise InvalidRoutes(
                f'service "{routes.service}": {color} has {len(addresses)} '
                f"replicas for {routes.slots} slots"
            )


def check_health_path(routes: ServiceRoutes) -> None:
    """A health path is absolute and holds nothing that splits a config word."""
    path = routes.health_path
    if not path.startswith("/") or _UNSAFE_IN_PATH.search(path):
        raise InvalidRoutes(
            f'service "{routes.service}": health path must start with "/" and '
            f"hold no spaces, control characters, '#' or '\\', got {path!r}"
        )


def check_port(what: str, port: int) -> None:
    """A TCP port is between 1 and 65535."""
    if not 1 <= port <= 65535:
        raise InvalidRoutes(f"{what} must be between 1 and 65535, got {port}")


def check_ip(what: str, host: str) -> None:
    """``host`` is an IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(host)
    except ValueError as exc:
        raise InvalidRoutes(f"{what} must be an IP address, got {host!r}") from exc


def check_unique_ports(table: RouteTable) -> None:
    """No two frontends bind the same port, which ``haproxy -c`` misses."""
    owners: dict[int, str] = {}
    for name in sorted(table.services):
        for endpoint, port in sorted(table.services[name].ports.items()):
            owner = f"{name} {endpoint}"
            if port in owners:
                raise InvalidRoutes(
                    f"port {port} is bound twice: by {owners[port]} and by {owner}"
                )
            owners[port] = owner


def resolve_replica(service: str, address: Address | None) -> Address | None:
    """A replica's address with its host resolved to an IP address."""
    if address is None:
        return None
    check_port(f'service "{service}": replica {address}', address.port)
    return Address(resolve_host(address.host), address.port)


def resolve_host(host: str) -> str:
    """The IP address of ``host``: itself if it is one, else IPv4 first."""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        pass
    try:
        answers = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise InvalidRoutes(f"cannot resolve replica host {host!r}: {exc}") from exc
    ips = [str(answer[4][0]) for answer in answers]
    ipv4 = [ip for ip in ips if ":" not in ip]
    return (ipv4 or ips)[0]
