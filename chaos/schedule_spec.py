"""What a schedule says: which experiment, when, and what to do on overlap."""

from __future__ import annotations

import enum
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from chaos.experiment import Experiment, as_json, invalid, read_document
from chaos.units import Duration, StrictModel, check_name

ID_PATTERN = re.compile(r"^sch-[0-9a-f]+$")  # how schedule ids look
HOURS_PATTERN = re.compile(
    r"^([01]\d|2[0-3]):([0-5]\d)-(([01]\d|2[0-3]):([0-5]\d)|24:00)$"
)


class Weekday(enum.StrEnum):
    """Days of the week, as a schedule's allowed days name them."""

    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


class Overlap(enum.StrEnum):
    """What a due run does while the schedule's previous run still runs."""

    FORBID = "forbid"  # skip it and record the skip (the default)
    ALLOW = "allow"  # start it anyway


class Once(StrictModel):
    """One run at a given time."""

    mode: Literal["once"]
    at: AwareDatetime

    @field_validator("at")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        try:
            return value.astimezone(UTC)
        except OverflowError:
            raise ValueError(
                f"must be a time that exists in UTC, got {value.isoformat()!r}"
            ) from None


class Interval(StrictModel):
    """A run every ``every`` seconds, the first one ``every`` after creation."""

    mode: Literal["interval"]
    every: Duration = Field(ge=1, le=366 * 86400)


class Cron(StrictModel):
    """Runs at the times a five-field cron expression names, in UTC."""

    mode: Literal["cron"]
    expression: str = Field(min_length=9, max_length=200)


class Random(StrictModel):
    """Chaos Monkey: runs at random, ``mean`` apart on average, in allowed hours."""

    mode: Literal["random"]
    mean: Duration = Field(ge=1, le=366 * 86400, description="mean time between runs")
    min_gap: Duration = Field(default=0.0, ge=0, le=366 * 86400)
    hours: str = Field(default="00:00-24:00", description="UTC, e.g. 09:00-17:00")
    days: list[Weekday] = Field(
        default_factory=lambda: list(Weekday), min_length=1, max_length=7
    )
    seed: int | None = Field(default=None, description="for repeatable draws")

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        match = HOURS_PATTERN.fullmatch(value)
        if match is None or value[6:] <= value[:5]:
            raise ValueError(
                f"must be HH:MM-HH:MM with the end after the start, got {value!r}"
            )
        return value

    @model_validator(mode="after")
    def _gap_below_mean(self) -> Random:
        if self.min_gap >= self.mean:
            raise ValueError(
                f"min_gap ({self.min_gap}s) must be shorter than mean ({self.mean}s)"
            )
        return self


When = Annotated[Once | Interval | Cron | Random, Field(discriminator="mode")]


class ScheduleSpec(StrictModel):
    """A named schedule of one experiment."""

    name: str
    experiment: Experiment
    when: When
    overlap: Overlap = Overlap.FORBID
    history_limit: int = Field(
        default=50, ge=1, le=10_000, description="runs of this schedule kept"
    )
    paused: bool = False

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        check_name(value)
        if ID_PATTERN.fullmatch(value):
            raise ValueError(
                f"must not look like a schedule id (sch-...), got {value!r}"
            )
        return value


def parse_schedule(data: Any) -> ScheduleSpec:
    """Validate a schedule read from a file or a request body, as JSON."""
    try:
        return ScheduleSpec.model_validate_json(as_json(data, "schedule"))
    except ValidationError as exc:
        raise invalid(exc) from exc


def load_schedule(path: Path) -> ScheduleSpec:
    """Read a YAML or JSON schedule file."""
    return parse_schedule(read_document(path, "schedule"))
