"""HTTP probes: replica readiness, smoke checks and flip confirmation."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import httpx

from proxy.routes import COLOR_HEADER, Address, Color

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProbeResult:
    """The outcome of one HTTP request."""

    url: str
    status: int | None = None
    color: str | None = None
    error: str | None = None

    @property
    def is_ok(self) -> bool:
        """Whether the request got a 2xx answer."""
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        """A short sentence for timelines and error messages."""
        if self.error is not None:
            return f"GET {self.url} failed: {self.error}"
        return f"GET {self.url} -> {self.status}"


def local_host(bind: str) -> str:
    """The address a client on this machine uses for a proxy bind address."""
    return "127.0.0.1" if bind in ("0.0.0.0", "", "*") else bind


async def probe(
    client: httpx.AsyncClient, url: str, timeout: float, method: str = "GET"
) -> ProbeResult:
    """Send one request; never raises for network errors."""
    try:
        response = await client.request(method, url, timeout=timeout)
    except httpx.HTTPError as exc:
        return ProbeResult(url, error=f"{type(exc).__name__}: {exc}".rstrip(": "))
    return ProbeResult(url, response.status_code, response.headers.get(COLOR_HEADER))


def replica_url(address: Address, path: str) -> str:
    """The URL of a path on one replica."""
    return f"http://{address.host}:{address.port}{path}"


async def confirm_color(
    client: httpx.AsyncClient,
    url: str,
    color: Color,
    needed: int = 3,
    attempts: int = 30,
    pause: float = 0.1,
) -> ProbeResult:
    """Wait until ``needed`` answers in a row come from ``color``.

    Returns the last result; the caller checks ``color`` on it. A server
    error or a failed request ends the wait at once, so a caller can undo
    a change that broke the frontend without leaving it broken.
    """
    streak = 0
    result = ProbeResult(url, error="no request sent")
    for _ in range(attempts):
        result = await probe(client, url, timeout=2.0)
        if result.status is None or result.status >= 500:
            return result
        streak = streak + 1 if result.is_ok and result.color == color else 0
        if streak >= needed:
            return result
        log.debug("waiting for %s to answer from %s: %s", url, color, result)
        await asyncio.sleep(pause)
    return result
