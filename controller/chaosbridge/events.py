"""Chaos's announcements, published on the controller's event hub."""

from __future__ import annotations

from controller.events import EventHub


class ChaosEvents:
    """Implements ``chaos.ports.Events`` on the event hub."""

    def __init__(self, hub: EventHub) -> None:
        self._hub = hub

    def publish(
        self, kind: str, service: str, run_id: str, status: str, text: str
    ) -> None:
        """Publish a run's or a fault's change as an event of type ``kind``."""
        self._hub.publish(
            kind, service, run=run_id, status=status, actor="chaos", reason=text
        )
