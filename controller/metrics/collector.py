"""What the store knows, turned into metric families at every scrape.

Reading at scrape time keeps these figures right after a restart: they
come from the same SQLite file the controller acts on, not from counts a
dead process took with it. Every family lists each registered service
with zeros where nothing happened, so a rate or an alert has a series to
start from.

Releases count once their outcome is settled, by ``outcome``:

- ``succeeded``: the release went live; it stays counted so when it is
  later superseded or rolled back from;
- ``failed``: stopped by an error before it went live;
- ``aborted``: stopped by a person before it went live;
- ``rolled_back``: flipped back during its post-promotion watch.

A release still in flight is counted by its phase in
``bgctl_releases_in_flight`` instead.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    Metric,
)

from chaos.fault_spec import CONTAINER_KINDS, TRAFFIC_KINDS
from chaos.journal import Journal, RunStatus
from chaos.ledger import Ledger
from controller.metrics.health import ReplicaHealth
from controller.metrics.phases import PhaseClock
from controller.phases import Phase
from controller.store import ServiceRecord, Store
from controller.store.tallies import ReleaseTally
from proxy.routes import Color

OUTCOMES = ("succeeded", "failed", "aborted", "rolled_back")
IN_FLIGHT = tuple(phase for phase in Phase if phase.is_in_flight)
FAULT_KINDS = tuple(sorted(CONTAINER_KINDS | TRAFFIC_KINDS))


def outcome_of(tally: ReleaseTally) -> str | None:
    """The settled outcome of releases in a phase; None while in flight."""
    if tally.went_live:
        return "succeeded"
    if tally.phase is Phase.FAILED:
        return "failed"
    if tally.phase is Phase.ABORTED:
        return "aborted"
    if tally.phase is Phase.ROLLED_BACK:
        return "rolled_back"
    return None


class StoreCollector:
    """A custom collector over the store, the chaos ledger and the journal."""

    def __init__(
        self, store: Store, ledger: Ledger, journal: Journal, health: ReplicaHealth
    ) -> None:
        self._store = store
        self._ledger = ledger
        self._journal = journal
        self._health = health
        self._clock = PhaseClock()

    def collect(self) -> Iterator[Metric]:
        """Every family, read from the store now."""
        records = self._store.services()
        services = [record.name for record in records]
        yield from self._releases(services)
        yield from self._phases()
        yield self._live_colors(records)
        yield from self._replicas(services)
        yield self._faults(services)
        yield self._runs(services)

    def _releases(self, services: list[str]) -> Iterator[Metric]:
        settled: Counter[tuple[str, str]] = Counter()
        flying: Counter[tuple[str, str]] = Counter()
        for tally in self._store.release_tally():
            outcome = outcome_of(tally)
            if outcome is not None:
                settled[(tally.service, outcome)] += tally.count
            elif tally.phase.is_in_flight:
                flying[(tally.service, tally.phase.value)] += tally.count
        yield _counter(
            "bgctl_releases",
            "Releases whose outcome is settled, by outcome (succeeded, failed, "
            "aborted, rolled_back).",
            ["service", "outcome"],
            _filled(settled, services, OUTCOMES),
        )
        yield _gauge(
            "bgctl_releases_in_flight",
            "Releases not yet settled, by the phase they are in.",
            ["service", "phase"],
            _filled(flying, services, [phase.value for phase in IN_FLIGHT]),
        )

    def _phases(self) -> Iterator[Metric]:
        while lines := self._store.timeline_since(self._clock.last_line):
            self._clock.advance(lines)
        yield from self._clock.collect()

    def _live_colors(self, records: list[ServiceRecord]) -> Metric:
        family = GaugeMetricFamily(
            "bgctl_service_live_color",
            "1 for the colour a service's live frontend serves, 0 for the other; "
            "0 for both before the first release goes live.",
            labels=["service", "color"],
        )
        for record in records:
            for color in Color:
                is_live = record.live_color is color
                family.add_metric([record.name, color.value], 1.0 if is_live else 0.0)
        return family

    def _replicas(self, services: list[str]) -> Iterator[Metric]:
        snapshot = self._health.snapshot()
        ready: Counter[tuple[str, str]] = Counter()
        total: Counter[tuple[str, str]] = Counter()
        for (service, color), health in snapshot.items():
            ready[(service, color.value)] = health.ready
            total[(service, color.value)] = health.total
        colors = [color.value for color in Color]
        yield _gauge(
            "bgctl_replicas",
            "Replicas a colour of a service holds, at the last health check.",
            ["service", "color"],
            _filled(total, services, colors),
        )
        yield _gauge(
            "bgctl_replicas_ready",
            "Replicas of a colour that answered their readiness probe at the "
            "last health check.",
            ["service", "color"],
            _filled(ready, services, colors),
        )

    def _faults(self, services: list[str]) -> Metric:
        active = Counter((f.service, f.kind) for f in self._ledger.open_faults())
        return _gauge(
            "bgctl_chaos_faults_active",
            "Faults the chaos ledger holds open (being applied, or in place "
            "until undone), by kind.",
            ["service", "kind"],
            _filled(active, services, FAULT_KINDS),
        )

    def _runs(self, services: list[str]) -> Metric:
        runs = Counter(
            {
                (service, status.value): count
                for (service, status), count in self._journal.tally().items()
            }
        )
        return _gauge(
            "bgctl_chaos_runs",
            "Chaos experiment runs the journal keeps, by status (running, "
            "completed, failed, aborted, interrupted); dry runs left out. A "
            "gauge: schedules forget their oldest runs.",
            ["service", "status"],
            _filled(runs, services, [status.value for status in RunStatus]),
        )


def _filled(
    found: Counter[tuple[str, str]], services: list[str], values: Iterable[str]
) -> dict[tuple[str, str], int]:
    """``found`` with a zero for every service and value it lacks."""
    every = {(service, value): 0 for service in services for value in values}
    return {**every, **found}


def _counter(
    name: str, text: str, labels: list[str], values: dict[tuple[str, str], int]
) -> Metric:
    family = CounterMetricFamily(name, text, labels=labels)
    for key, value in sorted(values.items()):
        family.add_metric(list(key), float(value))
    return family


def _gauge(
    name: str, text: str, labels: list[str], values: dict[tuple[str, str], int]
) -> Metric:
    family = GaugeMetricFamily(name, text, labels=labels)
    for key, value in sorted(values.items()):
        family.add_metric(list(key), float(value))
    return family
