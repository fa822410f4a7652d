"""Schedules on a real controller: one run at a time, skips recorded."""

from __future__ import annotations

import itertools
import time
from datetime import datetime

from tests.harness import Controller
from tests.integration.chaos_stage import experiment, two_colour_service


def test_c8_a_schedule_runs_one_at_a_time_and_records_the_skips(
    controller: Controller,
) -> None:
    service = two_colour_service(controller)
    slow = experiment(service, {"type": "pause", "duration": "3s"})
    spec = {
        "name": "every-two",
        "experiment": slow,
        "when": {"mode": "interval", "every": "2s"},
    }
    created = controller.api("POST", "/api/v1/chaos/schedules", json=spec)
    assert created.status_code == 201, created.text
    schedule = created.json()

    time.sleep(9)
    paused = controller.api("POST", f"/api/v1/chaos/schedules/{schedule['id']}/pause")
    assert paused.status_code == 200, paused.text

    runs = controller.api(
        "GET", "/api/v1/chaos/runs", params={"schedule": schedule["id"]}
    ).json()
    spans = sorted(
        (_at(r["started_at"]), _at(r["ended_at"] or r["started_at"])) for r in runs
    )
    assert len(spans) >= 2
    for (_, ended), (started, _) in itertools.pairwise(spans):
        assert started >= ended, f"runs overlap: {spans}"
    shown = controller.api("GET", f"/api/v1/chaos/schedules/{schedule['id']}").json()
    kinds = [e["kind"] for e in shown["events"]]
    assert "skipped-overlap" in kinds
    deleted = controller.api("DELETE", f"/api/v1/chaos/schedules/{schedule['id']}")
    assert deleted.status_code == 204


def test_a_schedule_survives_a_controller_restart(controller: Controller) -> None:
    service = two_colour_service(controller)
    quick = experiment(service, {"type": "pause", "duration": "100ms"})
    spec = {
        "name": "hourly",
        "experiment": quick,
        "when": {"mode": "cron", "expression": "0 * * * *"},
    }
    created = controller.api("POST", "/api/v1/chaos/schedules", json=spec).json()

    controller.kill()
    controller.start()

    listed = controller.api("GET", "/api/v1/chaos/schedules").json()
    again = [s for s in listed if s["id"] == created["id"]]
    assert again and again[0]["next_run"] == created["next_run"]


def _at(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)
