"""The fault proxy: one listener per upstream, one fault for all of them.

Each accepted connection carries one request. The proxy reads its head,
lets a request on an exempt path through untouched, draws whether the
fault hits the others, and hands the request to the fault's action or
forwards it as it is.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import signal
from collections import Counter
from collections.abc import Callable

from chaos.faultproxy.actions import ACTIONS, Exchange, FaultContext, forward
from chaos.faultproxy.config import ProxyConfig, Upstream, failed_line, ready_line
from chaos.faultproxy.heads import HEAD_LIMIT, HeadInvalid, parse_request, read_head
from chaos.faultproxy.timer import FineTimer

log = logging.getLogger(__name__)

HEAD_TIMEOUT = 30.0  # a client that sends no complete head in this time is dropped
STOP_GRACE = 1.0  # how long stopping waits for connections to wind down


class FaultProxy:
    """Relays requests to the upstreams and applies the fault to a share."""

    def __init__(self, config: ProxyConfig, timer: FineTimer) -> None:
        self.config = config
        self.counts: Counter[str] = Counter()
        self._exempt = frozenset(config.exempt)
        self._draw = random.Random(config.seed)
        self._context = FaultContext(config.fault, self._draw, timer)
        self._servers: list[asyncio.Server] = []
        self._connections: set[asyncio.Task[object]] = set()

    async def start(self) -> list[int]:
        """Listen once per upstream on a port the OS picks; the ports in order."""
        ports = []
        for upstream in self.config.upstreams:
            handle = functools.partial(self._serve, upstream)
            server = await asyncio.start_server(
                handle, self.config.listen, 0, limit=HEAD_LIMIT
            )
            self._servers.append(server)
            ports.append(int(server.sockets[0].getsockname()[1]))
        return ports

    async def stop(self) -> None:
        """Stop listening, drop every connection, wait briefly for them to end."""
        for server in self._servers:
            server.close()
        connections = set(self._connections)
        for task in connections:
            task.cancel()
        if connections:
            await asyncio.wait(connections, timeout=STOP_GRACE)

    async def _serve(
        self,
        upstream: Upstream,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._connections.add(task)
        try:
            await self._exchange(upstream, reader, writer)
        except (OSError, HeadInvalid, TimeoutError) as exc:
            self.counts["ended early"] += 1
            log.debug("connection to %s ended early: %s", upstream, exc)
        except asyncio.CancelledError:
            # Only stopping cancels a connection, and nobody awaits its task:
            # it ends quietly rather than as an error of the stream's callback.
            self.counts["cut by stop"] += 1
        finally:
            writer.close()
            if task is not None:
                self._connections.discard(task)

    async def _exchange(
        self,
        upstream: Upstream,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        # 1. Read the request head; a client that sent nothing is done.
        async with asyncio.timeout(HEAD_TIMEOUT):
            raw = await read_head(reader)
        if raw is None:
            return
        arrived = asyncio.get_running_loop().time()
        exchange = Exchange(parse_request(raw), reader, writer, upstream, arrived)

        # 2. Let it through untouched, or apply the fault.
        if self._should_fault(exchange):
            self.counts[str(self.config.fault.kind)] += 1
            await ACTIONS[self.config.fault.kind](exchange, self._context)
        else:
            self.counts["passed"] += 1
            await forward(exchange)

    def _should_fault(self, exchange: Exchange) -> bool:
        """Whether the fault hits this request: never on an exempt path."""
        if exchange.request.is_exempt(self._exempt):
            return False
        return self._draw.random() < self.config.fault.probability


async def serve(config: ProxyConfig, announce: Callable[[str], None]) -> int:
    """Run a proxy until SIGTERM or SIGINT; the process's exit code."""
    loop = asyncio.get_running_loop()
    timer = FineTimer(loop)
    proxy = FaultProxy(config, timer)

    # 1. Listen; a port that cannot be bound is the only start-up failure.
    try:
        ports = await proxy.start()
    except OSError as exc:
        announce(failed_line(f"cannot listen on {config.listen!r}: {exc}"))
        timer.close()
        return 1

    # 2. Stop on a signal, then say ready.
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    announce(ready_line(ports))
    log.info(
        "fault proxy %s applying %s, ports %s to %s",
        config.marker,
        config.fault.kind,
        ports,
        ", ".join(str(u) for u in config.upstreams),
    )

    # 3. Serve until told to stop, then stop promptly.
    await stopping.wait()
    await proxy.stop()
    timer.close()
    log.info("fault proxy %s stopped; requests: %s", config.marker, dict(proxy.counts))
    return 0
