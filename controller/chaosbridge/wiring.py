"""Building the chaos service from the controller's parts."""

from __future__ import annotations

import socket

from chaos.service import ChaosService
from controller.chaosbridge.engine import ChaosEngine
from controller.chaosbridge.events import ChaosEvents
from controller.chaosbridge.routes import ChaosRoutes
from controller.chaosbridge.services import ChaosServices
from controller.events import EventHub
from controller.probes import local_host
from controller.routing import Router
from controller.runtime.base import ContainerRuntime
from controller.settings import Settings
from controller.store import Store

LOG_DIR = "chaos"  # under the state directory: the fault proxies' logs


def build_chaos(
    settings: Settings,
    store: Store,
    runtime: ContainerRuntime,
    router: Router,
    hub: EventHub | None = None,
) -> ChaosService:
    """A chaos service acting through this controller's runtime and proxy."""
    return ChaosService(
        settings.database,
        ChaosEngine(runtime, store, router),
        ChaosRoutes(router, store, settings.proxy_host),
        ChaosServices(store),
        fault_host=fault_host(settings),
        log_dir=settings.state_dir / LOG_DIR,
        events=ChaosEvents(hub) if hub is not None else None,
    )


def fault_host(settings: Settings) -> str:
    """The address fault proxies listen on, which the proxy must reach.

    In host mode that is where replicas publish their ports. With a network
    (compose mode) the proxy runs in another container and reaches this
    one at its own address on that network, unless the settings name one.
    """
    if settings.fault_host:
        return settings.fault_host
    if settings.network:
        return socket.gethostbyname(socket.gethostname())
    return local_host(settings.publish_host)
