"""The event stream's route refuses bad filters and callers before it streams."""

from __future__ import annotations

from fastapi.testclient import TestClient

from controller.api.events import readable
from controller.events import TYPES
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


def test_chaos_events_asked_for_by_a_viewer_are_403(api: TestClient) -> None:
    response = api.get(
        "/api/v1/events?types=release.phase,chaos.run", headers=bearer(Role.VIEWER)
    )
    assert response.status_code == 403, response.text
    assert "chaos.run need the sre role" in response.json()["error"]["message"]


def test_a_viewer_reads_release_events_only_and_an_sre_everything() -> None:
    assert readable(None, Role.VIEWER) == TYPES - {"chaos.run", "chaos.fault"}
    assert readable(None, Role.DEPLOYER) == TYPES - {"chaos.run", "chaos.fault"}
    assert readable(None, Role.SRE) == TYPES
    assert readable(frozenset({"chaos.fault"}), Role.ADMIN) == {"chaos.fault"}
