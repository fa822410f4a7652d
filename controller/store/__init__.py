"""The controller's state in one SQLite file.

Every write is a short transaction that commits before the caller acts on
it, so a controller killed at any point finds on restart exactly what it had
decided so far.
"""

from controller.store.records import (
    AuditRecord,
    EventRecord,
    ReleaseRecord,
    ServiceRecord,
    SlotRecord,
    now,
)
from controller.store.schema import ADDED_COLUMNS, SCHEMA
from controller.store.store import Store

__all__ = [
    "ADDED_COLUMNS",
    "SCHEMA",
    "AuditRecord",
    "EventRecord",
    "ReleaseRecord",
    "ServiceRecord",
    "SlotRecord",
    "Store",
    "now",
]
