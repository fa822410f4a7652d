"""Building the chaos service from the controller's parts."""

from __future__ import annotations

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
    """A chaos service acting through this controller's runtime and proxy.

    Fault proxies listen where the proxy already reaches replicas in host
    mode, the host replicas publish their ports on.
    """
    return ChaosService(
        settings.database,
        ChaosEngine(runtime, store, router),
        ChaosRoutes(router, store, local_host(settings.proxy_bind)),
        ChaosServices(store),
        fault_host=local_host(settings.publish_host),
        log_dir=settings.state_dir / LOG_DIR,
        events=ChaosEvents(hub) if hub is not None else None,
    )
