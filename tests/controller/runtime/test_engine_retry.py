"""Transient engine failures are retried under one policy, then translated."""

from __future__ import annotations

import logging
from pathlib import Path

import docker  # type: ignore[import-untyped]
import pytest
import requests

from controller.runtime.docker import DockerRuntime
from controller.runtime.engine import engine_boundary
from controller.runtime.errors import EngineError, EngineUnavailable
from controller.runtime.retry import ATTEMPTS, is_transient, with_engine_retry


def api_error(status: int) -> docker.errors.APIError:
    response = requests.Response()
    response.status_code = status
    return docker.errors.APIError(
        f"status {status}", response=response, explanation=f"engine said {status}"
    )


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


def test_a_server_error_is_retried_until_the_engine_recovers() -> None:
    answers: list[Exception | str] = [api_error(503), api_error(500), "listed"]

    def flaky() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert with_engine_retry(flaky) == "listed"
    assert answers == []


def test_a_client_error_is_raised_at_once() -> None:
    calls: list[int] = []

    def conflict() -> None:
        calls.append(1)
        raise api_error(409)

    with pytest.raises(docker.errors.APIError):
        with_engine_retry(conflict)

    assert len(calls) == 1


def test_boundary_keeps_the_engine_message_and_chains_the_cause() -> None:
    error = api_error(500)

    expected = "starting replica 'x' failed: engine said 500"
    with (
        pytest.raises(EngineError, match=expected) as caught,
        engine_boundary("starting replica 'x'"),
    ):
        raise error

    assert caught.value.__cause__ is error


def test_boundary_reports_a_lost_connection_as_engine_unavailable() -> None:
    lost = requests.exceptions.ConnectionError("socket closed")
    with (
        pytest.raises(EngineUnavailable, match="no answer from the engine"),
        engine_boundary("listing replicas"),
    ):
        raise lost
