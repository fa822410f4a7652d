"""What one fault proxy is told: its marker, listener, upstreams and fault.

The whole configuration travels as one JSON argument, so the marker it
carries also shows in the process's command line and an undo can tell
the process is still the one it started::

    python -m chaos.faultproxy '{"marker": "bgctl-fault-7-3f2a9c1e",
        "listen": "127.0.0.1",
        "upstreams": [{"host": "127.0.0.1", "port": 8001}],
        "fault": {"kind": "latency", "latency": 0.1, "jitter": 0.01},
        "exempt": ["/healthz"], "seed": 7,
        "log_file": "state/chaos/bgctl-fault-7-3f2a9c1e.log"}'

Once listening it prints one line on stdout, ``ready {"ports": [40001]}``
(one port per upstream, in order), and nothing more; a process that cannot
start prints ``failed <reason>`` instead and exits non-zero.

Durations are seconds and ``rate`` is bytes per second. ``probability``
is the share of requests the fault hits, drawn per request from a
generator seeded with ``seed`` (from the OS when there is none). A request
whose path is in ``exempt`` (the service's health path) passes untouched,
so HAProxy's health checks keep the route up. The process logs to
``log_file``, appending, with anything else it writes to stderr; or to
stderr when there is none.
"""

from __future__ import annotations

import enum
import json
from typing import Annotated

from pydantic import Field, ValidationError, field_validator, model_validator

from chaos.units import StrictModel, check_path

READY = "ready"
FAILED = "failed"
MARKER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{7,79}$"
MAX_UPSTREAMS = 20
MAX_BODY = 4096


class ConfigInvalid(ValueError):
    """The configuration does not validate; the message names field and value."""


class NotReady(RuntimeError):
    """The process said it failed, or said something other than ready."""


class FaultKind(enum.StrEnum):
    """What the proxy does to a request the fault hits."""

    LATENCY = "latency"  # hold it, then forward it
    ERROR = "error"  # answer it with an HTTP error, never forward it
    RESET = "reset"  # read it, then reset the connection
    BLACKHOLE = "blackhole"  # read it, never answer
    BANDWIDTH = "bandwidth"  # forward it at ``rate`` bytes a second each way


Seconds = Annotated[float, Field(ge=0, le=60)]


class FaultParams(StrictModel):
    """The fault itself; fields another kind does not use are ignored."""

    kind: FaultKind
    probability: float = Field(default=1.0, ge=0, le=1)
    latency: Seconds = 0.0
    jitter: Seconds = 0.0
    status: int = Field(default=503, ge=400, le=599)
    body: str = Field(default="fault injected by bgctl\n", max_length=MAX_BODY)
    rate: int | None = Field(default=None, ge=1, le=1_000_000_000)

    @model_validator(mode="after")
    def _consistent(self) -> FaultParams:
        if self.jitter > self.latency:
            raise ValueError(
                f"jitter ({self.jitter}s) cannot exceed latency ({self.latency}s)"
            )
        if self.kind is FaultKind.BANDWIDTH and self.rate is None:
            raise ValueError("a bandwidth fault needs a rate in bytes per second")
        return self


class Upstream(StrictModel):
    """One replica the proxy forwards to, as the proxy reaches it."""

    host: str = Field(min_length=1, max_length=253)
    port: int = Field(ge=1, le=65535)

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


class ProxyConfig(StrictModel):
    """Everything one fault proxy process needs."""

    marker: str = Field(pattern=MARKER_PATTERN)
    listen: str = Field(default="127.0.0.1", min_length=1, max_length=253)
    upstreams: list[Upstream] = Field(min_length=1, max_length=MAX_UPSTREAMS)
    fault: FaultParams
    exempt: list[str] = Field(default_factory=list, max_length=20)
    seed: int | None = None
    log_file: str | None = Field(default=None, min_length=1, max_length=4096)

    @field_validator("exempt")
    @classmethod
    def _paths(cls, value: list[str]) -> list[str]:
        return [check_path(path) for path in value]

    def to_argument(self) -> str:
        """The configuration as the one JSON argument the process takes."""
        return self.model_dump_json()


def parse_config(text: str) -> ProxyConfig:
    """Read the JSON argument; ConfigInvalid names the first bad field."""
    try:
        return ProxyConfig.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "configuration"
        raise ConfigInvalid(
            f"{where}: {first['msg']}, got {first.get('input')!r:.200}"
        ) from exc


def ready_line(ports: list[int]) -> str:
    """The line a process prints once it listens on ``ports``."""
    return f"{READY} {json.dumps({'ports': ports})}"


def failed_line(reason: str) -> str:
    """The line a process prints when it cannot start."""
    return f"{FAILED} {' '.join(reason.split())}"


def read_ready(line: str) -> list[int]:
    """The ports of a ready line; NotReady quotes any other line."""
    word, _, rest = line.strip().partition(" ")
    if word == FAILED:
        raise NotReady(rest or "no reason given")
    try:
        ports = json.loads(rest)["ports"] if word == READY else None
    except (ValueError, KeyError, TypeError):
        ports = None
    if not isinstance(ports, list) or not all(isinstance(p, int) for p in ports):
        raise NotReady(f"expected a ready line with ports, got {line.strip()!r:.200}")
    return ports
