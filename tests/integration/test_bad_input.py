"""Bad input gets a 4xx naming the field and the bad value, and changes nothing."""

from __future__ import annotations

import hashlib
import json
import socket
from typing import Any
from urllib.parse import quote

import docker
import pytest

from tests.harness import Controller, service_spec, unique_name


def snapshot(controller: Controller, name: str) -> tuple[Any, ...]:
    """What a bad request must not change: status, containers, proxy config."""
    status = controller.status(name)
    colors = [
        (c["color"], c["release"], sorted(r["container_id"] for r in c["replicas"]))
        for c in status["colors"]
    ]
    containers = sorted(
        c.id
        for c in docker.from_env().containers.list(
            all=True, filters={"label": f"bgctl.service={name}"}
        )
    )
    config = controller.state_dir / "haproxy" / "haproxy.cfg"
    digest = hashlib.sha256(config.read_bytes()).hexdigest()
    return status["live_color"], colors, containers, digest


@pytest.fixture
def controller(module_controller: Controller) -> Controller:
    """The module's controller: every request here is refused."""
    return module_controller


@pytest.fixture(scope="module")
def live_service(module_controller: Controller) -> str:
    name = module_controller.live_service()
    return name


def registered(controller: Controller) -> set[str]:
    return {s["name"] for s in controller.api("GET", "/api/v1/services").json()}


def error_of(response: Any) -> dict[str, Any]:
    assert 400 <= response.status_code < 500, response.text
    body: dict[str, Any] = response.json()["error"]
    assert body["code"] and body["message"]
    return body


BAD_SPECS = [
    ({"replicas": -1}, "replicas", "-1"),
    ({"readiness": {"path": "healthz"}}, "readiness.path", "'healthz'"),
    ({"deploy_timeout": "forever"}, "deploy_timeout", "'forever'"),
    ({"port": 70000}, "port", "70000"),
]


@pytest.mark.parametrize(("change", "field", "quoted"), BAD_SPECS)
def test_a_bad_spec_names_the_field_and_changes_nothing(
    controller: Controller,
    live_service: str,
    change: dict[str, Any],
    field: str,
    quoted: str,
) -> None:
    before = snapshot(controller, live_service)
    spec = service_spec(live_service) | change
    response = controller.api("PUT", f"/api/v1/services/{live_service}", json=spec)
    error = error_of(response)
    assert error["field"] == field
    assert quoted in error["message"]
    assert snapshot(controller, live_service) == before


@pytest.mark.parametrize("name", ["we b", "web\n", "Web"])
def test_a_bad_service_name_is_refused(controller: Controller, name: str) -> None:
    before = registered(controller)
    response = controller.api(
        "PUT", f"/api/v1/services/{quote(name)}", json=service_spec("web")
    )
    error = error_of(response)
    assert error["field"] == "service"
    assert repr(name) in error["message"]
    assert registered(controller) == before


def test_a_release_of_a_missing_image_is_refused(
    controller: Controller, live_service: str
) -> None:
    before = snapshot(controller, live_service)
    releases = f"/api/v1/services/{live_service}/releases"
    history = controller.api("GET", releases).json()
    response = controller.api("POST", releases, json={"image": "no-such-tag"})
    error = error_of(response)
    assert error["field"] == "image"
    assert "no-such-tag" in error["message"]
    assert snapshot(controller, live_service) == before
    assert controller.api("GET", releases).json() == history


def test_a_release_of_another_repository_is_refused(
    controller: Controller, live_service: str
) -> None:
    response = controller.api(
        "POST",
        f"/api/v1/services/{live_service}/releases",
        json={"image": "someone-else:v1"},
    )
    assert error_of(response)["field"] == "image"


def test_an_unknown_colour_in_a_rollback_is_refused(
    controller: Controller, live_service: str
) -> None:
    before = snapshot(controller, live_service)
    response = controller.api(
        "POST", f"/api/v1/services/{live_service}/rollback", json={"color": "purple"}
    )
    error = error_of(response)
    assert error["field"] == "color"
    assert "purple" in error["message"]
    assert snapshot(controller, live_service) == before


def test_a_port_used_by_another_service_is_refused(
    controller: Controller, live_service: str
) -> None:
    taken = controller.status(live_service)["spec"]["endpoints"]["live"]
    other = service_spec(unique_name())
    other["endpoints"]["blue"] = taken
    response = controller.api("PUT", f"/api/v1/services/{other['name']}", json=other)
    assert response.status_code == 409
    assert str(taken) in error_of(response)["message"]


def test_unknown_services_and_releases_are_404(controller: Controller) -> None:
    assert controller.api("GET", "/api/v1/services/nobody").status_code == 404
    response = controller.api("GET", "/api/v1/services/nobody/releases/abc")
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ('"deploy_timeout": Infinity', "deploy_timeout"),
        ('"deploy_timeout": NaN', "deploy_timeout"),
        ('"readiness": {"interval": 1e400}', "readiness.interval"),
        ('"replicas": "2"', "replicas"),
        ('"auto_promote": "yes"', "auto_promote"),
        ('"readiness": {"path": "/he\\"alth"}', "readiness.path"),
        ('"smoke": []', "smoke"),
    ],
)
def test_odd_values_are_refused_and_nothing_is_stored(
    controller: Controller, live_service: str, raw: str, field: str
) -> None:
    before = snapshot(controller, live_service)
    spec = json.dumps(service_spec(live_service))
    body = spec[:-1] + ", " + raw + "}"
    response = controller.api(
        "PUT",
        f"/api/v1/services/{live_service}",
        content=body,
        headers={"content-type": "application/json"},
    )
    error = error_of(response)
    assert error["field"] == field, error
    assert snapshot(controller, live_service) == before
    assert controller.api("GET", "/api/v1/services").status_code == 200


def test_invalid_json_names_the_body(controller: Controller) -> None:
    response = controller.api(
        "PUT",
        "/api/v1/services/web",
        content="{not json",
        headers={"content-type": "application/json"},
    )
    assert error_of(response)["field"] == "body"


def test_a_port_another_program_holds_is_refused(controller: Controller) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        spec = service_spec(unique_name())
        spec["endpoints"]["live"] = holder.getsockname()[1]
        response = controller.api("PUT", f"/api/v1/services/{spec['name']}", json=spec)
    assert response.status_code == 409
    assert error_of(response)["field"] == "endpoints.live"
    assert spec["name"] not in registered(controller)
