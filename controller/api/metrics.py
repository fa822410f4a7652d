"""``GET /metrics``: the controller's metrics for Prometheus to scrape.

Like the API's reads it needs a token of role viewer or above, which
Prometheus sends as ``authorization: Bearer``; and like them it shows chaos
(the ``bgctl_chaos_`` families) only to a role that may read chaos.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from controller.api.auth import Viewer
from controller.api.context import Context, context
from controller.api.errors import declared
from controller.metrics import CONTENT_TYPE
from controller.tokens import Role

router = APIRouter(tags=["controller"])

Ctx = Annotated[Context, Depends(context)]

TEXT_FORMAT = {"content": {"text/plain": {"schema": {"type": "string"}}}}


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: TEXT_FORMAT, **declared(401, 403)},
)
async def metrics(who: Viewer, ctx: Ctx) -> Response:
    """Releases, flips, phases, live colours, replica health and chaos, as text."""
    # The store's reads take its lock; a thread keeps them off the event loop.
    with_chaos = who.role.allows(Role.SRE)
    body = await asyncio.to_thread(ctx.metrics.render, with_chaos)
    return Response(body, media_type=CONTENT_TYPE)
