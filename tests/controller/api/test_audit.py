"""Every mutating request lands in the audit log, allowed, refused or failed."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from controller.tokens import Role
from tests.controller.api.conftest import bearer
from tests.controller.api.test_access import SPEC


def audit(api: TestClient, query: str = "") -> list[dict[str, Any]]:
    response = api.get(f"/api/v1/audit{query}", headers=bearer(Role.VIEWER))
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()
    return entries


def brief(entry: dict[str, Any]) -> tuple[Any, ...]:
    keys = ("actor", "method", "path", "service", "status", "outcome")
    return tuple(entry[key] for key in keys)


def test_allowed_and_refused_requests_are_recorded_newest_first(
    api: TestClient,
) -> None:
    web = "/api/v1/services/web"
    api.put(web, json=SPEC, headers=bearer(Role.ADMIN))
    api.put(web, json=SPEC, headers=bearer(Role.DEPLOYER))
    api.post(f"{web}/promote")
    api.post(f"{web}/promote", headers=bearer(Role.DEPLOYER))
    api.post(f"{web}/releases", json={"image": "v 1"}, headers=bearer(Role.DEPLOYER))

    assert [brief(e) for e in audit(api)] == [
        ("deployer", "POST", f"{web}/releases", "web", 422, "refused"),
        ("deployer", "POST", f"{web}/promote", "web", 409, "refused"),
        ("anonymous", "POST", f"{web}/promote", "web", 401, "unauthorized"),
        ("deployer", "PUT", web, "web", 403, "forbidden"),
        ("admin", "PUT", web, "web", 201, "succeeded"),
    ]


def test_reads_are_not_recorded(api: TestClient) -> None:
    api.get("/api/v1/services", headers=bearer(Role.VIEWER))
    api.get("/api/v1/services/web", headers=bearer(Role.VIEWER))
    assert audit(api) == []


def test_requests_to_unknown_paths_are_recorded(api: TestClient) -> None:
    api.delete("/api/v1/services/web", headers=bearer(Role.ADMIN))
    api.post("/anything")
    assert [(e["path"], e["status"]) for e in audit(api)] == [
        ("/anything", 404),
        ("/api/v1/services/web", 405),
    ]


def test_a_request_that_raises_is_recorded_as_failed(api: TestClient) -> None:
    app: FastAPI = api.app  # type: ignore[assignment]

    async def crash() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/api/v1/crash", crash, methods=["POST"])
    response = api.post("/api/v1/crash", headers=bearer(Role.ADMIN))
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal"
    (entry,) = audit(api)
    assert (entry["actor"], entry["status"], entry["outcome"]) == (
        "admin",
        500,
        "failed",
    )


def test_the_log_filters_by_service_and_actor_and_limits(api: TestClient) -> None:
    for name in ("web", "db"):
        api.put(f"/api/v1/services/{name}", json=SPEC, headers=bearer(Role.SRE))
    api.post("/api/v1/services/web/abort", headers=bearer(Role.DEPLOYER))

    assert [e["service"] for e in audit(api, "?service=web")] == ["web", "web"]
    assert [e["actor"] for e in audit(api, "?actor=sre")] == ["sre", "sre"]
    assert len(audit(api, "?limit=1")) == 1
    refused = api.get("/api/v1/audit?limit=0", headers=bearer(Role.VIEWER))
    assert refused.status_code == 422


def test_the_log_needs_a_token(api: TestClient) -> None:
    response = api.get("/api/v1/audit")
    assert response.status_code == 401
    assert response.json()["error"]["required_role"] == "viewer"
