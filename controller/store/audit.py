"""The audit log: every mutating request, allowed or refused."""

from __future__ import annotations

from controller.store.base import StoreBase
from controller.store.records import AuditRecord, audit_from_row


class AuditLog(StoreBase):
    """The store's audit table."""

    def add_audit(self, record: AuditRecord) -> None:
        """Append one request to the audit log."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO audit (at, actor, method, path, service, release_id, "
                "status, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    record.at,
                    record.actor,
                    record.method,
                    record.path,
                    record.service,
                    record.release_id,
                    record.status,
                    record.outcome,
                ),
            )

    def audit(
        self, service: str | None = None, actor: str | None = None, limit: int = 100
    ) -> list[AuditRecord]:
        """The newest requests of the audit log, optionally of one service or actor."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM audit WHERE (? IS NULL OR service = ?) "
                "AND (? IS NULL OR actor = ?) ORDER BY id DESC LIMIT ?",
                (service, service, actor, actor, limit),
            ).fetchall()
        return [audit_from_row(row) for row in rows]
