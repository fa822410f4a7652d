"""The experiment file format: what validates and how errors read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from chaos.errors import ExperimentInvalid
from chaos.experiment import load_experiment, parse_experiment

EXAMPLE = """
title: slow green
service: web
hypothesis:
  probes:
    - type: traffic
      endpoint: live
      window: 2s
      max_error_share: 0.01
method:
  - type: fault
    fault: {kind: latency, color: green, latency: 300ms, jitter: 20ms, duration: 10s}
rollbacks:
  - type: undo-faults
"""


def minimal(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": "t",
        "service": "web",
        "method": [{"type": "pause", "duration": 1}],
    }
    data.update(changes)
    return data


def test_a_yaml_file_loads_with_durations_in_units(tmp_path: Path) -> None:
    path = tmp_path / "slow.yaml"
    path.write_text(EXAMPLE)

    exp = load_experiment(path)

    fault = exp.faults()[0]
    assert fault.kind == "latency"
    assert fault.latency == pytest.approx(0.3)
    assert fault.duration == 10.0


@pytest.mark.parametrize(
    ("changes", "field", "value"),
    [
        ({"service": "Web!"}, "service", "Web!"),
        ({"method": []}, "method", None),
        ({"method": [{"type": "explode"}]}, "method.0", None),
        (
            {"method": [{"type": "fault", "fault": {"kind": "kill", "color": "red"}}]},
            "color",
            "red",
        ),
        (
            {
                "method": [
                    {
                        "type": "fault",
                        "fault": {"kind": "error", "color": "green", "probability": 2},
                    }
                ]
            },
            "probability",
            2,
        ),
        (
            {
                "method": [
                    {
                        "type": "fault",
                        "fault": {"kind": "kill", "color": "green", "count": "2"},
                    }
                ]
            },
            "count",
            "2",
        ),
    ],
)
def test_a_bad_field_is_named_with_its_value(
    changes: dict[str, Any], field: str, value: Any
) -> None:
    with pytest.raises(ExperimentInvalid) as caught:
        parse_experiment(minimal(**changes))

    assert field in str(caught.value.context["field"])
    if value is not None:
        assert repr(value) in caught.value.message


def test_jitter_above_latency_is_refused() -> None:
    fault = {"kind": "latency", "color": "green", "latency": 0.1, "jitter": 0.2}
    with pytest.raises(ExperimentInvalid, match="jitter"):
        parse_experiment(minimal(method=[{"type": "fault", "fault": fault}]))


def test_an_unreadable_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ExperimentInvalid, match="cannot read"):
        load_experiment(tmp_path / "missing.yaml")

    broken = tmp_path / "broken.yaml"
    broken.write_text("title: [unclosed\n")
    with pytest.raises(ExperimentInvalid, match="not valid YAML"):
        load_experiment(broken)
