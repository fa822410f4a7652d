"""Chaos beside releases: refused by default, and never mixed in silently."""

from __future__ import annotations

from tests.harness import Controller, service_spec, unique_name
from tests.integration.chaos_stage import (
    experiment,
    fault,
    start,
    submit,
    wait_faults,
    wait_run,
)


def test_a_latency_fault_fails_the_analysis_and_shows_on_the_timeline(
    controller: Controller,
) -> None:
    name = unique_name("slow")
    analysis = {"duration": "8s", "interval": "200ms", "max_p95": "200ms"}
    spec = service_spec(name, chaos={"enabled": True}, analysis=analysis)
    controller.register(spec)
    controller.ship(name, "v1")
    controller.promote(name)
    release = controller.release(name, "v2")
    controller.wait_phase(release, {"Verifying"})

    refused = submit(
        controller, experiment(name, fault("latency", "idle", latency="300ms"))
    )
    assert refused.status_code == 409, refused.text
    assert "in flight" in refused.json()["error"]["message"]

    document = experiment(
        name,
        fault("latency", "idle", latency="300ms", duration="20s"),
        guards={"allow_during_release": True},
    )
    run = start(controller, document)
    done = controller.wait_phase(release, {"Failed", "AwaitingPromotion"})
    controller.api("POST", f"/api/v1/chaos/runs/{run['id']}/abort")
    wait_run(controller, run["id"])

    assert done["phase"] == "Failed", done
    reasons = " | ".join(event["reason"] for event in done["timeline"])
    assert "chaos: latency fault on green applied" in reasons


def test_a_release_started_under_chaos_says_so_on_its_timeline(
    controller: Controller,
) -> None:
    name = controller.live_service(chaos={"enabled": True})
    run = start(controller, experiment(name, fault("latency", "live", latency="50ms")))
    wait_faults(controller, run["id"], 1)

    release = controller.release(name, "v2")
    controller.api("POST", f"/api/v1/chaos/runs/{run['id']}/abort")
    wait_run(controller, run["id"])
    done = controller.wait_phase(release, {"AwaitingPromotion", "Failed"})

    reasons = [event["reason"] for event in done["timeline"]]
    assert any("faults in place as it starts: latency on blue" in r for r in reasons)
    assert any("latency fault on blue undone" in r for r in reasons)
