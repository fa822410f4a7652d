"""The experiment file: what to break, how to tell, and how to put it back.

An experiment targets one service. It states a steady-state hypothesis
(probes with tolerances), a method (faults and pauses, run in order; a
fault marked ``background`` runs on while the method goes on) and
rollbacks, which run whatever happened. Files are YAML or JSON; both are
validated by these models, so an error names the field and the bad value.
"""

from __future__ import annotations

import enum
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from chaos.errors import ExperimentInvalid
from chaos.units import Duration, StrictModel, check_path
from proxy.routes import Color, Endpoint

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$")
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


class HttpProbe(StrictModel):
    """A few requests through a frontend; enough of them must answer as expected."""

    type: Literal["http"]
    name: str = Field(default="http", max_length=200)
    endpoint: Endpoint = Endpoint.LIVE
    path: str = "/"
    expect_status: list[Annotated[int, Field(ge=100, le=599)]] = Field(
        default_factory=lambda: [200], min_length=1, max_length=20
    )
    requests: int = Field(default=5, ge=1, le=1000)
    timeout: Duration = Field(default=2.0, gt=0, le=60)
    min_success: Probability = Field(
        default=1.0, description="share of requests that must answer as expected"
    )

    _path = field_validator("path")(check_path)


class TrafficProbe(StrictModel):
    """Steady requests through a frontend for a window; error share and latency."""

    type: Literal["traffic"]
    name: str = Field(default="traffic", max_length=200)
    endpoint: Endpoint = Endpoint.LIVE
    path: str = "/"
    window: Duration = Field(default=5.0, gt=0, le=600)
    rate: float = Field(default=10.0, gt=0, le=200, description="requests a second")
    timeout: Duration = Field(default=2.0, gt=0, le=60)
    max_error_share: Probability = 0.01
    max_p50: Duration | None = Field(default=None, gt=0, le=600)
    max_p95: Duration | None = Field(default=None, gt=0, le=600)
    max_p99: Duration | None = Field(default=None, gt=0, le=600)
    min_requests: int = Field(default=5, ge=1, le=120_000)

    _path = field_validator("path")(check_path)


class ReplicasProbe(StrictModel):
    """How many replicas of a colour are running."""

    type: Literal["replicas"]
    name: str = Field(default="replicas", max_length=200)
    color: ColorChoice = ColorChoice.LIVE
    min_running: int = Field(default=1, ge=0, le=20)


Probe = Annotated[HttpProbe | TrafficProbe | ReplicasProbe, Field(discriminator="type")]


class Hypothesis(StrictModel):
    """The steady state: probes that hold before, during and after the method."""

    title: str = Field(default="steady state", max_length=200)
    probes: list[Probe] = Field(min_length=1, max_length=20)
    during: bool = Field(
        default=True, description="check the probes while the method runs"
    )
    interval: Duration = Field(
        default=2.0, ge=0.1, le=600, description="pause between checks during"
    )


class FaultActivity(StrictModel):
    """Apply a fault; wait out its duration unless it runs in the background."""

    type: Literal["fault"]
    name: str = Field(default="", max_length=200)
    fault: Fault
    background: bool = False


class PauseActivity(StrictModel):
    """Wait, with every fault applied so far still in place."""

    type: Literal["pause"]
    name: str = Field(default="pause", max_length=200)
    duration: Duration = Field(ge=0, le=MAX_FAULT_DURATION)


Activity = Annotated[FaultActivity | PauseActivity, Field(discriminator="type")]


class UndoFaults(StrictModel):
    """Undo every fault of the run still open (this always runs last anyway)."""

    type: Literal["undo-faults"]
    name: str = Field(default="undo faults", max_length=200)


class StartReplicas(StrictModel):
    """Start every replica of a colour that is not running."""

    type: Literal["start-replicas"]
    name: str = Field(default="start replicas", max_length=200)
    color: ColorChoice


Rollback = Annotated[
    UndoFaults | StartReplicas | PauseActivity, Field(discriminator="type")
]


class Guards(StrictModel):
    """Guard rails an experiment may loosen, each one on purpose."""

    allow_both_colors: bool = Field(
        default=False, description="let faults hit blue and green in one run"
    )
    allow_during_release: bool = Field(
        default=False, description="run even while a release is in flight"
    )
    abort_on_deviation: bool = Field(
        default=True, description="abort when the hypothesis breaks mid-method"
    )


class Experiment(StrictModel):
    """One experiment against one service."""

    version: Literal[1] = 1
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=4000)
    service: str
    hypothesis: Hypothesis | None = None
    method: list[Activity] = Field(min_length=1, max_length=50)
    rollbacks: list[Rollback] = Field(default_factory=list, max_length=50)
    guards: Guards = Guards()

    @field_validator("service")
    @classmethod
    def _service_name(cls, value: str) -> str:
        if not NAME_PATTERN.fullmatch(value):
            raise ValueError(f"must be a service name such as web, got {value!r}")
        return value

    def faults(self) -> list[Fault]:
        """Every fault of the method, in order."""
        return [a.fault for a in self.method if isinstance(a, FaultActivity)]


def parse_experiment(data: Any) -> Experiment:
    """Validate an experiment read from a file or a request body.

    It is validated as JSON, so names of colours, kinds and endpoints are
    read from text, while a number is never read from a string.
    """
    try:
        return Experiment.model_validate_json(as_json(data))
    except ValidationError as exc:
        raise invalid(exc) from exc


def as_json(data: Any) -> str:
    """A document read from YAML or JSON as JSON text; dates become text."""
    return json.dumps(data, default=str)


def load_experiment(path: Path) -> Experiment:
    """Read a YAML or JSON experiment file."""
    return parse_experiment(read_document(path, "experiment"))


def read_document(path: Path, what: str) -> Any:
    """The data of a YAML or JSON file; ExperimentInvalid naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ExperimentInvalid(
            f"cannot read {what} file {str(path)!r}: {exc.strerror}",
            field="file",
            value=str(path),
        ) from exc
    try:
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ExperimentInvalid(
            f"{what} file {str(path)!r} is not valid YAML or JSON: {exc}",
            field="file",
            value=str(path),
        ) from exc


def invalid(exc: ValidationError) -> ExperimentInvalid:
    """The first validation error as a sentence naming the field and value."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "experiment"
    value = first.get("input")
    return ExperimentInvalid(
        f"{where}: {first['msg']}, got {value!r}"[:1000],
        field=where,
        value=value if isinstance(value, str | int | float | bool) else None,
    )
