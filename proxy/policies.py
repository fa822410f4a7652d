"""Retry and wait policies for talking to a proxy, named once and reused."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_delay,
    wait_fixed,
)

T = TypeVar("T")

SOCKET_NOT_YET = (ConnectionRefusedError, FileNotFoundError)
"""What connecting raises while HAProxy is still binding a socket."""

POLL_INTERVAL = 0.05
"""Seconds between two looks at a process or a socket."""


def reconnecting(patience: float) -> Retrying:
    """Retry connecting to a socket that HAProxy is (re)binding."""
    return Retrying(
        stop=stop_after_delay(patience),
        wait=wait_fixed(POLL_INTERVAL),
        retry=retry_if_exception_type(SOCKET_NOT_YET),
        reraise=True,
    )


def wait_for(probe: Callable[[], T | None], timeout: float) -> T | None:
    """Call ``probe`` until it returns something, or None after ``timeout``."""
    policy = Retrying(
        stop=stop_after_delay(timeout),
        wait=wait_fixed(POLL_INTERVAL),
        retry=retry_if_result(lambda result: result is None),
        retry_error_callback=_give_up,
    )
    result: T | None = policy(probe)
    return result


def _give_up(state: RetryCallState) -> None:
    """Answer None once a wait has run out of time."""
    return None
