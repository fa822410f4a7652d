"""Fixtures for the tests of the compose folder: the sample app as a process."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.compose.sample_process import SampleProcess

StartSample = Callable[..., SampleProcess]


@pytest.fixture
def start_sample() -> Iterator[StartSample]:
    """Start the sample app with knobs; every process it started is killed after."""
    started: list[SampleProcess] = []

    def start(**knobs: str) -> SampleProcess:
        sample = SampleProcess(**knobs)
        started.append(sample)
        return sample.wait_listening()

    yield start
    for sample in started:
        sample.kill()
