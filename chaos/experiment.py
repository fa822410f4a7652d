"""The experiment file: what to break, how to tell, and how to put it back.

An experiment targets one service. It states a steady-state hypothesis
(probes with tolerances), a method (faults and pauses, run in order; a
fault marked ``background`` runs on while the method goes on) and
rollbacks, which run whatever happened. Files are YAML or JSON; both are
validated by these models, so an error names the field and the bad value.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator

from chaos.errors import ExperimentInvalid
from chaos.fault_spec import MAX_FAULT_DURATION, ColorChoice, Fault, Probability
from chaos.units import Duration, StrictModel, check_name, check_path
from proxy.routes import Endpoint


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

    _service_check = field_validator("service")(check_name)

    def faults(self) -> list[Fault]:
        """Every fault of the method, in order."""
        return [a.fault for a in self.method if isinstance(a, FaultActivity)]


def parse_experiment(data: Any) -> Experiment:
    """Validate an experiment read from a file or a request body.

    It is validated as JSON, so names of colours, kinds and endpoints are
    read from text, while a number is never read from a string.
    """
    try:
        return Experiment.model_validate_json(as_json(data, "experiment"))
    except ValidationError as exc:
        raise invalid(exc) from exc


def as_json(data: Any, what: str) -> str:
    """A document read from YAML or JSON as JSON text; dates become text."""
    if not is_small(data):
        raise ExperimentInvalid(
            f"{what}: the document holds more than {MAX_NODES:,} values once its "
            "YAML aliases are expanded; that is not an experiment",
            field=what,
        )
    try:
        return json.dumps(data, default=str)
    except (ValueError, RecursionError) as exc:
        # Circular YAML aliases, or nesting deeper than any document needs.
        raise ExperimentInvalid(
            f"{what}: cannot be read as a JSON document: {exc}"[:300],
            field=what,
        ) from None


def load_experiment(path: Path) -> Experiment:
    """Read a YAML or JSON experiment file."""
    return parse_experiment(read_document(path, "experiment"))


def read_document(path: Path, what: str) -> Any:
    """The data of a YAML or JSON file; ExperimentInvalid naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or "it is not UTF-8 text"
        raise ExperimentInvalid(
            f"cannot read {what} file {str(path)!r}: {reason}",
            field="file",
            value=str(path),
        ) from exc
    try:
        return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, RecursionError, yaml.YAMLError) as exc:
        raise ExperimentInvalid(
            f"{what} file {str(path)!r} is not valid YAML or JSON{position(exc)}",
            field="file",
            value=str(path),
        ) from None


def invalid(exc: ValidationError) -> ExperimentInvalid:
    """The first validation error as a sentence naming the field and value."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in field_path(first["loc"])) or "experiment"
    value = first.get("input")
    message = str(first["msg"]).removeprefix("Value error, ")
    if "got " not in message:
        message += f", got {shown(value)}"
    return ExperimentInvalid(
        f"{where}: {message}"[:1000],
        field=where,
        value=value if isinstance(value, str | int | float | bool) else None,
    )


MAX_NODES = 100_000  # values in one document, aliases expanded


def is_small(data: Any) -> bool:
    """Whether a document has at most MAX_NODES values, counting each alias use.

    YAML aliases can nest a kilobyte into billions of values; the count stops
    as soon as it passes the limit, so it costs little either way.
    """
    budget = MAX_NODES
    pending = [data]
    while pending:
        item = pending.pop()
        budget -= 1
        if budget < 0:
            return False
        if isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple):
            pending.extend(item)
    return True


def position(exc: BaseException) -> str:
    """Where a YAML or JSON parser stopped, without quoting the text there."""
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        return f" (line {mark.line + 1}, column {mark.column + 1})"
    if isinstance(exc, json.JSONDecodeError):
        return f" (line {exc.lineno}, column {exc.colno})"
    return ""


def shown(value: Any) -> str:
    """A bad value as an error message quotes it: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


UNION_LISTS = frozenset({"method", "probes", "rollbacks"})  # items chosen by a tag
UNION_FIELDS = frozenset({"fault", "when"})  # values chosen by a tag


def field_path(loc: tuple[int | str, ...]) -> list[int | str]:
    """An error's location without the tags pydantic adds for tagged unions.

    ``method.0.fault.fault.kill.color`` reads ``method.0.fault.color``: the
    tag after a list item or a union field names the model tried, not a field.
    """
    path: list[int | str] = []
    expect_tag = False
    for part in loc:
        if expect_tag and isinstance(part, str):
            expect_tag = False
            continue
        is_item = isinstance(part, int) and bool(path) and path[-1] in UNION_LISTS
        expect_tag = is_item or part in UNION_FIELDS
        path.append(part)
    return path
