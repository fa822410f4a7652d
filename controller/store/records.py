"""What the store hands out: frozen records, and how each is read from a row."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime

from controller.phases import Phase
from controller.spec import ServiceSpec
from proxy.routes import Address, Color


def now() -> str:
    """The current time as ISO 8601 in UTC, to the millisecond."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class ServiceRecord:
    """A registered service and which colour is live."""

    spec: ServiceSpec
    live_color: Color | None
    created_at: str
    updated_at: str

    @property
    def name(self) -> str:
        """The service's name."""
        return self.spec.name


@dataclass(frozen=True)
class SlotRecord:
    """What one colour of a service holds: a release and its replicas."""

    service: str
    color: Color
    release_id: str | None
    replicas: tuple[tuple[str, Address], ...]  # (container id, address)
    standby_until: float | None = None  # epoch seconds; retired after it

    @property
    def addresses(self) -> tuple[Address, ...]:
        """Where the proxy reaches this colour's replicas."""
        return tuple(address for _, address in self.replicas)


@dataclass(frozen=True)
class ReleaseRecord:
    """One release of a service, as stored."""

    id: str
    service: str
    number: int
    image_ref: str
    image_id: str
    color: Color
    phase: Phase
    reason: str
    spec: ServiceSpec
    created_by: str
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class EventRecord:
    """One step of a release's timeline."""

    at: str
    phase: Phase
    actor: str
    reason: str


@dataclass(frozen=True)
class AuditRecord:
    """One mutating request, allowed or refused, as the audit log keeps it."""

    at: str
    actor: str  # the token's name, or "anonymous"
    method: str
    path: str
    service: str | None
    release_id: str | None
    status: int
    outcome: str
    id: int = 0  # given by the store


def encode_replicas(replicas: tuple[tuple[str, Address], ...]) -> str:
    """A slot's replicas as the JSON its ``replicas`` column keeps."""
    return json.dumps([[cid, address.host, address.port] for cid, address in replicas])


def service_from_row(row: sqlite3.Row) -> ServiceRecord:
    """The service a ``services`` row describes."""
    live = row["live_color"]
    return ServiceRecord(
        spec=ServiceSpec.model_validate_json(row["spec"]),
        live_color=Color(live) if live else None,
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def slot_from_row(row: sqlite3.Row) -> SlotRecord:
    """The colour slot a ``slots`` row describes."""
    replicas = tuple(
        (cid, Address(host, int(port)))
        for cid, host, port in json.loads(row["replicas"])
    )
    return SlotRecord(
        row["service"],
        Color(row["color"]),
        row["release_id"],
        replicas,
        row["standby_until"],
    )


def release_from_row(row: sqlite3.Row) -> ReleaseRecord:
    """The release a ``releases`` row describes."""
    return ReleaseRecord(
        id=row["id"],
        service=row["service"],
        number=row["number"],
        image_ref=row["image_ref"],
        image_id=row["image_id"],
        color=Color(row["color"]),
        phase=Phase(row["phase"]),
        reason=row["reason"],
        spec=ServiceSpec.model_validate_json(row["spec"]),
        created_by=row["created_by"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def event_from_row(row: sqlite3.Row) -> EventRecord:
    """The timeline step an ``events`` row describes."""
    return EventRecord(row["at"], Phase(row["phase"]), row["actor"], row["reason"])


def audit_from_row(row: sqlite3.Row) -> AuditRecord:
    """The audited request an ``audit`` row describes."""
    return AuditRecord(
        id=row["id"],
        at=row["at"],
        actor=row["actor"],
        method=row["method"],
        path=row["path"],
        service=row["service"],
        release_id=row["release_id"],
        status=row["status"],
        outcome=row["outcome"],
    )
