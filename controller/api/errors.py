"""One JSON error shape for every route, whatever went wrong."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from chaos.errors import (
    ChaosError,
    ExperimentInvalid,
    FaultFailed,
    RunConflict,
    RunNotFound,
    ScheduleNotFound,
    TargetRefused,
)
from controller.api.models import ErrorBody
from controller.errors import (
    BgctlError,
    ChaosRefused,
    Conflict,
    InvalidDocument,
    NotFound,
    OperationFailed,
    jsonable,
)

log = logging.getLogger(__name__)


def describe_validation(errors: list[Any]) -> tuple[str, str, Any]:
    """The field, a sentence and the bad value of the first validation error."""
    first = errors[0]
    location = [str(part) for part in first.get("loc", ()) if part != "body"]
    if first.get("type") == "json_invalid":
        location = []  # the position in the text, not a field
    message = str(first.get("msg", "is invalid")).removeprefix("Value error, ")
    field = ".".join(location)
    if not field and ": " in message:
        # A check across fields names the field it is about first.
        field, message = message.split(": ", 1)
    field = field or "body"
    value = first.get("input")
    if "got " not in message:
        message = f"{message}, got {value!r}"
    return field, f"{field}: {message}", value


ERROR_MEANINGS = {
    400: "The body could not be read as JSON text",
    401: "No bearer token, or one the controller did not issue",
    403: "The token's role does not allow this",
    404: "No such service, release, chaos run or schedule",
    409: "The request clashes with the service's current state",
    422: "A field, parameter or header has a bad value",
    502: "The engine or the proxy refused; nothing was changed",
}


def declared(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route that can answer with these errors."""
    return {
        status: {"model": ErrorBody, "description": ERROR_MEANINGS[status]}
        for status in statuses
    }


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """The body every error response carries."""
    return {"error": {"code": code, "message": message, **extra}}


CHAOS_ERRORS: dict[type[ChaosError], type[BgctlError]] = {
    TargetRefused: ChaosRefused,
    RunNotFound: NotFound,
    ScheduleNotFound: NotFound,
    RunConflict: Conflict,
    FaultFailed: OperationFailed,
}


def from_chaos(exc: ChaosError) -> BgctlError:
    """The controller's error for one the chaos module raised."""
    context = {key: jsonable(value) for key, value in exc.context.items()}
    if isinstance(exc, ExperimentInvalid):
        field = str(context.pop("field", None) or "body")
        return InvalidDocument(exc.message, field, exc.context.get("value"))
    for kind, translated in CHAOS_ERRORS.items():
        if isinstance(exc, kind):
            return translated(exc.message, **context)
    return OperationFailed(exc.message, **context)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into the JSON shape."""

    @app.exception_handler(BgctlError)
    async def _bgctl(request: Request, exc: BgctlError) -> JSONResponse:
        return JSONResponse(
            exc.to_dict(), status_code=exc.status_code, headers=exc.headers()
        )

    @app.exception_handler(ChaosError)
    async def _chaos(request: Request, exc: ChaosError) -> JSONResponse:
        return await _bgctl(request, from_chaos(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_response(list(exc.errors()))

    @app.exception_handler(ValidationError)
    async def _invalid_spec(request: Request, exc: ValidationError) -> JSONResponse:
        return _validation_response(list(exc.errors()))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "http_error"
        )
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse(
            error_body("internal", f"internal error: {type(exc).__name__}"),
            status_code=500,
        )


def _validation_response(errors: list[Any]) -> JSONResponse:
    field, message, value = describe_validation(errors)
    body = error_body(
        "invalid_input", message, field=field, value=jsonable(value), count=len(errors)
    )
    return JSONResponse(body, status_code=422)
