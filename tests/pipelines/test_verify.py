"""The pipelines' verification script against a real controller and live."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import TOKEN_VARIABLES, Controller, controller_fixture

pytestmark = pytest.mark.engine

SCRIPT = Path(__file__).parents[2] / "examples" / "pipelines" / "verify.sh"


@pytest.fixture(scope="module")
def live() -> Iterator[tuple[Controller, str]]:
    """One controller with one service whose live release runs v1."""
    for controller in controller_fixture():
        yield controller, controller.live_service()


def verify(
    controller: Controller, service: str, image: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run verify.sh as a pipeline would, with a viewer token."""
    clean = {k: v for k, v in os.environ.items() if k not in TOKEN_VARIABLES}
    clean.update(
        # bgctl from this environment, ahead of any other on the machine.
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{clean.get('PATH', '')}",
        BGCTL_URL=controller.url,
        BGCTL_TOKEN=controller.tokens["viewer"],
        **env,
    )
    return subprocess.run(
        [str(SCRIPT), service, image],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_verify_passes_when_live_runs_the_built_image_and_answers(
    live: tuple[Controller, str],
) -> None:
    controller, service = live
    result = verify(controller, service, "bgctl-sample:v1", VERIFY_VERSION="v1")
    assert result.returncode == 0, result.stderr
    assert "answers /healthz and /version (v1)" in result.stdout


def test_verify_fails_naming_both_ids_when_live_runs_another_image(
    live: tuple[Controller, str],
) -> None:
    controller, service = live
    result = verify(controller, service, "bgctl-sample:v2")
    assert result.returncode == 1
    assert f'live of "{service}" runs sha256:' in result.stderr
    assert '"bgctl-sample:v2" is sha256:' in result.stderr


def test_verify_fails_when_live_answers_another_version(
    live: tuple[Controller, str],
) -> None:
    controller, service = live
    result = verify(controller, service, "bgctl-sample:v1", VERIFY_VERSION="v9")
    assert result.returncode == 1
    assert 'answered "v1", expected "v9"' in result.stderr


def test_verify_fails_for_a_service_without_live_replicas(
    live: tuple[Controller, str],
) -> None:
    controller, _ = live
    result = verify(controller, "no-such-service", "bgctl-sample:v1")
    assert result.returncode == 1
    assert 'service "no-such-service" has no live replica' in result.stderr
