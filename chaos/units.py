"""Durations, URL paths and the strict model base shared by every spec.

Service specs and experiment files are written by people in YAML, so both
accept ``"500ms"`` or ``"2m"`` for a duration and both refuse a string where
a number belongs; they share these definitions to read the same way.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}
PATH_PATTERN = re.compile(r"/[A-Za-z0-9._~%/?=&:@+,-]*")
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$")


def parse_duration(value: Any) -> float:
    """Seconds from a number or a string such as ``"500ms"``, ``"30s"``, ``"2m"``."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as 30s, got {value!r}")
    if isinstance(value, int) and abs(value) > 10**12:
        raise ValueError(f"expected a duration such as 30s, got {value!r:.40}")
    if isinstance(value, int | float):
        seconds = float(value)
        if not math.isfinite(seconds):
            raise ValueError(f"expected a finite duration, got {value!r}")
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    else:
        raise ValueError(f"expected a duration such as 30s or 500ms, got {value!r}")
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative, got {value!r}")
    return seconds


def check_path(value: str) -> str:
    """A URL path as typed by a person: starts with "/", no spaces or quotes."""
    if not value.startswith("/"):
        raise ValueError(f'must start with "/", got {value!r}')
    if not PATH_PATTERN.fullmatch(value):
        raise ValueError(
            "must be a URL path of letters, digits and ._~%/?=&:@+,- only, "
            f"got {value!r}"
        )
    return value


def check_name(value: str) -> str:
    """A name of a service or schedule: 2-40 of a-z, 0-9 and "-"."""
    if not NAME_PATTERN.fullmatch(value):
        raise ValueError(
            "must be 2-40 characters of a-z, 0-9 and '-', starting with a "
            f"letter, got {value!r}"
        )
    return value


Duration = Annotated[float, BeforeValidator(parse_duration)]


class StrictModel(BaseModel):
    """A frozen model that refuses unknown fields, coercion, infinity and NaN."""

    # Strict: "2" is not a count and "yes" is not a boolean; and no infinity
    # or NaN may reach the store.
    model_config = ConfigDict(
        extra="forbid", frozen=True, strict=True, allow_inf_nan=False
    )
