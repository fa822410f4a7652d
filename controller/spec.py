"""The service spec: what a release manager declares about a service.

A spec is read from YAML by the CLI and sent as JSON to the API; both paths
validate it with the same pydantic model, so every error names the field and
the bad value.
"""

from __future__ import annotations

import enum
import re
from typing import Annotated

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from chaos.ports import ChaosPolicy
from chaos.units import Duration, StrictModel, check_name, check_path
from proxy.routes import Endpoint

REPOSITORY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._/:-]*[a-z0-9]$")
Port = Annotated[int, Field(ge=1, le=65535)]


class Readiness(StrictModel):
    """How the controller decides that a replica can take traffic."""

    path: str = "/healthz"
    interval: Duration = Field(default=1.0, ge=0.05, le=60)
    timeout: Duration = Field(default=2.0, ge=0.05, le=60)
    healthy_threshold: int = Field(default=1, ge=1, le=100)
    min_ready: Duration = Field(
        default=2.0,
        ge=0,
        le=600,
        description="how long every replica must stay ready before verifying",
    )

    _path = field_validator("path")(check_path)


class SmokeCheck(StrictModel):
    """One request sent through the preview frontend before promotion."""

    path: str = "/"
    method: str = "GET"
    expect_status: int = Field(default=200, ge=100, le=599)

    _path = field_validator("path")(check_path)

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str) -> str:
        if value.upper() not in {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"}:
            raise ValueError(f"must be an HTTP method such as GET, got {value!r}")
        return value.upper()


class Gate(StrictModel):
    """Probes through a frontend for a while, and the limits they must keep.

    Probes are fixed requests, so any 4xx or 5xx answer counts as an error,
    as does a request that got no answer. A window with fewer than
    ``min_samples`` answered probes is inconclusive, never a pass.
    """

    duration: Duration = Field(default=0.0, ge=0, le=3600)
    interval: Duration = Field(default=0.5, ge=0.05, le=60)
    path: str = "/"
    max_error_rate: float = Field(default=0.01, ge=0, le=1)
    max_p95: Duration = Field(default=1.0, gt=0, le=600)
    max_p95_ratio: float | None = Field(default=None, gt=0, le=1000)
    max_error_rate_increase: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="how far preview's error rate may exceed live's",
    )
    min_samples: int = Field(default=5, ge=1, le=100_000)

    _path = field_validator("path")(check_path)

    @property
    def is_enabled(self) -> bool:
        """Whether the gate runs at all."""
        return self.duration > 0


class LoadGate(StrictModel):
    """Locust on preview and live at once, and the limits preview must keep.

    Both frontends get the same load for the same time. Fewer than
    ``min_requests`` requests measured on preview fails the gate: no data
    never passes. Relative limits apply only when a live colour answered.
    """

    users: int = Field(default=5, ge=1, le=100)
    rate: float = Field(
        default=20.0, gt=0, le=1000, description="requests per second per target"
    )
    duration: Duration = Field(default=20.0, ge=2, le=600)
    path: str = "/"
    max_failure_share: float = Field(default=0.01, ge=0, le=1)
    max_p95: Duration = Field(default=1.0, gt=0, le=600)
    max_failure_share_increase: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="how far preview's failure share may exceed live's",
    )
    max_p95_ratio: float | None = Field(
        default=None, gt=0, le=1000, description="preview's p95 over live's, at most"
    )
    min_requests: int = Field(default=20, ge=1, le=1_000_000, validate_default=True)

    _path = field_validator("path")(check_path)

    @field_validator("min_requests")
    @classmethod
    def _reachable(cls, value: int, info: ValidationInfo) -> int:
        rate, duration = info.data.get("rate"), info.data.get("duration")
        if rate is None or duration is None:
            return value  # already refused for their own sake
        planned = int(rate * duration)
        if value > planned:
            raise ValueError(
                f"must be at most the {planned} requests that rate {rate:g}/s "
                f"sends in {duration:g}s, got {value}"
            )
        return value


class HookPhase(enum.StrEnum):
    """Where a verification hook runs."""

    PREVIEW = "preview"  # against preview, before promotion
    LIVE = "live"  # against live, after the flip; a failure flips back
    BOTH = "both"  # both of the above


class VerifyHook(StrictModel):
    """A command that verifies a release; a non-zero exit fails it.

    It runs without a shell, with the frontend's URL in ``BGCTL_TARGET_URL``
    and the release in ``BGCTL_SERVICE``, ``BGCTL_RELEASE`` and
    ``BGCTL_COLOR``; past ``timeout`` it is killed, and that fails it too.
    """

    command: list[Annotated[str, Field(max_length=4096)]] = Field(
        min_length=1, max_length=64, examples=[["sh", "-c", "./check.sh"]]
    )
    timeout: Duration = Field(default=30.0, gt=0, le=3600)
    phase: HookPhase = Field(default=HookPhase.BOTH, strict=False)

    @field_validator("command")
    @classmethod
    def _runnable(cls, value: list[str]) -> list[str]:
        if not value[0].strip():
            raise ValueError(f"must start with a program, got {value!r}")
        if any("\x00" in arg for arg in value):
            raise ValueError(f"must not contain NUL characters, got {value!r}")
        return value

    def runs_on(self, endpoint: str) -> bool:
        """Whether the hook runs against ``endpoint`` (preview or live)."""
        return self.phase in (HookPhase.BOTH, HookPhase(endpoint))


class Endpoints(StrictModel):
    """The ports of 127.0.0.1 (or the proxy's bind address) per frontend."""

    live: Port
    preview: Port
    blue: Port
    green: Port

    @model_validator(mode="after")
    def _distinct(self) -> Endpoints:
        ports = self.by_endpoint()
        seen: dict[int, Endpoint] = {}
        for endpoint, port in ports.items():
            if port in seen:
                raise ValueError(
                    f"{endpoint.value} and {seen[port].value} both use port {port}"
                )
            seen[port] = endpoint
        return self

    def by_endpoint(self) -> dict[Endpoint, int]:
        """The ports keyed by frontend."""
        return {endpoint: getattr(self, endpoint.value) for endpoint in Endpoint}


class ServiceSpec(StrictModel):
    """Everything bgctl needs to run one service as blue and green."""

    name: str
    image: str = Field(description="image repository, e.g. bgctl-sample")
    port: Port = Field(description="the port the app listens on in its container")
    replicas: int = Field(default=1, ge=1, le=20)
    readiness: Readiness = Readiness()
    deploy_timeout: Duration = Field(default=30.0, gt=0, le=3600)
    drain_timeout: Duration = Field(default=10.0, ge=0, le=3600)
    env: dict[str, str] = Field(default_factory=dict)
    endpoints: Endpoints
    smoke: list[SmokeCheck] = Field(default_factory=lambda: [SmokeCheck()])
    analysis: Gate = Field(
        default=Gate(), description="probes of preview, compared with live"
    )
    post_verify: Gate = Field(
        default=Gate(), description="probes of live after the flip; a breach flips back"
    )
    load_gate: LoadGate | None = Field(
        default=None, description="Locust on preview and live, after the analysis"
    )
    verify_hook: VerifyHook | None = Field(
        default=None, description="a command run against preview and/or live"
    )
    auto_promote: bool = False
    auto_promote_after: Duration | None = Field(default=None, ge=0, le=86400)
    standby_ttl: Duration = Field(default=600.0, ge=0, le=7 * 86400)
    progress_deadline: Duration = Field(default=600.0, gt=0, le=86400)
    chaos: ChaosPolicy = Field(
        default=ChaosPolicy(),
        description="whether chaos experiments may target this service, and "
        "how many replicas one fault may hit",
    )

    @model_validator(mode="after")
    def _some_verification(self) -> ServiceSpec:
        if not self.smoke and not self.analysis.is_enabled:
            raise ValueError(
                "smoke: a release needs at least one smoke check or an analysis "
                "window, got neither"
            )
        return self

    @model_validator(mode="after")
    def _windows_fit_the_deadline(self) -> ServiceSpec:
        gate = self.load_gate.duration if self.load_gate else 0.0
        windows = self.analysis.duration + gate
        if windows >= self.progress_deadline:
            raise ValueError(
                f"progress_deadline: must be longer than the verification windows "
                f"(analysis {self.analysis.duration:g}s + load gate {gate:g}s), "
                f"got {self.progress_deadline:g}s"
            )
        return self

    _name_check = field_validator("name")(check_name)

    @field_validator("image")
    @classmethod
    def _repository(cls, value: str) -> str:
        if not REPOSITORY_PATTERN.fullmatch(value) or "@" in value:
            raise ValueError(f"must be an image repository without tag, got {value!r}")
        if ":" in value.rsplit("/", 1)[-1]:
            raise ValueError(f"must not carry a tag, got {value!r}")
        return value

    @field_validator("env")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
                raise ValueError(f"variable names must be identifiers, got {key!r}")
        return value

    def image_reference(self, requested: str) -> str:
        """The full reference for a release: a bare tag gets the repository."""
        if ":" not in requested and "/" not in requested and "@" not in requested:
            return f"{self.image}:{requested}"
        return requested
