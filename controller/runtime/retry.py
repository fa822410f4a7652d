"""The one retry policy for calls to the container engine.

Only failures that another attempt can cure are retried: the engine's own
5xx answers and a socket that refused or dropped the connection. A 404 or a
409 says something true about the world and is left to the caller.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import docker  # type: ignore[import-untyped]
import requests
import tenacity

logger = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")

ATTEMPTS = 4


def is_transient(exc: BaseException) -> bool:
    """Whether another attempt at the same engine call might succeed."""
    if isinstance(exc, docker.errors.APIError):
        return bool(exc.is_server_error())
    return isinstance(exc, requests.exceptions.ConnectionError)


def _call_name(state: tenacity.RetryCallState) -> str:
    """The qualified name of the engine call a retry state belongs to."""
    fn = state.fn
    return getattr(fn, "__qualname__", repr(fn)) if fn is not None else "?"


def _log_retry(state: tenacity.RetryCallState) -> None:
    outcome = state.outcome
    error = outcome.exception() if outcome is not None else None
    logger.warning(
        "engine call %s failed (%s), attempt %d of %d",
        _call_name(state),
        error,
        state.attempt_number,
        ATTEMPTS,
    )


ENGINE_RETRY = tenacity.Retrying(
    retry=tenacity.retry_if_exception(is_transient),
    stop=tenacity.stop_after_attempt(ATTEMPTS) | tenacity.stop_after_delay(10),
    wait=tenacity.wait_exponential(multiplier=0.2, max=2),
    before_sleep=_log_retry,
    reraise=True,
)
"""A few quick attempts (about 1.4 s of waiting), then the last error."""


def with_engine_retry(call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run one engine call under ``ENGINE_RETRY``; re-raise its last error."""
    # A fresh copy per call keeps attempt counts apart between threads.
    return ENGINE_RETRY.copy()(call, *args, **kwargs)
