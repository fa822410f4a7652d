"""Transient engine failures are retried under one policy, then translated."""

from __future__ import annotations

import logging
from pathlib import Path

import docker  # type: ignore[import-untyped]
import pytest
import requests

from controller.runtime.docker import DockerRuntime
from controller.runtime.errors import EngineUnavailable
from controller.runtime.retry import ATTEMPTS, is_transient


def api_error(status: int) -> docker.errors.APIError:
    response = requests.Response()
    response.status_code = status
    return docker.errors.APIError(f"status {status}", response=response)


@pytest.mark.parametrize("status", [500, 502, 503])
def test_engine_server_errors_are_transient(status: int) -> None:
    assert is_transient(api_error(status))


@pytest.mark.parametrize("status", [400, 404, 409])
def test_engine_client_errors_are_not_retried(status: int) -> None:
    assert not is_transient(api_error(status))


def test_a_refused_connection_is_transient_and_a_read_timeout_is_not() -> None:
    assert is_transient(requests.exceptions.ConnectionError("refused"))
    assert not is_transient(requests.exceptions.ReadTimeout("slow"))


def test_unreachable_engine_is_retried_then_raises_engine_unavailable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = docker.DockerClient(
        base_url=f"unix://{tmp_path}/absent.sock", version="1.41"
    )
    runtime = DockerRuntime(client)

    caplog.set_level(logging.WARNING, logger="controller.runtime.retry")
    with pytest.raises(EngineUnavailable, match="listing replicas") as caught:
        runtime.list_replicas()

    assert isinstance(caught.value.__cause__, requests.exceptions.ConnectionError)
    assert len(caplog.records) == ATTEMPTS - 1
