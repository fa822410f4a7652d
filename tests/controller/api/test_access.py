"""Every API route needs a role; 401 and 403 answer in the one JSON shape."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from controller.api import audit, releases, services
from controller.api.auth import guard_role
from controller.tokens import Role
from tests.controller.api.conftest import bearer

SPEC = {
    "image": "bgctl-sample",
    "port": 8000,
    "endpoints": {"live": 18080, "preview": 18081, "blue": 18082, "green": 18083},
}


def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}
    return body["error"]


def register(api: TestClient, name: str = "web") -> None:
    response = api.put(
        f"/api/v1/services/{name}", json=SPEC, headers=bearer(Role.ADMIN)
    )
    assert response.status_code == 201, response.text


def test_a_request_without_a_token_is_401_naming_the_role(api: TestClient) -> None:
    response = api.post("/api/v1/services/web/promote")
    error = error_of(response, 401)
    assert error["code"] == "unauthorized"
    assert error["required_role"] == "deployer"
    assert "needs a bearer token of role deployer or admin" in error["message"]
    assert "Authorization: Bearer TOKEN" in error["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("Bearer not-a-known-token-000", "not one the controller issued"),
        ("Basic dXNlcjpwYXNz", "must use the Bearer scheme, got 'Basic'"),
        ("Bearer", "carries no token after Bearer"),
    ],
)
def test_an_unknown_or_malformed_token_is_401(
    api: TestClient, header: str, reason: str
) -> None:
    response = api.get("/api/v1/services", headers={"Authorization": header})
    error = error_of(response, 401)
    assert error["required_role"] == "viewer"
    assert reason in error["message"]


def test_a_role_too_low_is_403_naming_both_roles(api: TestClient) -> None:
    register(api)
    response = api.post("/api/v1/services/web/promote", headers=bearer(Role.VIEWER))
    error = error_of(response, 403)
    assert error == {
        "code": "forbidden",
        "message": 'token "viewer" has role viewer; POST '
        "/api/v1/services/web/promote needs role deployer or admin",
        "actor": "viewer",
        "role": "viewer",
        "required_role": "deployer",
    }


# (method, path, body, the role the route needs)
ROUTES = [
    ("GET", "/api/v1/services", None, Role.VIEWER),
    ("GET", "/api/v1/services/web", None, Role.VIEWER),
    ("GET", "/api/v1/services/web/releases", None, Role.VIEWER),
    ("GET", "/api/v1/services/web/releases/abc", None, Role.VIEWER),
    ("GET", "/api/v1/audit", None, Role.VIEWER),
    ("PUT", "/api/v1/services/web", SPEC, Role.ADMIN),
    ("POST", "/api/v1/services/web/releases", {"image": "v1"}, Role.DEPLOYER),
    ("POST", "/api/v1/services/web/promote", None, Role.DEPLOYER),
    ("POST", "/api/v1/services/web/rollback", None, Role.DEPLOYER),
    ("POST", "/api/v1/services/web/abort", None, Role.DEPLOYER),
]


@pytest.mark.parametrize("caller", list(Role))
@pytest.mark.parametrize(("method", "path", "body", "needed"), ROUTES)
def test_the_role_matrix(
    api: TestClient,
    caller: Role,
    method: str,
    path: str,
    body: Any,
    needed: Role,
) -> None:
    register(api)
    response = api.request(method, path, json=body, headers=bearer(caller))
    if caller.allows(needed):
        # Past the guard: the route itself answers (a 409 or 422 is its own).
        assert response.status_code not in (401, 403), response.text
    else:
        assert error_of(response, 403)["required_role"] == needed.value


def test_the_viewer_cannot_promote_and_the_deployer_cannot_register(
    api: TestClient,
) -> None:
    register(api)
    promote = api.post("/api/v1/services/web/promote", headers=bearer(Role.VIEWER))
    assert promote.status_code == 403
    put = api.put("/api/v1/services/db", json=SPEC, headers=bearer(Role.DEPLOYER))
    assert put.status_code == 403
    assert api.get("/api/v1/services/db", headers=bearer(Role.ADMIN)).status_code == 404


def test_the_token_name_is_the_actor_and_no_header_changes_it(
    api: TestClient,
) -> None:
    register(api)
    headers = {**bearer(Role.DEPLOYER), "X-Bgctl-Actor": "mallory"}
    api.post("/api/v1/services/web/promote", headers=headers)
    audit = api.get("/api/v1/audit", headers=bearer(Role.VIEWER)).json()
    assert audit[0]["actor"] == "deployer"


def test_access_is_checked_before_the_path_or_the_body(api: TestClient) -> None:
    bad_name = api.put("/api/v1/services/Bad%20Name", json={"port": "x"})
    assert error_of(bad_name, 401)["required_role"] == "admin"
    for body in (b"{not json", b"\xff\xfe"):
        headers = {"Content-Type": "application/json"}
        anonymous = api.put("/api/v1/services/web", content=body, headers=headers)
        assert error_of(anonymous, 401)["required_role"] == "admin"
        headers |= bearer(Role.VIEWER)
        viewer = api.put("/api/v1/services/web", content=body, headers=headers)
        assert error_of(viewer, 403)["required_role"] == "admin"


@pytest.mark.parametrize(
    "path",
    ["/healthz", "/readyz", "/docs", "/openapi.json", "/docs/assets/swagger-ui.css"],
)
def test_health_and_docs_stay_open(api: TestClient, path: str) -> None:
    assert api.get(path).status_code == 200


def test_every_api_route_has_a_role_guard() -> None:
    routes = [
        route
        for router in (services.router, releases.router, audit.router)
        for route in router.routes
        if isinstance(route, APIRoute)
    ]
    assert len(routes) == len(ROUTES)
    assert [
        f"{route.methods} {route.path}" for route in routes if not guard_role(route)
    ] == []


def test_an_unknown_api_path_needs_a_token_too(api: TestClient) -> None:
    assert error_of(api.post("/api/v2/anything"), 401)["required_role"] == "viewer"
    known = api.post("/api/v2/anything", headers=bearer(Role.VIEWER))
    assert error_of(known, 404)["code"] == "not_found"


def test_the_schema_declares_bearer_auth_and_the_errors(api: TestClient) -> None:
    schema = api.get("/openapi.json").json()
    assert schema["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            if not path.startswith("/api/") and path != "/metrics":
                assert "security" not in operation, (method, path)
                continue
            assert operation["security"] == [{"bearer": []}], (method, path)
            assert {"401", "403"} <= set(operation["responses"]), (method, path)
