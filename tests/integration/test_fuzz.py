"""Fuzz the running controller through its own OpenAPI schema.

Schemathesis generates requests for every operation, valid ones and ones
that break the schema, from a fixed seed and in bounded numbers. Every
request carries the admin token. The fuzzed service's repository has no
image on the engine, so a release can never start: release creation is
refused with 422 and nothing runs. Each answer must not be a 5xx, must be
a status the operation declares, and must match the declared body.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.harness import Controller, service_spec, unique_name

EXAMPLES = 40  # per operation, generation mode and choice of service
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
    ignored_auth,
]
MODES = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
# A stream answers a good request without end; its refusals are checked in
# tests/controller/api/test_events_route.py.
STREAMS = {"/api/v1/events"}
BOUNDED = hypothesis.settings(
    max_examples=EXAMPLES,
    derandomize=True,  # the same examples on every run
    database=None,
    deadline=None,
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    suppress_health_check=list(hypothesis.HealthCheck),
)


def fuzz_operation(operation: Any, mode: Any, fixed: dict[str, str]) -> None:
    """Send EXAMPLES generated requests to one operation and check each answer."""
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed)

    @BOUNDED
    @hypothesis.given(case=strategy)
    def send(case: Any) -> None:
        case.call_and_validate(checks=CHECKS, timeout=30)

    try:
        send()
    except Unsatisfiable:
        # An operation without parameters or body has nothing to break.
        assert mode is schemathesis.GenerationMode.NEGATIVE


def test_the_api_answers_every_generated_request_as_its_schema_says(
    controller: Controller,
) -> None:
    name = unique_name("fuzz")
    controller.register(service_spec(name, image="bgctl-fuzz-absent"))
    # Given as the schema's bearer scheme, so negative cases keep the token.
    auth = {"auth": {"openapi": {"bearer": {"bearer": controller.tokens["admin"]}}}}
    schema = schemathesis.openapi.from_url(
        f"{controller.url}/openapi.json", config=schemathesis.Config.from_dict(auth)
    )

    started, failures = time.monotonic(), []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in STREAMS:
            continue
        has_service = "{service}" in operation.path
        for mode in MODES:
            for fixed in ({}, {"service": name}) if has_service else ({},):
                try:
                    fuzz_operation(operation, mode, fixed)
                except (Exception, FailureGroup) as exc:  # report them all
                    failures.append(f"{operation.label} {mode.value} {fixed}: {exc}")

    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)
    assert time.monotonic() - started < 90, "fuzzing took too long"
    assert controller.status(name)["release_in_flight"] is None
    entries = controller.api("GET", "/api/v1/audit?limit=1000").json()
    seen = Counter((e["actor"], e["status"]) for e in entries)
    assert not any(status >= 500 for _, status in seen), seen
    # The token was sent: the admin's requests reached the routes' own checks.
    assert {("pytest", 409), ("pytest", 422)} <= set(seen), seen
