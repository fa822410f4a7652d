"""bgctl serve with JSON logs: every line parses, structured fields included."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.harness import Controller, controller_fixture


@pytest.fixture
def json_logging() -> Iterator[Controller]:
    yield from controller_fixture({"BGCTL_LOG_FORMAT": "json"})


def test_serve_writes_json_lines_that_carry_the_service(
    json_logging: Controller,
) -> None:
    name = json_logging.live_service()
    lines = (json_logging.state_dir / "controller.log").read_text().splitlines()
    entries: list[dict[str, Any]] = [json.loads(line) for line in lines if line]
    assert all({"time", "level", "logger", "message"} <= e.keys() for e in entries)
    mine = [e for e in entries if e.get("service") == name]
    assert mine, lines[-20:]
    assert any(e.get("release") for e in mine)
    assert any(e["logger"].startswith("uvicorn") for e in entries)
