"""What the proxy does with one request: pass it on, or apply the fault.

Every function here handles one exchange (one request on its own
connection) and returns when the connection may be closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from chaos.faultproxy.config import FaultKind, FaultParams, Upstream
from chaos.faultproxy.heads import (
    HEAD_LIMIT,
    RequestHead,
    closing,
    error_response,
    is_interim,
    read_head,
)
from chaos.faultproxy.relay import (
    Pacer,
    copy,
    discard,
    finish,
    reset,
    send,
    upload,
)
from chaos.faultproxy.timer import FineTimer

log = logging.getLogger(__name__)

LINGER = 2.0  # how long an answered connection waits for the peer to close


@dataclass(frozen=True)
class Exchange:
    """One request on its own client connection, and where it should go."""

    request: RequestHead
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    upstream: Upstream
    arrived: float  # loop time when the request head was complete


@dataclass(frozen=True)
class FaultContext:
    """The fault, the draws for it, and the timer that holds requests."""

    fault: FaultParams
    draw: random.Random
    timer: FineTimer


Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]
Action = Callable[[Exchange, FaultContext], Awaitable[None]]


async def connect(upstream: Upstream) -> Streams:
    """A new connection to ``upstream``."""
    return await asyncio.open_connection(upstream.host, upstream.port, limit=HEAD_LIMIT)


async def forward(
    exchange: Exchange,
    rate: int | None = None,
    opening: asyncio.Task[Streams] | None = None,
) -> None:
    """Send the request upstream and relay the answer, paced if ``rate``.

    ``opening`` is a connection started ahead of time; if it failed or
    the upstream has closed it since, a new one is made.
    """
    try:
        up_reader, up_writer = await _connection(exchange.upstream, opening)
    except OSError as exc:
        # A refused connection is passed on as one: the client sees a reset.
        log.debug("upstream %s refused: %s", exchange.upstream, exc)
        reset(exchange.writer)
        return
    try:
        await _relay(exchange, up_reader, up_writer, rate)
    finally:
        up_writer.close()


async def _connection(
    upstream: Upstream, opening: asyncio.Task[Streams] | None
) -> Streams:
    if opening is not None:
        with contextlib.suppress(OSError):
            reader, writer = await opening
            if not (reader.at_eof() or reader.exception() or writer.is_closing()):
                return reader, writer
            writer.close()
    return await connect(upstream)


async def _relay(
    exchange: Exchange,
    up_reader: asyncio.StreamReader,
    up_writer: asyncio.StreamWriter,
    rate: int | None,
) -> None:
    # 1. Send the head, rewritten to close after the answer, then the body.
    outward, back = (Pacer(rate), Pacer(rate)) if rate else (None, None)
    await send(up_writer, closing(exchange.request.raw), outward)
    uploading = asyncio.create_task(upload(exchange.reader, up_writer, outward))
    try:
        # 2. Relay interim answers, then the final head rewritten the same
        #    way, then the rest.
        head = await read_head(up_reader)
        while head is not None and is_interim(head):
            await send(exchange.writer, head, back)
            head = await read_head(up_reader)
        if head is None:
            reset(exchange.writer)  # nothing came back; neither does anything here
            return
        await send(exchange.writer, closing(head), back)
        await copy(up_reader, exchange.writer, back)
    finally:
        uploading.cancel()


async def delay(exchange: Exchange, context: FaultContext) -> None:
    """Hold the request for the latency, give or take the jitter, then pass it.

    The connection upstream opens while the request is held, so the time
    that takes is not added to the latency.
    """
    fault = context.fault
    held = fault.latency + context.draw.uniform(-fault.jitter, fault.jitter)
    opening = asyncio.create_task(connect(exchange.upstream))
    try:
        await context.timer.sleep_until(exchange.arrived + held)
    except BaseException:
        opening.add_done_callback(_close_unused)
        opening.cancel()
        raise
    await forward(exchange, opening=opening)


def _close_unused(opening: asyncio.Task[Streams]) -> None:
    """Close a connection opened ahead for a request that never went."""
    if not opening.cancelled() and opening.exception() is None:
        opening.result()[1].close()


async def fail(exchange: Exchange, context: FaultContext) -> None:
    """Answer with the fault's status and body; the upstream never hears of it."""
    with_body = exchange.request.method != "HEAD"
    fault = context.fault
    answer = error_response(fault.status, fault.body, fault.kind, with_body)
    exchange.writer.write(answer)
    await exchange.writer.drain()
    finish(exchange.writer)
    await discard(exchange.reader, LINGER)


async def cut(exchange: Exchange, context: FaultContext) -> None:
    """Reset the connection once the request is read."""
    reset(exchange.writer)


async def swallow(exchange: Exchange, context: FaultContext) -> None:
    """Never answer; hold the connection until the peer gives up."""
    await discard(exchange.reader, None)


async def throttle(exchange: Exchange, context: FaultContext) -> None:
    """Pass the request on at ``rate`` bytes a second in each direction."""
    await forward(exchange, context.fault.rate)


ACTIONS: dict[FaultKind, Action] = {
    FaultKind.LATENCY: delay,
    FaultKind.ERROR: fail,
    FaultKind.RESET: cut,
    FaultKind.BLACKHOLE: swallow,
    FaultKind.BANDWIDTH: throttle,
}
