"""Chaos's view of the registered services, and its notes in release timelines."""

from __future__ import annotations

import logging

from chaos.ledger import FaultRecord
from chaos.ports import ServiceFacts
from controller.store import Store

log = logging.getLogger(__name__)

CHAOS_ACTOR = "chaos"
"""The actor of the lines chaos adds to release timelines."""


class ChaosServices:
    """Implements ``chaos.ports.Services`` on the store."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def facts(self, service: str) -> ServiceFacts | None:
        """What chaos needs about a service; None if it is not registered."""
        record = self._store.service(service)
        if record is None:
            return None
        flying = self._store.in_flight(service)
        return ServiceFacts(
            name=record.name,
            policy=record.spec.chaos,
            live=record.live_color,
            health_path=record.spec.readiness.path,
            release_in_flight=flying.id if flying else None,
        )

    def note(self, service: str, text: str) -> None:
        """Add a line to the timeline of the release in flight, else the newest.

        The newest release is the one live serves between releases, so its
        timeline says when chaos hit what it serves.
        """
        release = self._store.in_flight(service)
        if release is None:
            newest = self._store.releases(service, 1)
            release = newest[0] if newest else None
        if release is None:
            return
        self._store.note(release.id, CHAOS_ACTOR, text)
        log.debug(
            "noted on release %s: %s",
            release.id,
            text,
            extra={"service": service, "release": release.id},
        )

    def note_open_faults(self, release_id: str, faults: list[FaultRecord]) -> None:
        """Start a release's timeline with the faults in place on its service."""
        if not faults:
            return
        listed = ", ".join(
            f"{f.kind} on {f.color} (fault {f.id}, run {f.run_id})" for f in faults
        )
        self._store.note(
            release_id, CHAOS_ACTOR, f"chaos: faults in place as it starts: {listed}"
        )
