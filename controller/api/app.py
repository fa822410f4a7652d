"""The FastAPI application and its start-up and shut-down."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from controller.admin_token import keyring_for
from controller.api import (
    audit,
    chaos,
    errors,
    events,
    inventory,
    metrics,
    releases,
    services,
)
from controller.api.audit import AuditLog
from controller.api.auth import AccessControl, rules_of
from controller.api.context import Context
from controller.chaosbridge.wiring import build_chaos
from controller.events import EventHub
from controller.metrics import Metrics
from controller.policy import ImagePolicy
from controller.reconcile import reconcile
from controller.releases import ReleaseManager
from controller.routing import Router
from controller.runtime.base import LABEL_CONTROLLER, ContainerRuntime
from controller.settings import Settings
from controller.standby import StandbyKeeper
from controller.steps import Steps
from controller.store import Store
from controller.supervisor import supervise
from proxy.driver import ProxyDriver

log = logging.getLogger(__name__)


def default_runtime(settings: Settings, scope: dict[str, str]) -> ContainerRuntime:
    """The Docker engine, publishing replicas on the configured host.

    With a network (compose mode) replicas join it too, and the proxy
    reaches them at their address there.
    """
    from controller.runtime.docker import DockerRuntime

    return DockerRuntime(
        publish_host=settings.publish_host,
        network=settings.network,
        stop_timeout=settings.stop_timeout,
        scope=scope,
    )


def default_driver(settings: Settings) -> ProxyDriver:
    """The proxy of the controller's own (HAProxy or nginx), in its state dir."""
    if settings.proxy == "nginx":
        from proxy.nginx import NginxDriver

        return NginxDriver(settings.state_dir, settings.nginx_bin)
    from proxy.haproxy import HAProxyDriver

    return HAProxyDriver(
        settings.state_dir, settings.haproxy_bin, attached=settings.haproxy_attached
    )


def create_app(
    settings: Settings,
    runtime: ContainerRuntime | None = None,
    driver: ProxyDriver | None = None,
) -> FastAPI:
    """Build the app; engine and proxy are made from settings unless given.

    Raises SettingsError when the admin token cannot be read or written.
    """
    keyring = keyring_for(settings)
    hub = EventHub()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ctx = _build(settings, runtime, driver, hub)
        app.state.context = ctx
        log.info("controller starting with state in %s", settings.state_dir)
        if settings.allowed_images:
            patterns = ", ".join(settings.allowed_images)
            log.info("releases allowed only from repositories matching %s", patterns)
        await _start_up(ctx)
        keeper = StandbyKeeper(ctx.steps, ctx.releases.lock)
        duties = asyncio.create_task(
            supervise(ctx.router, keeper, ctx.releases, ctx.chaos, ctx.metrics.health)
        )
        ctx.is_ready = True
        log.info("controller ready on %s", settings.api_url)
        try:
            yield
        finally:
            ctx.is_ready = False
            hub.close()
            duties.cancel()
            await asyncio.gather(duties, return_exceptions=True)
            await ctx.releases.close()
            await ctx.chaos.close()
            await ctx.steps.client.aclose()
            ctx.store.close()
            log.info("controller stopped; the proxy keeps serving")

    app = FastAPI(
        title="bgctl",
        version="0.1.0",
        summary="Blue/green deployment controller with chaos testing",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    # Reachable before the lifespan ends, so the server can end the streams.
    app.state.events = hub
    _add_docs(app)
    errors.install(app)
    routers = (
        services.router,
        releases.router,
        inventory.router,
        metrics.router,
        audit.router,
        chaos.router,
        events.router,
    )
    for router in routers:
        app.include_router(router)
    _add_health(app)
    # The audit log wraps access control, so it records who sent even a
    # request that access control or a route refused.
    app.add_middleware(AccessControl, keyring=keyring, rules=rules_of(routers))
    app.add_middleware(AuditLog, store=lambda: _store_of(app))
    return app


async def _start_up(ctx: Context) -> None:
    """Bring engine, proxy and store back in line before serving.

    Chaos goes first, while the replicas it paused or stopped are still in
    their colours' slots: reconciling would take such a replica for an
    orphan and remove it.
    """
    # 1. The proxy runs (adopted, or started) with no detours: a new router
    #    has none, so the traffic faults are out of every route.
    await ctx.router.start()

    # 2. Every fault chaos left open is undone; its runs are interrupted.
    await ctx.chaos.recover()

    # 3. Releases, slots, proxy and containers agree with the store again.
    await reconcile(ctx.store, ctx.runtime, ctx.router, ctx.settings.stop_timeout)

    # 4. Releases waiting for a person, or being watched, carry on.
    ctx.releases.resume()


def _store_of(app: FastAPI) -> Store | None:
    ctx: Context | None = getattr(app.state, "context", None)
    return ctx.store if ctx is not None else None


def _build(
    settings: Settings,
    runtime: ContainerRuntime | None,
    driver: ProxyDriver | None,
    hub: EventHub,
) -> Context:
    store = Store(settings.database, listener=hub.publish_line)
    scope = {LABEL_CONTROLLER: store.controller_id()}
    engine = runtime or default_runtime(settings, scope)
    router = Router(store, driver or default_driver(settings), settings.proxy_bind)
    client = httpx.AsyncClient()
    chaos_service = build_chaos(settings, store, engine, router, hub)
    meters = Metrics(store, chaos_service, client)
    steps = Steps(
        store=store,
        runtime=engine,
        router=router,
        client=client,
        proxy_host=settings.proxy_host,
        stop_timeout=settings.stop_timeout,
        state_dir=settings.state_dir,
        extra_labels={**settings.extra_labels, **scope},
        recorder=meters.recorder,
    )
    return Context(
        settings=settings,
        store=store,
        runtime=engine,
        router=router,
        steps=steps,
        releases=ReleaseManager(steps, ImagePolicy(settings.allowed_images)),
        chaos=chaos_service,
        metrics=meters,
    )


def _add_docs(app: FastAPI) -> None:
    """Interactive docs served from files in the package, not from a CDN."""
    import swagger_ui_bundle  # type: ignore[import-untyped]

    assets = StaticFiles(directory=swagger_ui_bundle.swagger_ui_path)
    app.mount("/docs/assets", assets, name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="bgctl API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
        )


def _add_health(app: FastAPI) -> None:
    @app.get("/healthz", tags=["controller"])
    async def healthz() -> dict[str, str]:
        """The controller process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["controller"])
    async def readyz() -> JSONResponse:
        """The controller has reconciled and its proxy runs."""
        ctx: Context | None = getattr(app.state, "context", None)
        ready = ctx is not None and ctx.is_ready
        body = {"status": "ready" if ready else "starting"}
        return JSONResponse(body, status_code=200 if ready else 503)
