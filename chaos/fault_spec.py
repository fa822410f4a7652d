"""The faults an experiment may apply, and where each one lands.

Container faults act on replicas through the engine; traffic faults act on
a colour's route through a fault-injecting proxy. Every fault names a
colour, how many of its replicas it hits and how long it stays.
"""

from __future__ import annotations

import enum
from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from chaos.units import Duration, StrictModel
from proxy.routes import Color

MAX_FAULT_DURATION = 3600.0  # one hour; a longer fault is a outage, not a test
SIGNALS = frozenset(
    {"SIGKILL", "SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2"}
)


class ColorChoice(enum.StrEnum):
    """A colour named outright, or by its role when the run starts."""

    BLUE = "blue"
    GREEN = "green"
    LIVE = "live"  # whichever colour is live when the run starts
    IDLE = "idle"  # the other one

    def resolve(self, live: Color | None) -> Color:
        """The exact colour; ``live`` and ``idle`` need a live colour."""
        if self in (ColorChoice.BLUE, ColorChoice.GREEN):
            return Color(self.value)
        if live is None:
            raise ValueError(f"color {self.value!r} needs a live colour, none is live")
        return live if self is ColorChoice.LIVE else live.other


class Pick(enum.StrEnum):
    """Which replicas a fault hits when it hits fewer than all."""

    FIRST = "first"  # the lowest slots, the same every run
    RANDOM = "random"  # a fresh draw each run


CONTAINER_KINDS = frozenset({"kill", "stop", "pause", "restart"})
TRAFFIC_KINDS = frozenset({"latency", "error", "reset", "blackhole", "bandwidth"})

Probability = Annotated[float, Field(ge=0, le=1)]
FaultDuration = Annotated[Duration, Field(ge=0, le=MAX_FAULT_DURATION)]


class _Fault(StrictModel):
    """Where a fault lands: a colour, and how many of its replicas."""

    color: ColorChoice
    count: int | None = Field(default=None, ge=1, le=20)
    share: float | None = Field(default=None, gt=0, le=1)
    pick: Pick = Pick.FIRST
    duration: FaultDuration = Field(
        default=30.0, description="how long the fault stays before it is undone"
    )

    @model_validator(mode="after")
    def _one_size(self) -> _Fault:
        if self.count is not None and self.share is not None:
            raise ValueError(
                f"give count or share, not both; got count={self.count} "
                f"and share={self.share}"
            )
        return self

    @property
    def is_traffic(self) -> bool:
        """Whether the fault acts on the route rather than on containers."""
        return False


class KillFault(_Fault):
    """Send a signal to replicas; they are started again when it is undone."""

    kind: Literal["kill"]
    signal: str = "SIGKILL"

    @field_validator("signal")
    @classmethod
    def _known_signal(cls, value: str) -> str:
        name = value.upper() if value.upper().startswith("SIG") else f"SIG{value}"
        if name.upper() not in SIGNALS:
            raise ValueError(
                f"must be one of {', '.join(sorted(SIGNALS))}, got {value!r}"
            )
        return name.upper()


class StopFault(_Fault):
    """Stop replicas gracefully; they are started again when it is undone."""

    kind: Literal["stop"]


class PauseFault(_Fault):
    """Freeze replicas for the fault's duration."""

    kind: Literal["pause"]


class RestartFault(_Fault):
    """Restart replicas once; nothing is left to undo."""

    kind: Literal["restart"]
    duration: FaultDuration = 0.0


class _TrafficFault(_Fault):
    @property
    def is_traffic(self) -> bool:
        """Traffic faults act on the colour's route."""
        return True


class LatencyFault(_TrafficFault):
    """Hold each request for ``latency`` plus or minus ``jitter``."""

    kind: Literal["latency"]
    latency: Duration = Field(ge=0, le=60)
    jitter: Duration = Field(default=0.0, ge=0, le=60)
    probability: Probability = 1.0

    @model_validator(mode="after")
    def _jitter_within(self) -> LatencyFault:
        if self.jitter > self.latency:
            raise ValueError(
                f"jitter ({self.jitter}s) cannot exceed latency ({self.latency}s)"
            )
        return self


class ErrorFault(_TrafficFault):
    """Answer a share of requests with an HTTP error instead of the replica."""

    kind: Literal["error"]
    status: int = Field(default=503, ge=400, le=599)
    probability: Probability = 1.0
    body: str = Field(default="fault injected by bgctl\n", max_length=4096)


class ResetFault(_TrafficFault):
    """Reset the connection of a share of requests."""

    kind: Literal["reset"]
    probability: Probability = 1.0


class BlackholeFault(_TrafficFault):
    """Swallow a share of requests: read them, never answer."""

    kind: Literal["blackhole"]
    probability: Probability = 1.0


class BandwidthFault(_TrafficFault):
    """Limit each connection to ``rate`` bytes per second, both ways."""

    kind: Literal["bandwidth"]
    rate: int = Field(ge=64, le=1_000_000_000, description="bytes per second")


Fault = Annotated[
    KillFault
    | StopFault
    | PauseFault
    | RestartFault
    | LatencyFault
    | ErrorFault
    | ResetFault
    | BlackholeFault
    | BandwidthFault,
    Field(discriminator="kind"),
]
TrafficFault = LatencyFault | ErrorFault | ResetFault | BlackholeFault | BandwidthFault
ContainerFault = KillFault | StopFault | PauseFault | RestartFault
