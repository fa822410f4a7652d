"""Chaos's view of the registered services, and its notes in release timelines."""

from __future__ import annotations

import logging

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
        """Add a line to the timeline of the service's release in flight, if any."""
        flying = self._store.in_flight(service)
        if flying is None:
            return
        self._store.note(flying.id, CHAOS_ACTOR, text)
        log.debug(
            "noted on release %s: %s",
            flying.id,
            text,
            extra={"service": service, "release": flying.id},
        )
