"""How the controller's log lines look: text for people, JSON for collectors.

Logging is configured once, by ``bgctl serve``. In JSON, each record is one
line holding its time, level, logger and message, every field the code
passed with ``extra=`` (service, release, colour, fault ids, ...) and, if
there was one, the exception's traceback. Uvicorn's loggers have no handler
of their own here, so their lines go through the same one.
"""

from __future__ import annotations

import enum
import json
import logging
from datetime import UTC, datetime
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Attributes every record carries; anything else came in through extra=.
STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    # Uvicorn repeats some messages with terminal colours for its own
    # formatter; the plain message says the same.
    "color_message",
}


class LogFormat(enum.StrEnum):
    """The shape of the controller's log lines."""

    TEXT = "text"  # one readable line: time, level, logger, message
    JSON = "json"  # one JSON object a line, structured fields included


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON with its structured fields."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON object on one line."""
        entry: dict[str, Any] = {
            "time": utc_time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in fields(record).items():
            # The four above keep their meaning even if a caller reuses a name.
            entry.setdefault(key, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a record was given with ``extra=``."""
    return {
        key: value
        for key, value in vars(record).items()
        if key not in STANDARD_ATTRIBUTES and not key.startswith("_")
    }


def utc_time(created: float) -> str:
    """A record's time in ISO 8601, UTC, to the millisecond."""
    moment = datetime.fromtimestamp(created, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def configure_logging(level: str, style: LogFormat) -> None:
    """Send every logger's records to standard error in ``style``."""
    handler = logging.StreamHandler()
    if style is LogFormat.JSON:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
