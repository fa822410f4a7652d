"""The image comparison behind artifact integrity, on replica records."""

from __future__ import annotations

from dataclasses import replace

from controller.integrity import image_mismatches
from controller.runtime.base import Replica, ReplicaState
from proxy.routes import Address, Color

PINNED = "sha256:" + "1" * 64
OTHER = "sha256:" + "2" * 64


def replica(index: int, image_id: str = PINNED) -> Replica:
    return Replica(
        container_id=f"{index:064x}",
        name=f"bgctl-web-green-{index}-r1",
        service="web",
        color=Color.GREEN,
        release="r1",
        index=index,
        image_id=image_id,
        state=ReplicaState.RUNNING,
        address=Address("127.0.0.1", 40000 + index),
    )


def test_replicas_that_run_the_pinned_image_match() -> None:
    started = [replica(1), replica(2)]
    assert image_mismatches(PINNED, started, started) == []


def test_a_replica_with_another_image_names_itself_and_both_ids() -> None:
    started = [replica(1), replica(2)]
    found = [started[0], replace(started[1], image_id=OTHER)]

    (mismatch,) = image_mismatches(PINNED, started, found)

    assert mismatch.describe() == (
        f"replica bgctl-web-green-2-r1 runs image {OTHER}, expected {PINNED}"
    )


def test_a_container_the_release_never_started_must_match_too() -> None:
    started = [replica(1)]
    stranger = replace(replica(9, OTHER), name="impostor")

    (mismatch,) = image_mismatches(PINNED, started, [started[0], stranger])

    assert (mismatch.replica, mismatch.found) == ("impostor", OTHER)


def test_a_started_replica_the_engine_lost_is_a_mismatch() -> None:
    started = [replica(1), replica(2)]

    (mismatch,) = image_mismatches(PINNED, started, started[:1])

    assert mismatch.found is None
    assert "bgctl-web-green-2-r1 is gone" in mismatch.describe()
    assert PINNED in mismatch.describe()
