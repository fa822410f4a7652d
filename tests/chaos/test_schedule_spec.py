"""Schedule files: what validates and how errors read."""

from __future__ import annotations

from typing import Any

import pytest

from chaos.errors import ExperimentInvalid
from chaos.schedule_spec import parse_schedule

EXPERIMENT = {
    "title": "t",
    "service": "web",
    "method": [{"type": "pause", "duration": 1}],
}


def schedule(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "hourly",
        "experiment": EXPERIMENT,
        "when": {"mode": "interval", "every": "1h"},
    }
    data.update(changes)
    return data


def test_a_schedule_reads_durations_and_modes_from_text() -> None:
    spec = parse_schedule(schedule(overlap="forbid"))
    assert spec.when.mode == "interval"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "sch-0123abcd"}, "name"),
        ({"when": {"mode": "once", "at": "9999-12-31T23:59:59-12:00"}}, "when.at"),
        (
            {"when": {"mode": "random", "mean": "1h", "hours": "17:00-09:00"}},
            "when.hours",
        ),
        ({"when": {"mode": "interval", "every": 10**400}}, "when.every"),
    ],
)
def test_a_bad_schedule_names_its_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ExperimentInvalid) as caught:
        parse_schedule(schedule(**changes))
    assert caught.value.context["field"] == field
