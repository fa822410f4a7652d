"""The SQLite store keeps services, slots, releases and timelines."""

from pathlib import Path

import pytest

from controller.phases import IllegalTransition, Phase
from controller.spec import ServiceSpec
from controller.store import AuditRecord, Store, now
from proxy.routes import Address, Color

SPEC = ServiceSpec.model_validate(
    {
        "name": "web",
        "image": "bgctl-sample",
        "port": 8000,
        "endpoints": {"live": 8080, "preview": 8081, "blue": 8082, "green": 8083},
    }
)


def test_a_reopened_store_keeps_everything(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    assert store.put_service(SPEC) is True
    store.set_live("web", Color.BLUE)
    store.set_slot("web", Color.BLUE, "r1", (("c1", Address("127.0.0.1", 3000)),))
    release = store.create_release(
        SPEC, "bgctl-sample:v1", "sha256:1", Color.BLUE, "alice", "first"
    )
    store.transition(release.id, Phase.DEPLOYING, "bgctl", "starting")
    store.close()

    again = Store(tmp_path / "db")
    record = again.service("web")
    assert record is not None and record.live_color is Color.BLUE
    assert again.slot("web", Color.BLUE).addresses == (Address("127.0.0.1", 3000),)
    reloaded = again.release(release.id)
    assert reloaded is not None and reloaded.phase is Phase.DEPLOYING
    assert [e.phase for e in again.timeline(release.id)] == [
        Phase.PENDING,
        Phase.DEPLOYING,
    ]
    assert again.in_flight("web") == reloaded


def test_an_illegal_transition_changes_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store.put_service(SPEC)
    release = store.create_release(
        SPEC, "bgctl-sample:v1", "sha256:1", Color.BLUE, "alice", "first"
    )
    with pytest.raises(IllegalTransition):
        store.transition(release.id, Phase.LIVE, "bgctl", "skip ahead")
    assert len(store.timeline(release.id)) == 1


def test_release_numbers_count_up_per_service(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    store.put_service(SPEC)
    first = store.create_release(SPEC, "x:1", "sha256:1", Color.BLUE, "a", "r")
    store.transition(first.id, Phase.FAILED, "bgctl", "no")
    second = store.create_release(SPEC, "x:2", "sha256:2", Color.BLUE, "a", "r")
    assert (first.number, second.number) == (1, 2)
    assert [r.id for r in store.releases("web")] == [second.id, first.id]


def test_the_audit_log_survives_a_reopen_and_filters(tmp_path: Path) -> None:
    store = Store(tmp_path / "db")
    for actor, service, status in [("ci", "web", 202), ("bob", "db", 403)]:
        store.add_audit(
            AuditRecord(now(), actor, "POST", "/p", service, None, status, "x")
        )
    store.close()

    again = Store(tmp_path / "db")
    assert [r.actor for r in again.audit()] == ["bob", "ci"]
    assert [r.status for r in again.audit(service="web")] == [202]
    assert [r.service for r in again.audit(actor="bob")] == ["db"]
    assert len(again.audit(limit=1)) == 1
