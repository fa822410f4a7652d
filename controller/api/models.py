"""Request and response bodies of the API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from controller.phases import Phase
from proxy.routes import Color


class ReleaseRequest(BaseModel):
    """Ship a version: a tag of the service's repository or a full reference."""

    model_config = ConfigDict(extra="forbid")

    image: str = Field(min_length=1, max_length=255, examples=["bgctl-sample:v2"])

    @field_validator("image")
    @classmethod
    def _no_space(cls, value: str) -> str:
        if any(ch.isspace() for ch in value) or not value.isprintable():
            raise ValueError(
                f"must be an image reference without spaces, got {value!r}"
            )
        return value


class RollbackRequest(BaseModel):
    """Roll back live traffic; ``color`` must be the standby colour if given."""

    model_config = ConfigDict(extra="forbid")

    color: Color | None = None


class HistoryQuery(BaseModel):
    """The query of a release history; an unknown parameter is refused."""

    model_config = ConfigDict(extra="forbid")

    limit: int = Field(default=50, ge=1, le=500, description="how many releases")


class AuditQuery(BaseModel):
    """The query of the audit log; an unknown parameter is refused."""

    model_config = ConfigDict(extra="forbid")

    service: str | None = Field(
        default=None, max_length=64, description="only requests about this service"
    )
    actor: str | None = Field(
        default=None, max_length=64, description="only requests by this token name"
    )
    limit: int = Field(default=100, ge=1, le=1000, description="how many entries")


class Event(BaseModel):
    """One step of a release's timeline."""

    at: str
    phase: Phase
    actor: str
    reason: str


class Release(BaseModel):
    """A release and, when asked for one, its timeline."""

    id: str
    service: str
    number: int
    image: str
    image_id: str
    color: Color
    phase: Phase
    reason: str
    created_by: str
    created_at: str
    updated_at: str
    url: str
    timeline: list[Event] | None = None


class ReplicaStatus(BaseModel):
    """One replica of a colour as the engine and a probe see it."""

    name: str
    container_id: str
    index: int
    state: str
    address: str | None
    healthy: bool
    probe: str


class ColorStatus(BaseModel):
    """What one colour holds."""

    color: Color
    role: str  # live, standby, staged or idle
    release: str | None
    image: str | None
    image_id: str | None
    phase: Phase | None
    replicas: list[ReplicaStatus]


class ServiceSummary(BaseModel):
    """A service in the list: name and where live traffic goes."""

    name: str
    live_color: Color | None
    live_release: str | None
    live_image: str | None
    endpoints: dict[str, str]


class ServiceStatus(ServiceSummary):
    """One service in full."""

    preview_color: Color | None
    colors: list[ColorStatus]
    release_in_flight: Release | None
    spec: dict[str, object]


class Artifact(BaseModel):
    """One running container of this controller and the image it runs."""

    service: str
    color: Color
    role: str  # live, standby, staged; retiring as its colour moves on; unknown
    release: str
    image: str | None  # the reference the release asked for
    image_id: str  # what the engine says the container runs
    pinned: bool  # whether that is the image id the release resolved
    repo_digest: str | None  # "repo@sha256:..." when a registry knows the image
    container_name: str
    container_id: str
    state: str
    started_at: str | None
    healthy: bool
    probe: str


class AuditEntry(BaseModel):
    """One mutating request, allowed or refused."""

    id: int
    at: str
    actor: str = Field(description='the token\'s name, or "anonymous"')
    method: str
    path: str
    service: str | None
    release: str | None
    status: int
    outcome: str = Field(
        description="succeeded, unauthorized, forbidden, refused (other 4xx) "
        "or failed (5xx)"
    )


class ErrorDetail(BaseModel):
    """What went wrong: a code for programs and a sentence for people.

    Errors about one field add ``field`` and ``value``; others add the
    service, release or role they concern.
    """

    model_config = ConfigDict(extra="allow")

    code: str = Field(examples=["not_found"])
    message: str = Field(examples=['service "web" is not registered'])


class ErrorBody(BaseModel):
    """The body of every error response."""

    error: ErrorDetail
