"""Routes for services: register, list, status, and the release actions."""

from __future__ import annotations

import asyncio
import socket
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request, Response

from chaos.units import NAME_PATTERN
from controller.api.audit import note_release
from controller.api.auth import Admin, Deployer, Viewer
from controller.api.context import Context, context
from controller.api.errors import declared
from controller.api.models import (
    ColorStatus,
    Release,
    ReplicaStatus,
    RollbackRequest,
    ServiceStatus,
    ServiceSummary,
)
from controller.api.presenters import (
    color_role,
    release_out,
    release_path,
    replica_health,
)
from controller.errors import Conflict, InvalidInput, NotFound, OperationFailed
from controller.probes import local_host
from controller.routing import preview_color
from controller.runtime.base import Replica
from controller.spec import ServiceSpec
from controller.store import ServiceRecord
from proxy.routes import Color

router = APIRouter(prefix="/api/v1/services", tags=["services"])

Ctx = Annotated[Context, Depends(context)]


def checked_name(service: str) -> str:
    """Refuse a service name in a path that no spec could have."""
    if not NAME_PATTERN.fullmatch(service):
        raise InvalidInput(
            "service",
            service,
            "must be 2-40 characters of a-z, 0-9 and '-', starting with a letter",
        )
    return service


Name = Annotated[str, Depends(checked_name)]


def found(ctx: Context, name: str) -> ServiceRecord:
    """The stored service, or 404."""
    record = ctx.store.service(name)
    if record is None:
        raise NotFound(f'service "{name}" is not registered', service=name)
    return record


@router.get("", response_model=list[ServiceSummary], responses=declared(401, 403))
async def list_services(who: Viewer, ctx: Ctx) -> list[ServiceSummary]:
    """Every service with its live colour."""
    return [_summary(ctx, record) for record in ctx.store.services()]


@router.put(
    "/{service}",
    response_model=ServiceStatus,
    responses={
        201: {"model": ServiceStatus, "description": "Registered"},
        **declared(400, 401, 403, 409, 422, 502),
    },
)
async def put_service(
    who: Admin,
    service: Name,
    ctx: Ctx,
    response: Response,
    body: Annotated[dict[str, Any], Body()],
) -> ServiceStatus:
    """Register a service from a spec, or update it."""
    body.setdefault("name", service)
    spec = ServiceSpec.model_validate(body)
    if spec.name != service:
        raise InvalidInput("name", spec.name, f'must match the path "{service}"')
    previous = ctx.store.service(service)
    _refuse_port_clash(ctx, spec)
    _refuse_busy_ports(ctx, spec, previous)
    if previous is not None and (flying := ctx.store.in_flight(service)):
        raise Conflict(
            f'service "{service}" cannot change while release {flying.id} is '
            f"{flying.phase}",
            release=flying.id,
        )
    created = ctx.store.put_service(spec)
    try:
        await ctx.router.apply()
    except OperationFailed:
        if previous is None:
            ctx.store.delete_service(service)
        else:
            ctx.store.put_service(previous.spec)
        raise
    if not spec.chaos.enabled:
        # Consent withdrawn: nothing of chaos stays on the service.
        await ctx.chaos.abort_service(service, who.name)
    response.status_code = 201 if created else 200
    return await _status(ctx, found(ctx, service))


@router.get(
    "/{service}", response_model=ServiceStatus, responses=declared(401, 403, 404, 422)
)
async def get_service(who: Viewer, service: Name, ctx: Ctx) -> ServiceStatus:
    """Live colour, both colours' releases and replicas, the release in flight."""
    return await _status(ctx, found(ctx, service))


ACTION_ERRORS = declared(401, 403, 404, 409, 422)


@router.post("/{service}/promote", response_model=Release, responses=ACTION_ERRORS)
async def promote(who: Deployer, service: Name, ctx: Ctx, request: Request) -> Release:
    """Flip live to the release awaiting promotion."""
    found(ctx, service)
    release = await ctx.releases.promote(service, who.name)
    note_release(request, release.id)
    return release_out(ctx, release, with_timeline=True)


@router.post("/{service}/abort", response_model=Release, responses=ACTION_ERRORS)
async def abort(who: Deployer, service: Name, ctx: Ctx, request: Request) -> Release:
    """Stop the release in flight; live traffic is untouched."""
    found(ctx, service)
    release = await ctx.releases.abort(service, who.name)
    note_release(request, release.id)
    return release_out(ctx, release, with_timeline=True)


@router.post(
    "/{service}/rollback",
    response_model=Release,
    responses={
        202: {"model": Release, "description": "Redeploying the previous image"},
        **declared(400, 401, 403, 404, 409, 422),
    },
)
async def rollback(
    who: Deployer,
    service: Name,
    ctx: Ctx,
    request: Request,
    response: Response,
    body: Annotated[RollbackRequest | None, Body()] = None,
) -> Release:
    """Send live back to the previous release.

    200 with the release live again when the standby colour was warm (a
    flip); 202 with a new release when it had been retired, which deploys
    the previous image again and promotes it.
    """
    found(ctx, service)
    to = body.color if body else None
    release, flipped = await ctx.releases.rollback(service, who.name, to)
    note_release(request, release.id)
    if not flipped:
        response.status_code = 202
        response.headers["Location"] = release_path(release)
    return release_out(ctx, release, with_timeline=True)


def _refuse_port_clash(ctx: Context, spec: ServiceSpec) -> None:
    mine = spec.endpoints.by_endpoint()
    for other in ctx.store.services():
        if other.name == spec.name:
            continue
        theirs = {p: e for e, p in other.spec.endpoints.by_endpoint().items()}
        for endpoint, port in mine.items():
            if port in theirs:
                raise Conflict(
                    f"endpoints.{endpoint.value}: port {port} is already the "
                    f'{theirs[port].value} port of service "{other.name}"',
                    field=f"endpoints.{endpoint.value}",
                    value=port,
                )


def _refuse_busy_ports(
    ctx: Context, spec: ServiceSpec, previous: ServiceRecord | None
) -> None:
    """Refuse ports that another program holds; ours are bound by the proxy."""
    held = set(previous.spec.endpoints.by_endpoint().values()) if previous else set()
    for endpoint, port in spec.endpoints.by_endpoint().items():
        if port in held:
            continue
        if not is_port_free(ctx.settings.proxy_bind, port):
            raise Conflict(
                f"endpoints.{endpoint.value}: port {port} is already in use on "
                f"{ctx.settings.proxy_bind} by another program",
                field=f"endpoints.{endpoint.value}",
                value=port,
            )


def is_port_free(host: str, port: int) -> bool:
    """Whether a listener could bind ``host:port`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def endpoint_urls(ctx: Context, spec: ServiceSpec) -> dict[str, str]:
    """The URLs of the service's four frontends."""
    host = local_host(ctx.settings.proxy_bind)
    return {
        endpoint.value: f"http://{host}:{port}"
        for endpoint, port in spec.endpoints.by_endpoint().items()
    }


def _summary(ctx: Context, record: ServiceRecord) -> ServiceSummary:
    live = ctx.store.slot(record.name, record.live_color) if record.live_color else None
    release = ctx.store.release(live.release_id) if live and live.release_id else None
    return ServiceSummary(
        name=record.name,
        live_color=record.live_color,
        live_release=release.id if release else None,
        live_image=release.image_ref if release else None,
        endpoints=endpoint_urls(ctx, record.spec),
    )


async def _status(ctx: Context, record: ServiceRecord) -> ServiceStatus:
    replicas = await asyncio.to_thread(ctx.runtime.list_replicas, record.name)
    occupied = {color for color in Color if ctx.store.slot(record.name, color).replicas}
    preview = preview_color(record.live_color, occupied)
    colors = [
        await _color_status(ctx, record, color, preview, replicas) for color in Color
    ]
    flying = ctx.store.in_flight(record.name)
    return ServiceStatus(
        **_summary(ctx, record).model_dump(),
        preview_color=preview,
        colors=colors,
        release_in_flight=release_out(ctx, flying) if flying else None,
        spec=record.spec.model_dump(mode="json"),
    )


async def _color_status(
    ctx: Context,
    record: ServiceRecord,
    color: Color,
    preview: Color | None,
    replicas: list[Replica],
) -> ColorStatus:
    slot = ctx.store.slot(record.name, color)
    release = ctx.store.release(slot.release_id) if slot.release_id else None
    role = color_role(record, color, release)
    mine = [r for r in replicas if r.color is color]
    path = record.spec.readiness.path
    return ColorStatus(
        color=color,
        role=role if color is not preview or role != "idle" else "preview",
        release=release.id if release else None,
        image=release.image_ref if release else None,
        image_id=release.image_id if release else None,
        phase=release.phase if release else None,
        replicas=list(await asyncio.gather(*(_replica(ctx, r, path) for r in mine))),
    )


async def _replica(ctx: Context, replica: Replica, path: str) -> ReplicaStatus:
    healthy, text = await replica_health(ctx, replica, path)
    return ReplicaStatus(
        name=replica.name,
        container_id=replica.container_id,
        index=replica.index,
        state=replica.state.value,
        address=str(replica.address) if replica.address else None,
        healthy=healthy,
        probe=text,
    )
