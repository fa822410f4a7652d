"""The store collector reads releases, colours, faults and runs at scrape time."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from chaos.journal import Journal, RunStatus
from chaos.ledger import Ledger
from controller.metrics.collector import StoreCollector
from controller.metrics.health import ReplicaHealth
from controller.phases import Phase
from controller.spec import ServiceSpec
from controller.store import Store
from proxy.routes import Color

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def spec(name: str) -> ServiceSpec:
    return ServiceSpec.model_validate(
        {
            "name": name,
            "image": "bgctl-sample",
            "port": 8000,
            "endpoints": {"live": 8080, "preview": 8081, "blue": 8082, "green": 8083},
        }
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    found = Store(tmp_path / "bgctl.db")
    found.put_service(spec("web"))
    found.put_service(spec("api"))
    yield found
    found.close()


def scrape(store: Store, path: Path) -> Samples:
    """One scrape of a fresh registry with only the store collector in it."""
    registry = CollectorRegistry()
    health = ReplicaHealth(store, httpx.AsyncClient())
    ledger, journal = Ledger(path), Journal(path)
    registry.register(StoreCollector(store, ledger, journal, health))
    text = generate_latest(registry).decode()
    ledger.shutdown()
    journal.shutdown()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def release_through(store: Store, service: str, *phases: Phase) -> str:
    """A release of ``service`` moved through ``phases``; its id."""
    release = store.create_release(
        spec(service), "bgctl-sample:v1", "sha256:1", Color.BLUE, "alice", "ship"
    )
    for phase in phases:
        store.transition(release.id, phase, "bgctl", f"now {phase}")
    return release.id


TO_LIVE = (
    Phase.DEPLOYING,
    Phase.VERIFYING,
    Phase.AWAITING_PROMOTION,
    Phase.PROMOTING,
    Phase.LIVE,
)


def test_releases_count_once_settled_and_stay_succeeded_after_going_live(
    store: Store, tmp_path: Path
) -> None:
    release_through(store, "web", *TO_LIVE, Phase.SUPERSEDED)
    release_through(store, "web", *TO_LIVE, Phase.ROLLED_BACK)
    release_through(store, "web", Phase.DEPLOYING, Phase.FAILED)
    release_through(store, "web", Phase.ABORTED)
    watched = (*TO_LIVE[:-1], Phase.POST_VERIFYING, Phase.ROLLED_BACK)
    release_through(store, "web", *watched)
    release_through(store, "web", Phase.DEPLOYING)

    found = scrape(store, tmp_path / "bgctl.db")

    total = "bgctl_releases_total"
    assert value(found, total, service="web", outcome="succeeded") == 2
    assert value(found, total, service="web", outcome="failed") == 1
    assert value(found, total, service="web", outcome="aborted") == 1
    assert value(found, total, service="web", outcome="rolled_back") == 1
    flying = "bgctl_releases_in_flight"
    assert value(found, flying, service="web", phase="Deploying") == 1
    assert value(found, flying, service="web", phase="Pending") == 0
    assert value(found, total, service="api", outcome="succeeded") == 0


def test_the_live_colour_is_one_and_the_other_zero(
    store: Store, tmp_path: Path
) -> None:
    store.set_live("web", Color.GREEN)

    found = scrape(store, tmp_path / "bgctl.db")

    live = "bgctl_service_live_color"
    assert value(found, live, service="web", color="green") == 1
    assert value(found, live, service="web", color="blue") == 0
    assert value(found, live, service="api", color="blue") == 0
    assert value(found, live, service="api", color="green") == 0


def test_phase_durations_come_from_the_timelines_and_survive_a_restart(
    store: Store, tmp_path: Path
) -> None:
    release = release_through(store, "web", *TO_LIVE[:3])
    store.note(release, "bgctl", "still verifying")  # a note is no new phase
    # Space the timeline's five lines out: 2 s, 10 s, 18 s and 22 s apart.
    start = time.time() - 100
    with sqlite3.connect(tmp_path / "bgctl.db") as db:
        ids = [row[0] for row in db.execute("SELECT id FROM events ORDER BY id")]
        offsets = [0, 2, 12, 30, 52]
        for event_id, offset in zip(ids, offsets, strict=True):
            stamp = datetime.fromtimestamp(start + offset, UTC).isoformat()
            db.execute("UPDATE events SET at = ? WHERE id = ?", (stamp, event_id))

    first = scrape(store, tmp_path / "bgctl.db")
    reopened = Store(tmp_path / "bgctl.db")
    again = scrape(reopened, tmp_path / "bgctl.db")
    reopened.close()

    name = "bgctl_release_phase_duration_seconds"
    for found in (first, again):
        pending = {"service": "web", "phase": "Pending"}
        assert value(found, f"{name}_count", **pending) == 1
        assert value(found, f"{name}_bucket", **pending, le="1.0") == 0
        assert value(found, f"{name}_bucket", **pending, le="2.5") == 1
        deploying = {"service": "web", "phase": "Deploying"}
        assert value(found, f"{name}_sum", **deploying) == 10
        verifying = {"service": "web", "phase": "Verifying"}
        assert value(found, f"{name}_bucket", **verifying, le="30.0") == 1
        # The release still awaits promotion: that phase is not timed yet.
        timed = {dict(labels)["phase"] for n, labels in found if n.startswith(name)}
        assert timed == {"Pending", "Deploying", "Verifying"}
    assert first == again


def test_open_faults_and_settled_runs_are_counted_by_kind_and_status(
    store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "bgctl.db"
    ledger, journal = Ledger(path), Journal(path)
    deadline = time.time() + 60
    ledger.open("r1", "kill", "web", Color.BLUE, ["c1"], deadline, {})
    undone = ledger.open("r1", "latency", "web", Color.BLUE, ["c2"], deadline, {})
    ledger.close(undone.id)
    experiment = {"title": "kill one", "service": "web"}
    journal.start("r1", experiment, "alice")
    journal.start("r2", experiment, "alice")
    journal.finish("r2", RunStatus.COMPLETED, False, "held")
    journal.start("r3", experiment, "alice", dry_run=True)
    ledger.shutdown()
    journal.shutdown()

    found = scrape(store, path)

    faults = "bgctl_chaos_faults_active"
    assert value(found, faults, service="web", kind="kill") == 1
    assert value(found, faults, service="web", kind="latency") == 0
    assert value(found, faults, service="api", kind="kill") == 0
    runs = "bgctl_chaos_runs"
    assert value(found, runs, service="web", status="running") == 1
    assert value(found, runs, service="web", status="completed") == 1
    assert value(found, runs, service="api", status="failed") == 0
