"""Artifact integrity: every replica of a release runs the image it was pinned to.

A release resolves its image reference to an image id once, when it is
created, and its replicas are started from that id. Before anything reaches
them, the engine is asked again what each container of the release runs;
whatever differs, a container with another image or a replica that is gone,
is a mismatch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from controller.runtime.base import Replica


@dataclass(frozen=True)
class Mismatch:
    """One replica that does not run the release's image."""

    replica: str  # the container's name, or its id when it has none
    expected: str  # the image id the release was pinned to
    found: str | None  # what the engine reports; None when the replica is gone

    def describe(self) -> str:
        """A sentence for the release's timeline."""
        if self.found is None:
            return (
                f"replica {self.replica} is gone from the engine; expected it to "
                f"run image {self.expected}"
            )
        return (
            f"replica {self.replica} runs image {self.found}, expected {self.expected}"
        )


def image_mismatches(
    expected: str, started: Sequence[Replica], found: Sequence[Replica]
) -> list[Mismatch]:
    """Compare what the engine reports for a release with its pinned image id.

    ``started`` are the replicas the release started, ``found`` every
    container the engine labels as the release's; a container in ``found``
    that the release never started must match all the same.
    """
    seen = {replica.container_id for replica in found}
    missing = [
        Mismatch(_name(replica), expected, None)
        for replica in started
        if replica.container_id not in seen
    ]
    wrong = [
        Mismatch(_name(replica), expected, replica.image_id)
        for replica in found
        if replica.image_id != expected
    ]
    return missing + wrong


def _name(replica: Replica) -> str:
    return replica.name or replica.container_id[:12]
