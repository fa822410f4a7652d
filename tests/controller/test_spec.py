"""The service spec accepts what a release manager writes and names bad fields."""

from typing import Any

import pytest
from pydantic import ValidationError

from chaos.units import parse_duration
from controller.api.errors import describe_validation
from controller.spec import ServiceSpec


def spec(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "web",
        "image": "bgctl-sample",
        "port": 8000,
        "endpoints": {"live": 8080, "preview": 8081, "blue": 8082, "green": 8083},
    }
    body.update(changes)
    return body


def first_error(body: dict[str, Any]) -> tuple[tuple[Any, ...], str]:
    with pytest.raises(ValidationError) as caught:
        ServiceSpec.model_validate(body)
    error = caught.value.errors()[0]
    return error["loc"], error["msg"]


def test_defaults_fill_a_minimal_spec() -> None:
    parsed = ServiceSpec.model_validate(spec())
    assert parsed.replicas == 1
    assert parsed.readiness.path == "/healthz"
    assert parsed.auto_promote is False


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("500ms", 0.5), ("30s", 30.0), ("2m", 120.0), ("1h", 3600.0), (5, 5.0)],
)
def test_durations_accept_units(text: Any, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["-1s", "soon", "", True, "5 weeks"])
def test_durations_refuse_nonsense(text: Any) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_negative_replicas_name_the_field() -> None:
    location, _ = first_error(spec(replicas=-1))
    assert location == ("replicas",)


def test_health_path_without_slash_quotes_the_value() -> None:
    location, message = first_error(spec(readiness={"path": "healthz"}))
    assert location == ("readiness", "path")
    assert "'healthz'" in message


@pytest.mark.parametrize("name", ["we b", "web\n", "Web", "-web", "w", "a" * 41])
def test_bad_service_names_are_refused(name: str) -> None:
    location, message = first_error(spec(name=name))
    assert location == ("name",)
    assert repr(name) in message


def test_image_must_be_a_repository_without_tag() -> None:
    location, _ = first_error(spec(image="bgctl-sample:v1"))
    assert location == ("image",)


def test_endpoints_must_use_distinct_ports() -> None:
    ports = {"live": 8080, "preview": 8080, "blue": 8082, "green": 8083}
    location, message = first_error(spec(endpoints=ports))
    assert location == ("endpoints",)
    assert "8080" in message


def test_unknown_fields_are_refused() -> None:
    location, _ = first_error(spec(replica=2))
    assert location == ("replica",)


def test_a_bare_tag_becomes_a_reference_of_the_repository() -> None:
    parsed = ServiceSpec.model_validate(spec())
    assert parsed.image_reference("v2") == "bgctl-sample:v2"
    assert parsed.image_reference("bgctl-sample:v2") == "bgctl-sample:v2"


def test_a_verify_hook_runs_on_both_frontends_by_default() -> None:
    parsed = ServiceSpec.model_validate(
        spec(verify_hook={"command": ["sh", "-c", "true"], "timeout": "5s"})
    )
    assert parsed.verify_hook is not None
    assert parsed.verify_hook.timeout == 5.0
    assert parsed.verify_hook.runs_on("preview")
    assert parsed.verify_hook.runs_on("live")
    assert ServiceSpec.model_validate(spec()).verify_hook is None


def test_a_verify_hook_may_run_on_one_frontend_only() -> None:
    hook = {"command": ["./check"], "phase": "live"}
    parsed = ServiceSpec.model_validate(spec(verify_hook=hook))
    assert parsed.verify_hook is not None
    assert parsed.verify_hook.runs_on("live")
    assert not parsed.verify_hook.runs_on("preview")


@pytest.mark.parametrize(
    ("hook", "field", "quoted"),
    [
        ({"command": []}, "command", "[]"),
        ({"command": [" "]}, "command", "[' ']"),
        ({"command": "check.sh"}, "command", "'check.sh'"),
        ({"command": ["a\x00b"]}, "command", "'a\\x00b'"),
        ({"command": ["x"], "timeout": "0s"}, "timeout", "got 0.0"),
        ({"command": ["x"], "phase": "staging"}, "phase", "'staging'"),
    ],
)
def test_a_bad_verify_hook_names_its_field(
    hook: dict[str, Any], field: str, quoted: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        ServiceSpec.model_validate(spec(verify_hook=hook))
    path, message, _ = describe_validation(caught.value.errors())
    assert path == f"verify_hook.{field}"
    assert quoted in message


def test_a_deadline_shorter_than_the_verification_windows_is_refused() -> None:
    gate = {"duration": "10m", "rate": 1, "min_requests": 1}
    with pytest.raises(ValidationError) as caught:
        ServiceSpec.model_validate(spec(progress_deadline="10s", load_gate=gate))
    field, message, _ = describe_validation(caught.value.errors())
    assert field == "progress_deadline"
    assert "load gate 600s" in message and "got 10s" in message
