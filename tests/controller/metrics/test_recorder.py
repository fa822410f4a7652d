"""The recorder counts flips, times the good ones, and counts gate verdicts."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry

from controller.analysis import Verdict
from controller.metrics.recorder import Recorder


def test_a_flip_is_timed_when_it_succeeds_and_counted_either_way() -> None:
    registry = CollectorRegistry()
    recorder = Recorder(registry)

    with recorder.flip("web"):
        pass
    with pytest.raises(RuntimeError), recorder.flip("web"):
        raise RuntimeError("live did not answer")

    def flips(outcome: str) -> float | None:
        labels = {"service": "web", "outcome": outcome}
        return registry.get_sample_value("bgctl_flips_total", labels)

    assert flips("succeeded") == 1
    assert flips("failed") == 1
    timed = "bgctl_flip_duration_seconds_count"
    assert registry.get_sample_value(timed, {"service": "web"}) == 1


def test_verdicts_are_counted_by_gate_and_an_unknown_gate_is_refused() -> None:
    registry = CollectorRegistry()
    recorder = Recorder(registry)

    recorder.judged("web", "analysis", Verdict.INCONCLUSIVE)
    with pytest.raises(ValueError, match="got 'smoke'"):
        recorder.judged("web", "smoke", Verdict.PASSED)

    labels = {"service": "web", "gate": "analysis", "verdict": "inconclusive"}
    assert registry.get_sample_value("bgctl_analysis_verdicts_total", labels) == 1


def test_two_recorders_never_share_a_series() -> None:
    first, second = CollectorRegistry(), CollectorRegistry()
    Recorder(first).judged("web", "post_verify", Verdict.FAILED)
    Recorder(second)

    labels = {"service": "web", "gate": "post_verify", "verdict": "failed"}
    assert first.get_sample_value("bgctl_analysis_verdicts_total", labels) == 1
    assert second.get_sample_value("bgctl_analysis_verdicts_total", labels) is None
