"""``GET /metrics`` needs a viewer, speaks Prometheus' text format, and keeps
chaos for the roles that may read it."""

from __future__ import annotations

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from controller.tokens import Role
from tests.controller.api.conftest import bearer


def families(api: TestClient, role: Role) -> set[str]:
    response = api.get("/metrics", headers=bearer(role))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {family.name for family in text_string_to_metric_families(response.text)}


def test_metrics_need_a_token_of_role_viewer(api: TestClient) -> None:
    response = api.get("/metrics")
    assert response.status_code == 401
    assert response.json()["error"]["required_role"] == "viewer"


def test_a_viewer_scrapes_everything_but_chaos_and_an_sre_everything(
    api: TestClient,
) -> None:
    seen = families(api, Role.VIEWER)
    assert {
        "bgctl_releases",
        "bgctl_releases_in_flight",
        "bgctl_service_live_color",
        "bgctl_replicas_ready",
        "bgctl_flips",
        "bgctl_flip_duration_seconds",
        "bgctl_analysis_verdicts",
        "bgctl_release_phase_duration_seconds",
    } <= seen
    assert not {name for name in seen if name.startswith("bgctl_chaos_")}
    assert {"bgctl_chaos_faults_active", "bgctl_chaos_runs"} <= families(api, Role.SRE)
