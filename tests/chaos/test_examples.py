"""The example experiments and schedules in the repository stay valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.experiment import load_experiment
from chaos.schedule_spec import load_schedule

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "chaos"
FILES = sorted(EXAMPLES.glob("*.yaml"))


def test_there_are_examples() -> None:
    assert len(FILES) >= 4


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_example_validates(path: Path) -> None:
    if "schedule" in path.name:
        assert load_schedule(path).experiment.service == "web"
    else:
        assert load_experiment(path).service == "web"
