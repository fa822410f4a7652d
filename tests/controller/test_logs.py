"""The JSON log formatter: one parseable line a record, fields included."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from controller.logs import JsonFormatter, LogFormat, configure_logging


def record(
    message: str, *args: object, level: int = logging.INFO, **extra: object
) -> logging.LogRecord:
    return logging.getLogger("bgctl.test").makeRecord(
        "bgctl.test", level, __file__, 1, message, args, None, extra=extra
    )


def test_a_record_becomes_one_json_line_with_its_core_keys() -> None:
    line = JsonFormatter().format(record("replica %s started", "web-blue-0"))
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["level"] == "INFO"
    assert entry["logger"] == "bgctl.test"
    assert entry["message"] == "replica web-blue-0 started"
    assert entry["time"].endswith("Z")
    assert "T" in entry["time"]


def test_fields_passed_with_extra_are_kept_as_fields() -> None:
    made = record("flip", service="web", release="r-1", color="blue", fault=7)
    entry = json.loads(JsonFormatter().format(made))
    assert entry["service"] == "web"
    assert entry["release"] == "r-1"
    assert entry["color"] == "blue"
    assert entry["fault"] == 7


def test_values_json_cannot_hold_are_written_as_text() -> None:
    made = record("state", path=Path("/tmp/x"), kinds={"kill"})
    entry = json.loads(JsonFormatter().format(made))
    assert entry["path"] == "/tmp/x"
    assert entry["kinds"] == "{'kill'}"


def test_an_exception_is_a_field_with_its_traceback() -> None:
    try:
        raise RuntimeError("engine went away")
    except RuntimeError:
        made = logging.getLogger("bgctl.test").makeRecord(
            "bgctl.test", logging.ERROR, __file__, 1, "lost", (), sys.exc_info()
        )
    entry = json.loads(JsonFormatter().format(made))
    assert entry["message"] == "lost"
    assert "Traceback" in entry["exception"]
    assert "RuntimeError: engine went away" in entry["exception"]


def test_an_extra_field_cannot_replace_a_core_key() -> None:
    made = record("hello", logger="spoof")
    assert json.loads(JsonFormatter().format(made))["logger"] == "bgctl.test"


def test_uvicorn_colour_copies_are_left_out() -> None:
    made = record("running", color_message="\x1b[1mrunning\x1b[0m")
    assert "color_message" not in json.loads(JsonFormatter().format(made))


def test_configure_logging_sends_every_logger_through_one_formatter() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("debug", LogFormat.JSON)
        assert len(root.handlers) == 1
        assert isinstance(root.handlers[0].formatter, JsonFormatter)
        assert root.level == logging.DEBUG
        assert logging.getLogger("uvicorn.error").propagate
        configure_logging("info", LogFormat.TEXT)
        assert not isinstance(root.handlers[0].formatter, JsonFormatter)
    finally:
        root.handlers, root.level = saved
