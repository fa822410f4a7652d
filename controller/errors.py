"""Errors the controller raises and how the API reports them.

BgctlError                 every error carries a code and an HTTP status
├── Unauthorized           401: no bearer token, or one nobody issued
├── Forbidden              403: the token's role is below the route's
├── InvalidInput           422: a field has a bad value
│   └── InvalidDocument    422: an experiment or schedule does not validate
├── ImageNotAllowed        403: the image policy refuses the repository
├── NotFound               404: no such service or release
├── Conflict               409: the request clashes with current state
│   ├── ReleaseInFlight    409: another release of the service is running
│   └── ChaosRefused       409: a chaos guard rail refuses the target
└── OperationFailed        502: the engine or the proxy refused
"""

from __future__ import annotations

import math
from typing import Any


class BgctlError(Exception):
    """Root of every error the controller reports to a user."""

    status_code = 500
    code = "internal"

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context = context

    def to_dict(self) -> dict[str, Any]:
        """The JSON body every route answers errors with."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        body.update({k: v for k, v in self.context.items() if v is not None})
        return {"error": body}

    def headers(self) -> dict[str, str]:
        """Headers the error response carries beside the body."""
        return {}


class Unauthorized(BgctlError):
    """The request carries no bearer token, or one the controller does not know."""

    status_code = 401
    code = "unauthorized"

    def headers(self) -> dict[str, str]:
        """Tell the client which scheme to answer with (RFC 6750)."""
        return {"WWW-Authenticate": 'Bearer realm="bgctl"'}


class Forbidden(BgctlError):
    """The token is known, but its role does not imply the one the route needs."""

    status_code = 403
    code = "forbidden"


class InvalidInput(BgctlError):
    """A field of the request has a value the controller cannot accept."""

    status_code = 422
    code = "invalid_input"

    def __init__(self, field: str, value: Any, expected: str) -> None:
        super().__init__(
            f"{field}: {expected}, got {value!r}", field=field, value=jsonable(value)
        )
        self.field = field
        self.value = value


class InvalidDocument(InvalidInput):
    """A document in the request does not validate; its sentence names the field."""

    def __init__(self, message: str, field: str, value: Any) -> None:
        BgctlError.__init__(self, message, field=field, value=jsonable(value))
        self.field = field
        self.value = value


class ImageNotAllowed(BgctlError):
    """The controller's image policy does not allow the image's repository."""

    status_code = 403
    code = "image_not_allowed"

    def __init__(
        self, reference: str, repository: str, patterns: tuple[str, ...]
    ) -> None:
        super().__init__(
            f"image {reference!r} is not allowed: repository {repository!r} "
            f"matches none of the allowed patterns {', '.join(patterns)}",
            image=reference,
            allowed=list(patterns),
        )
        self.reference = reference
        self.patterns = patterns


class NotFound(BgctlError):
    """The named service or release does not exist."""

    status_code = 404
    code = "not_found"


class Conflict(BgctlError):
    """The request cannot be carried out in the service's current state."""

    status_code = 409
    code = "conflict"


class ReleaseInFlight(Conflict):
    """Another release of the same service has not finished."""

    code = "release_in_flight"

    def __init__(self, service: str, release_id: str, phase: str) -> None:
        super().__init__(
            f'service "{service}" already has release {release_id} in flight '
            f"(phase {phase}); wait for it, promote it or abort it",
            service=service,
            release=release_id,
            phase=phase,
        )


class ChaosRefused(Conflict):
    """A chaos guard rail refuses the experiment's target; the message says why."""

    code = "chaos_refused"


class OperationFailed(BgctlError):
    """The engine or the proxy refused an operation; nothing was changed."""

    status_code = 502
    code = "operation_failed"


def jsonable(value: Any) -> Any:
    """A bad value as an error body can carry it: odd or huge ones as text."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if isinstance(value, str):
        return value if len(value) < 500 else value[:500] + "..."
    text = repr(value)
    return text if len(text) < 500 else text[:500] + "..."
