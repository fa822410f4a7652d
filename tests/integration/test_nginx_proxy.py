"""The controller with the nginx driver: the same release, flip and rollback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness import Controller, TrafficLoop, controller_fixture, serving


@pytest.fixture
def nginx_controller() -> Iterator[Controller]:
    yield from controller_fixture({"BGCTL_PROXY": "nginx"})


def test_a_release_flips_and_rolls_back_through_nginx(
    nginx_controller: Controller,
) -> None:
    controller = nginx_controller
    name = controller.live_service()
    assert serving(controller, name, "live") == ("v1", "blue")
    controller.ship(name, "v2")
    assert serving(controller, name, "preview") == ("v2", "green")
    live = controller.status(name)["endpoints"]["live"] + "/version"

    with TrafficLoop(live, seconds=30) as loop:
        controller.promote(name)
        assert serving(controller, name, "live") == ("v2", "green")
        rolled = controller.api("POST", f"/api/v1/services/{name}/rollback")
        assert rolled.status_code == 200, rolled.text

    assert serving(controller, name, "live") == ("v1", "blue")
    assert set(loop.answers) - set(loop.failures) <= {"200 v1", "200 v2"}
    assert (controller.state_dir / "nginx" / "nginx.conf").exists()
    assert not (controller.state_dir / "haproxy").exists()
