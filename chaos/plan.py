"""Guard rails and target resolution, before anything is touched.

A plan names, for every fault of the method, the exact containers (and for
traffic faults the route) it will hit. It is what a dry run shows and what
the run then uses: a container that vanished in between fails the fault, it
is never swapped for another.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from chaos.errors import FaultFailed, TargetRefused
from chaos.experiment import Experiment, FaultActivity
from chaos.fault_spec import TRAFFIC_KINDS, Fault, Pick
from chaos.ledger import FaultRecord
from chaos.ports import Engine, ReplicaRef, ServiceFacts, Services
from proxy.routes import Color


@dataclass(frozen=True)
class Step:
    """One fault of the method resolved to its colour and containers."""

    activity: int  # position in the method, from 0
    kind: str
    color: Color
    targets: tuple[ReplicaRef, ...]

    def to_dict(self) -> dict[str, Any]:
        """The step as the journal and the dry run show it."""
        return {
            "activity": self.activity,
            "kind": self.kind,
            "color": self.color.value,
            "route": self.color.value if _is_traffic_kind(self.kind) else None,
            "containers": [
                {
                    "id": t.container_id,
                    "name": t.name,
                    "replica": t.index,
                    "address": str(t.address) if t.address else None,
                }
                for t in self.targets
            ],
        }


def _is_traffic_kind(kind: str) -> bool:
    return kind in TRAFFIC_KINDS


async def make_plan(
    experiment: Experiment, services: Services, engine: Engine
) -> tuple[ServiceFacts, list[Step]]:
    """Check every guard rail and resolve every fault; TargetRefused if one fails."""
    facts = admitted(experiment, services)
    steps = []
    for position, activity in enumerate(experiment.method):
        if isinstance(activity, FaultActivity):
            fault = activity.fault
            color = _color(fault, facts, position)
            replicas = await engine.replicas(facts.name, color)
            targets = choose(fault, color, replicas, facts, position)
            steps.append(Step(position, fault.kind, color, tuple(targets)))
    _one_color(experiment, steps)
    _no_moving_targets(steps)
    return facts, steps


def admitted(
    experiment: Experiment, services: Services, *, ignore_releases: bool = False
) -> ServiceFacts:
    """The service's facts, if its policy and state let the experiment run."""
    name = experiment.service
    facts = services.facts(name)
    if facts is None:
        raise TargetRefused(f'service "{name}" is not registered', service=name)
    if not facts.policy.enabled:
        raise TargetRefused(
            f'service "{name}" has not opted in to chaos: its spec says '
            "chaos.enabled: false",
            service=name,
        )
    if (
        facts.release_in_flight
        and not experiment.guards.allow_during_release
        and not ignore_releases
    ):
        raise TargetRefused(
            f'service "{name}" has release {facts.release_in_flight} in flight; '
            "wait for it, or set guards.allow_during_release",
            service=name,
        )
    return facts


def choose(
    fault: Fault,
    color: Color,
    replicas: list[ReplicaRef],
    facts: ServiceFacts,
    position: int,
) -> list[ReplicaRef]:
    """The replicas a fault hits, within the service's cap for container faults."""
    where = f"method[{position}]"
    candidates = [r for r in replicas if r.state in ("running", "paused")]
    if not candidates:
        raise TargetRefused(
            f'{where}: service "{facts.name}" has no running replica on {color}',
            service=facts.name,
        )
    wanted = _size(fault, len(candidates))
    if wanted > len(candidates):
        raise TargetRefused(
            f"{where}: asks for {wanted} replicas of {color}, it has {len(candidates)}",
            service=facts.name,
        )
    if not fault.is_traffic and wanted > facts.policy.max_replicas:
        raise TargetRefused(
            f"{where}: {fault.kind} would hit {wanted} replicas at once; "
            f'service "{facts.name}" allows {facts.policy.max_replicas} '
            "(chaos.max_replicas)",
            service=facts.name,
        )
    if fault.pick is Pick.RANDOM:
        return sorted(random.sample(candidates, wanted), key=lambda r: r.index)
    return sorted(candidates, key=lambda r: r.index)[:wanted]


def _size(fault: Fault, available: int) -> int:
    if fault.count is not None:
        return fault.count
    if fault.share is not None:
        return max(1, math.ceil(fault.share * available))
    return available if fault.is_traffic else 1


def _color(fault: Fault, facts: ServiceFacts, position: int) -> Color:
    try:
        return fault.color.resolve(facts.live)
    except ValueError as exc:
        raise TargetRefused(f"method[{position}].fault.color: {exc}") from exc


def _one_color(experiment: Experiment, steps: list[Step]) -> None:
    colors = {step.color for step in steps}
    if len(colors) > 1 and not experiment.guards.allow_both_colors:
        raise TargetRefused(
            f'experiment hits both colours of "{experiment.service}"; set '
            "guards.allow_both_colors to allow it",
            service=experiment.service,
        )


def _no_moving_targets(steps: list[Step]) -> None:
    """Refuse a traffic fault beside a kill, stop or restart of its colour.

    A replica started again comes back on a new port, which the traffic
    fault's detour cannot follow: it would silently stop applying.
    """
    moving = {s.color for s in steps if s.kind in ("kill", "stop", "restart")}
    for step in steps:
        if _is_traffic_kind(step.kind) and step.color in moving:
            raise TargetRefused(
                f"method[{step.activity}]: a {step.kind} fault on {step.color.value} "
                f"cannot share a run with a kill, stop or restart of "
                f"{step.color.value}: a replica started again moves to a new port "
                "and the traffic fault would stop applying; put them in two runs"
            )


def within_cap(step: Step, facts: ServiceFacts, open_faults: list[FaultRecord]) -> None:
    """Refuse a container fault that would make too many replicas down at once.

    Faults of the run still in place count with it, so background faults
    one replica each cannot add up past the service's cap.
    """
    if _is_traffic_kind(step.kind):
        return
    hit = {
        target
        for fault in open_faults
        if fault.service == facts.name and not _is_traffic_kind(fault.kind)
        for target in fault.targets
    } | {t.container_id for t in step.targets}
    if len(hit) > facts.policy.max_replicas:
        raise FaultFailed(
            f"{step.kind} would leave {len(hit)} replicas of "
            f'"{facts.name}" under faults at once; the service allows '
            f"{facts.policy.max_replicas} (chaos.max_replicas)"
        )


def plan_dicts(steps: list[Step]) -> list[dict[str, Any]]:
    """The plan as stored with the run."""
    return [step.to_dict() for step in steps]
