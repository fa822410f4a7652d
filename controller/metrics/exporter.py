"""The controller's metrics as one object: a registry of its own and its parts.

Each app builds its own registry, never the process-wide default, so that
several controllers in one process (as in tests) never share a series.
Chaos is read only by roles that may read chaos, so the ``bgctl_chaos_``
families can be left out of a scrape.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import Metric

from chaos.service import ChaosService
from controller.metrics.collector import StoreCollector
from controller.metrics.health import ReplicaHealth
from controller.metrics.recorder import Recorder
from controller.store import Store

CONTENT_TYPE = CONTENT_TYPE_LATEST  # Prometheus' text format, with its version
CHAOS_PREFIX = "bgctl_chaos_"


class Metrics:
    """The registry a scrape reads, with what records into it."""

    def __init__(
        self, store: Store, chaos: ChaosService, client: httpx.AsyncClient
    ) -> None:
        self.registry = CollectorRegistry()
        self.recorder = Recorder(self.registry)
        self.health = ReplicaHealth(store, client)
        collector = StoreCollector(store, chaos.ledger, chaos.journal, self.health)
        self.registry.register(collector)

    def render(self, with_chaos: bool = True) -> bytes:
        """Every metric in Prometheus' text format, chaos only if asked."""
        source = self.registry if with_chaos else _WithoutChaos(self.registry)
        return generate_latest(source)


class _WithoutChaos:
    """A registry's families except those about chaos."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._registry = registry

    def collect(self) -> Iterator[Metric]:
        for family in self._registry.collect():
            if not family.name.startswith(CHAOS_PREFIX):
                yield family
