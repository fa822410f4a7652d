"""Registered services and their two colour slots.

A service is stored with one slot per colour; a slot records the release it
holds, where that release's replicas listen, and how long it stays warm as
a standby.
"""

from __future__ import annotations

import json

from controller.spec import ServiceSpec
from controller.store.base import StoreBase
from controller.store.records import (
    ServiceRecord,
    SlotRecord,
    encode_replicas,
    now,
    service_from_row,
    slot_from_row,
)
from proxy.routes import Address, Color


class ServiceTables(StoreBase):
    """The store's services and slots tables."""

    # Services ---------------------------------------------------------------

    def put_service(self, spec: ServiceSpec) -> bool:
        """Register or update a service; True when it is new."""
        stamp = now()
        with self._tx() as db:
            found = db.execute(
                "SELECT 1 FROM services WHERE name = ?", (spec.name,)
            ).fetchone()
            if found:
                db.execute(
                    "UPDATE services SET spec = ?, updated_at = ? WHERE name = ?",
                    (spec.model_dump_json(), stamp, spec.name),
                )
                return False
            db.execute(
                "INSERT INTO services VALUES (?, ?, NULL, ?, ?)",
                (spec.name, spec.model_dump_json(), stamp, stamp),
            )
            for color in Color:
                db.execute(
                    "INSERT INTO slots (service, color) VALUES (?, ?)",
                    (spec.name, color.value),
                )
            return True

    def service(self, name: str) -> ServiceRecord | None:
        """One service, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM services WHERE name = ?", (name,)
            ).fetchone()
        return service_from_row(row) if row else None

    def services(self) -> list[ServiceRecord]:
        """Every service, by name."""
        with self._lock:
            rows = self._db.execute("SELECT * FROM services ORDER BY name").fetchall()
        return [service_from_row(row) for row in rows]

    def delete_service(self, name: str) -> None:
        """Forget a service that has no releases (undoing a failed register)."""
        with self._tx() as db:
            db.execute("DELETE FROM slots WHERE service = ?", (name,))
            db.execute("DELETE FROM services WHERE name = ?", (name,))

    def set_live(self, service: str, color: Color | None) -> None:
        """Record which colour the live frontend serves."""
        with self._tx() as db:
            db.execute(
                "UPDATE services SET live_color = ?, updated_at = ? WHERE name = ?",
                (color.value if color else None, now(), service),
            )

    # Slots ------------------------------------------------------------------

    def slot(self, service: str, color: Color) -> SlotRecord:
        """What one colour of a service holds."""
        with self._lock:
            row = self._db.execute(
                "SELECT * FROM slots WHERE service = ? AND color = ?",
                (service, color.value),
            ).fetchone()
        if row is None:
            return SlotRecord(service, color, None, ())
        return slot_from_row(row)

    def set_slot(
        self,
        service: str,
        color: Color,
        release_id: str | None,
        replicas: tuple[tuple[str, Address], ...] = (),
    ) -> None:
        """Record the release and replicas one colour holds."""
        encoded = encode_replicas(replicas)
        with self._tx() as db:
            db.execute(
                "UPDATE slots SET release_id = ?, replicas = ?, standby_until = NULL "
                "WHERE service = ? AND color = ?",
                (release_id, encoded, service, color.value),
            )

    def set_replica_address(
        self, service: str, color: Color, container_id: str, address: Address
    ) -> bool:
        """Move one replica of a slot to a new address; False if nothing changed.

        Only that replica's entry changes: the slot keeps its release, its
        other replicas and its standby window.
        """
        with self._tx() as db:
            row = db.execute(
                "SELECT replicas FROM slots WHERE service = ? AND color = ?",
                (service, color.value),
            ).fetchone()
            if row is None:
                return False
            entries = json.loads(row["replicas"])
            moved = [
                [container_id, address.host, address.port]
                if entry[0] == container_id
                else entry
                for entry in entries
            ]
            if moved == entries:
                return False
            db.execute(
                "UPDATE slots SET replicas = ? WHERE service = ? AND color = ?",
                (json.dumps(moved), service, color.value),
            )
            return True

    def set_standby(self, service: str, color: Color, until: float | None) -> None:
        """Keep a colour warm until ``until`` (epoch seconds), or forever."""
        with self._tx() as db:
            db.execute(
                "UPDATE slots SET standby_until = ? WHERE service = ? AND color = ?",
                (until, service, color.value),
            )

    def expired_standbys(self, now_epoch: float) -> list[SlotRecord]:
        """Colours whose standby window has passed."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM slots WHERE standby_until IS NOT NULL "
                "AND standby_until <= ?",
                (now_epoch,),
            ).fetchall()
        return [slot_from_row(row) for row in rows]
