"""The event stream's route refuses bad filters and callers before it streams."""

from __future__ import annotations

from fastapi.testclient import TestClient

from controller.tokens import Role
from tests.controller.api.conftest import bearer


def test_a_bad_service_name_is_422_naming_the_field_and_value(api: TestClient) -> None:
    response = api.get("/api/v1/events?service=Bad_Name", headers=bearer(Role.VIEWER))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert (error["code"], error["field"], error["value"]) == (
        "invalid_input",
        "service",
        "Bad_Name",
    )


def test_an_unknown_event_type_is_422_listing_the_known_ones(api: TestClient) -> None:
    response = api.get(
        "/api/v1/events?types=release.phase,release.flop", headers=bearer(Role.VIEWER)
    )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["field"] == "types"
    assert "release.flop" in error["message"] and "chaos.fault" in error["message"]


def test_the_stream_needs_a_viewer_token(api: TestClient) -> None:
    response = api.get("/api/v1/events")
    assert response.status_code == 401
    assert response.json()["error"]["required_role"] == "viewer"
