"""The chaos API: the sre role, errors in the one JSON shape, schedules' lifecycle.

Runs that touch containers are proven against a real controller in
tests/integration/test_chaos_api.py; these check what the API layer decides.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from controller.api import chaos
from controller.api.auth import guard_role
from controller.tokens import Role
from tests.controller.api.conftest import bearer
from tests.harness import free_port

RUNS = "/api/v1/chaos/runs"
SCHEDULES = "/api/v1/chaos/schedules"
KILL_ONE = {
    "title": "kill one",
    "service": "web",
    "method": [{"type": "fault", "fault": {"kind": "kill", "color": "blue"}}],
}
EVERY_HOUR = {"name": "hourly", "when": {"mode": "interval", "every": "1h"}}


def error_of(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}
    return body["error"]


def register(api: TestClient, name: str, opted_in: bool) -> None:
    spec = {
        "image": "bgctl-sample",
        "port": 8000,
        "endpoints": {e: free_port() for e in ("live", "preview", "blue", "green")},
        "chaos": {"enabled": opted_in},
    }
    response = api.put(
        f"/api/v1/services/{name}", json=spec, headers=bearer(Role.ADMIN)
    )
    assert response.status_code == 201, response.text


def sre(api: TestClient, method: str, path: str, **kwargs: Any) -> Any:
    return api.request(method, path, headers=bearer(Role.SRE), **kwargs)


CHAOS_ROUTES = [
    ("POST", RUNS, {"experiment": KILL_ONE}),
    ("GET", RUNS, None),
    ("GET", f"{RUNS}/run-0", None),
    ("POST", f"{RUNS}/run-0/abort", None),
    ("GET", "/api/v1/chaos/faults", None),
    ("POST", SCHEDULES, {**EVERY_HOUR, "experiment": KILL_ONE}),
    ("GET", SCHEDULES, None),
    ("GET", f"{SCHEDULES}/sch-0", None),
    ("POST", f"{SCHEDULES}/sch-0/pause", None),
    ("POST", f"{SCHEDULES}/sch-0/resume", None),
    ("DELETE", f"{SCHEDULES}/sch-0", None),
]


@pytest.mark.parametrize("caller", list(Role))
@pytest.mark.parametrize(("method", "path", "body"), CHAOS_ROUTES)
def test_every_chaos_route_needs_the_sre_role(
    api: TestClient, caller: Role, method: str, path: str, body: Any
) -> None:
    response = api.request(method, path, json=body, headers=bearer(caller))

    if caller in (Role.SRE, Role.ADMIN):
        assert response.status_code not in (401, 403, 500), response.text
    else:
        error = error_of(response, 403)
        assert error["required_role"] == "sre"
        assert "needs role sre or admin" in error["message"]
    assert error_of(api.request(method, path, json=body), 401)["required_role"] == "sre"


@pytest.mark.parametrize(
    ("change", "field", "quoted"),
    [
        ({"title": None}, "experiment.title", "Field required"),
        (
            {"method": [{"type": "fault", "fault": {"kind": "kill", "color": "red"}}]},
            "experiment.method.0.fault.color",
            "'red'",
        ),
        ({"service": "Web!"}, "experiment.service", "'Web!'"),
    ],
)
def test_a_bad_experiment_is_422_naming_the_field_and_value(
    api: TestClient, change: dict[str, Any], field: str, quoted: str
) -> None:
    experiment = {k: v for k, v in (KILL_ONE | change).items() if v is not None}

    error = error_of(sre(api, "POST", RUNS, json={"experiment": experiment}), 422)

    assert (error["code"], error["field"]) == ("invalid_input", field)
    assert error["message"].startswith(f"{field}: ")
    assert quoted in error["message"]
    assert sre(api, "GET", RUNS).json() == []


def test_a_service_that_did_not_opt_in_is_refused_with_the_reason(
    api: TestClient,
) -> None:
    register(api, "web", opted_in=False)

    error = error_of(sre(api, "POST", RUNS, json={"experiment": KILL_ONE}), 409)

    assert error["code"] == "chaos_refused"
    assert "has not opted in to chaos" in error["message"]
    assert error["service"] == "web"
    unknown = KILL_ONE | {"service": "api"}
    error = error_of(sre(api, "POST", RUNS, json={"experiment": unknown}), 409)
    assert 'service "api" is not registered' in error["message"]


def test_every_chaos_route_is_in_the_matrix_above() -> None:
    routes = [r for r in chaos.router.routes if isinstance(r, APIRoute)]
    assert len(routes) == len(CHAOS_ROUTES)
    assert {guard_role(r) for r in routes} == {Role.SRE}


def test_an_unknown_run_or_schedule_is_404(api: TestClient) -> None:
    for method, path in [
        ("GET", f"{RUNS}/run-nope"),
        ("POST", f"{RUNS}/run-nope/abort"),
        ("GET", f"{SCHEDULES}/nope"),
        ("POST", f"{SCHEDULES}/nope/pause"),
        ("DELETE", f"{SCHEDULES}/nope"),
    ]:
        error = error_of(sre(api, method, path), 404)
        assert error["code"] == "not_found"
        assert "nope" in error["message"]


def test_a_schedule_is_created_paused_resumed_and_deleted(api: TestClient) -> None:
    register(api, "web", opted_in=True)
    created = sre(api, "POST", SCHEDULES, json={**EVERY_HOUR, "experiment": KILL_ONE})
    assert created.status_code == 201, created.text
    schedule = created.json()
    assert created.headers["Location"] == schedule["url"]
    assert (schedule["name"], schedule["state"]) == ("hourly", "active")
    assert schedule["created_by"] == "sre" and schedule["next_run"]

    again = sre(api, "POST", SCHEDULES, json={**EVERY_HOUR, "experiment": KILL_ONE})
    assert error_of(again, 409)["code"] == "conflict"
    paused = sre(api, "POST", f"{schedule['url']}/pause").json()
    assert (paused["state"], paused["next_run"]) == ("paused", None)
    assert error_of(sre(api, "POST", f"{schedule['url']}/pause"), 409)
    assert sre(api, "POST", f"{SCHEDULES}/hourly/resume").json()["state"] == "active"
    shown = sre(api, "GET", schedule["url"]).json()
    assert [e["kind"] for e in shown["events"]][:2] == ["resumed", "paused"]
    assert [s["id"] for s in sre(api, "GET", SCHEDULES).json()] == [schedule["id"]]

    assert sre(api, "DELETE", schedule["url"]).status_code == 204
    assert error_of(sre(api, "GET", schedule["url"]), 404)
    audit = api.get("/api/v1/audit?service=web", headers=bearer(Role.VIEWER)).json()
    assert {e["method"] for e in audit} == {"PUT", "POST", "DELETE"}


def test_a_bad_schedule_is_422_naming_the_field(api: TestClient) -> None:
    body = {"name": "hourly", "when": {"mode": "interval", "every": "soon"}}

    response = sre(api, "POST", SCHEDULES, json={**body, "experiment": KILL_ONE})

    error = error_of(response, 422)
    assert error["field"] == "when.every"
    assert "'soon'" in error["message"]
    assert sre(api, "GET", SCHEDULES).json() == []


def test_the_run_list_refuses_an_unbounded_limit(api: TestClient) -> None:
    error = error_of(sre(api, "GET", f"{RUNS}?limit=100000"), 422)
    assert error["field"] == "query.limit" and "100000" in error["message"]
    assert sre(api, "GET", f"{RUNS}?service=web&schedule=hourly&limit=5").json() == []


def test_a_schedule_of_a_service_that_did_not_opt_in_is_refused(
    api: TestClient,
) -> None:
    register(api, "web", opted_in=False)
    body = {**EVERY_HOUR, "experiment": KILL_ONE}
    error = error_of(sre(api, "POST", SCHEDULES, json=body), 409)
    assert "not opted in" in error["message"]
