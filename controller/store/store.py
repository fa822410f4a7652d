"""The controller's state in one SQLite file, as one object.

Each part of the store keeps its own tables in its own module; ``Store``
joins them over the one connection and lock that ``StoreBase`` opens.
"""

from __future__ import annotations

from controller.store.audit import AuditLog
from controller.store.releases import ReleaseTables
from controller.store.services import ServiceTables
from controller.store.tallies import Tallies


class Store(ServiceTables, ReleaseTables, AuditLog, Tallies):
    """Services, colour slots, releases, timelines and the audit log in SQLite."""
